#!/usr/bin/env bash
# Ingest with 1, 2 and 3 daemons on PostgreSQL against one daemon on SQLite, durability on
# everywhere (SQLite WAL + synchronous=FULL; PostgreSQL fsync=on, synchronous_commit=on).
# A PostgreSQL 15 server is started in a temporary directory on 127.0.0.1 (as the postgres user
# when run as root), with a fresh database per run; the daemons of a run share it, each with
# its own shard; `residue loadgen` encodes MSS reports (k = 1024, eps = 2) and spreads its
# connections over the daemons. Everything runs on this one machine: daemons, database and load
# generator share its cores, so the CPU seconds each used are printed beside the rates.
# Run from the repository root after a build (RESIDUE_BUILD_DIR=... for another build tree):
#   bench/pg_ingest_bench.sh [reports per run, default 1000000] [batch, default 1000]
set -euo pipefail
trap 'echo "pg_ingest_bench: failed at line $LINENO" >&2' ERR
cd "$(dirname "$0")/.."
repo=$(pwd)
build=$(cd "${RESIDUE_BUILD_DIR:-build}" && pwd)
reports=${1:-1000000}
batch=${2:-1000}
bindir=$(pg_config --bindir)
hz=$(getconf CLK_TCK)
source scripts/lib/daemon.sh
work=$(mktemp -d)
as_pg=()
[ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)
cleanup() {  # the daemons before the server they write to
  daemon_stop_all
  if [ -f "$work/pg/postmaster.pid" ]; then
    "${as_pg[@]}" "$bindir/pg_ctl" -D "$work/pg" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# A free port: one nothing answers on.
port=""
for _ in $(seq 50); do
  p=$((20000 + RANDOM % 40000))
  if ! (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "no free port" >&2; exit 1; }

# The server, with the settings docs/deployment.md gives for a dedicated ingest database
# (sized for this machine's memory); durability as in production.
[ ${#as_pg[@]} -gt 0 ] && chown postgres "$work"
"${as_pg[@]}" "$bindir/initdb" -D "$work/pg" -A trust -U residue -E UTF8 --locale=C >/dev/null
"${as_pg[@]}" "$bindir/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w -o "-c listen_addresses=127.0.0.1 \
  -p $port -k $work -c shared_buffers=512MB -c max_wal_size=8GB -c checkpoint_timeout=30min \
  -c wal_buffers=64MB -c fsync=on -c synchronous_commit=on" start >/dev/null
postmaster=$(head -1 "$work/pg/postmaster.pid")
psql() { "$bindir/psql" -h 127.0.0.1 -p "$port" -U residue -d postgres -qAt "$@"; }

token=bench-$(daemon_new_token)
write_config() {  # write_config FILE STORE_LINES
  {
    printf 'threads = 16\n%s\n' "$2"
    daemon_task bench mss 2.0 "k = 1024"
  } | daemon_config "$1" "$token" "$work/data-$(basename "$1" .toml)"
}

urls=()
start_daemon() {  # start_daemon CONFIG: appends its URL to urls
  daemon_start "$build/residued" "$1"
  urls+=("$daemon_url")
}

cpu_ticks() {  # user + system ticks of the given pids
  local total=0 p
  for p in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$total"
}

run() {  # run LABEL CONCURRENCY: loadgen against the daemons in urls
  local label=$1 concurrency=$2 args=() u
  for u in "${urls[@]}"; do args+=(--url "$u"); done
  # The server's processes: the postmaster and its children (the daemons' sessions persist).
  local pg_pids="$postmaster $(pgrep -P "$postmaster" | tr '\n' ' ')"
  local d0 p0 d1 p1 json
  d0=$(cpu_ticks "${daemon_pids[@]}"); p0=$(cpu_ticks $pg_pids)
  json=$("$build/residue" loadgen "${args[@]}" --token "$token" --task bench \
    --reports "$reports" --batch "$batch" --concurrency "$concurrency" --json)
  d1=$(cpu_ticks "${daemon_pids[@]}"); p1=$(cpu_ticks $pg_pids)
  # Transactions: the daemons' group commits (fresh daemons: their counters are this run's).
  local commits=0
  for u in "${urls[@]}"; do
    commits=$((commits + $(curl -s -H "Authorization: Bearer $token" "$u/metrics" |
      awk '/^residue_store_commit_duration_seconds_count/ {printf "%d", $2}')))
  done
  jq -r --arg name "$label" --argjson n "${#urls[@]}" --argjson dcpu "$((d1 - d0))" \
    --argjson pcpu "$((p1 - p0))" --argjson hz "$hz" --argjson commits "$commits" \
    '"\($name) x\($n), \(.concurrency) connections: \(.reports_per_second | floor) reports/s, "
     + "p50 \(.latency_ms.p50 * 10 | round / 10) ms, p99 \(.latency_ms.p99 * 10 | round / 10) ms, "
     + "\(.upload_seconds * 10 | round / 10) s; \($commits) commits (\(.batches / $commits * 10 | round / 10) "
     + "batches each); CPU s: daemons \($dcpu / $hz), postgres \($pcpu / $hz) "
     + "(\($pcpu / $hz / $commits * 1e4 | round / 10) ms per commit); "
     + "duplicates \(.duplicate_batches), retries \(.retries)"' <<<"$json"
}

cd "$work"
for concurrency in 4 12; do
  write_config sqlite.toml ""
  urls=()
  start_daemon sqlite.toml
  run "sqlite" "$concurrency"
  daemon_stop_all
  rm -rf "$work/data-sqlite"
  for n in 1 2 3; do
    db="bench_${concurrency}_$n"
    psql -c "CREATE DATABASE $db"
    urls=()
    for shard in $(seq "$n"); do
      write_config "pg$shard.toml" "store = \"postgres\"
[postgres]
conninfo = \"host=127.0.0.1 port=$port user=residue dbname=$db\"
shard = $shard"
      start_daemon "pg$shard.toml"
    done
    run "postgres" "$concurrency"
    daemon_stop_all
  done
done

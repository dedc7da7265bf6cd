#!/usr/bin/env bash
# Issue 14: retrieval through the daemon, beside a plain frequency task, all in one run of one
# residued (embedded SQLite store, WAL, synchronous=FULL) on loopback:
#   1. ingest (reports/s, batches of 1,000, `residue loadgen`) into a memory task (the default
#      Brown artifact of `residue memory prepare`: C = 16, V = 4096, k = 65,552) and into a
#      frequency task with the same k, protocol (MSS) and epsilon;
#   2. build time of the memory task from the store (POST /build, poll GET /build) at 10^6 and
#      10^7 stored reports, beside the frequency task's first GET /estimates (the decode) at the
#      same counts;
#   3. latency p50/p99 of GET memory/next, GET vocab/search (the default Brown vocab artifact,
#      k = 50,000 candidates) and GET /estimates?top=10, QUERIES sequential requests each (curl).
# Plus a small run of the C ABI SDK on the memory task (record_context over Brown, then flush).
#
# Reports are loadgen's zipf:1.1 values over [0, k) (loadgen encodes them against the task's
# published parameters and artifact hash, as the SDK does): for the memory task they are
# (cell, token) indices, fine for timing, not for accuracy. Run from the repository root after a
# Release build (needs data/brown, python3, cc):
#   bench/retrieval_serving_bench.sh [LARGE, default 10000000] [QUERIES, default 1000] [EPS, default 8]
set -euo pipefail
cd "$(dirname "$0")/.."
large=${1:-10000000}
queries=${2:-1000}
eps=${3:-8}
small=${SMALL:-500000}  # reports per ingest run (fewer for a quick check)
brown=data/brown
source scripts/lib/daemon.sh
daemon_workdir
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }

log "uptime: $(uptime)"
load_start=$(uptime | sed 's/.*load average: //')
build/residue memory prepare --out "$work/memory.artifact" --json >"$work/memory.json"
build/residue vocab prepare --out "$work/vocab.artifact" --json >"$work/vocab.json"
k_mem=$(json 'd["k"]' <"$work/memory.json")
k_voc=$(json 'd["candidates"]' <"$work/vocab.json")
log "artifacts: memory k = $k_mem, vocab k = $k_voc"

token=bench-$(daemon_new_token)
admin=admin-$(daemon_new_token)
{
  daemon_task freq mss "$eps" "k = $k_mem"
  daemon_task mem mss "$eps" "k = $k_mem"
  printf 'kind = "memory"\nartifact = "%s"\ncorpus = "%s"\nbuild_every = 0\n' \
    "$work/memory.artifact" "$PWD/$brown"
  daemon_task units mss "$eps" "k = $k_voc"
  printf 'kind = "vocab"\nartifact = "%s"\ncorpus = "%s"\nbuild_every = 0\n' \
    "$work/vocab.artifact" "$PWD/$brown"
  daemon_token_table operator "$admin" admin
} | daemon_config "$work/residued.toml" "$token"
t=$(now)
daemon_start build/residued "$work/residued.toml"
url=$daemon_url
log "residued at $url (start-up, MSS moduli of 3 tasks: $(elapsed "$t") s)"
auth=(-H "Authorization: Bearer $token")

# loadgen TASK REPORTS SEED: prints reports_per_second, encode_seconds, upload_seconds.
loadgen() {
  build/residue loadgen --url "$url" --token "$token" --task "$1" --reports "$2" --batch 1000 \
    --concurrency 2 --data zipf:1.1 --seed "$3" --json >"$work/loadgen.json"
  json '"%.0f %.1f %.1f" % (d["reports_per_second"], d["encode_seconds"], d["upload_seconds"])' \
    <"$work/loadgen.json"
}

# build TASK: POST /build, poll GET /build until idle; prints "last_good.seconds wall reports".
build() {
  local before t st
  before=$(curl -s "${auth[@]}" "$url/v1/tasks/$1/build" | json 'd["builds"]')
  t=$(now)
  curl -s -f -o /dev/null -X POST -d '' -H "Authorization: Bearer $admin" "$url/v1/tasks/$1/build"
  while :; do  # grep, not python, between polls: the wall time stays close to the build's
    st=$(curl -s "${auth[@]}" "$url/v1/tasks/$1/build")
    if grep -q '"state":"idle"' <<<"$st"; then
      [ "$(json 'd["builds"]' <<<"$st")" -gt "$before" ] && break
      echo "build of $1 failed: $st" >&2; return 1
    fi
    sleep 0.05
  done
  local wall
  wall=$(elapsed "$t")
  echo "$(json '"%.2f" % d["last_good"]["seconds"]' <<<"$st") $wall $(json 'd["last_good"]["reports"]' <<<"$st")"
}
# first_estimates: time of the frequency task's first GET /estimates at this tally (the decode)
# and of the second (cached).
first_estimates() {
  local a b
  a=$(curl -s -f -o /dev/null -w '%{time_total}' "${auth[@]}" "$url/v1/tasks/freq/estimates?top=10")
  b=$(curl -s -f -o /dev/null -w '%{time_total}' "${auth[@]}" "$url/v1/tasks/freq/estimates?top=10")
  echo "$a $b"
}

# 1. Ingest: two runs of SMALL (5x10^5) reports into each task, so each holds 10^6.
log "ingest: $small reports each"
read -r freq_rps freq_enc _ < <(loadgen freq "$small" 1)
read -r mem_rps mem_enc _ < <(loadgen mem "$small" 3)
read -r freq_rps2 _ < <(loadgen freq "$small" 2)
read -r mem_rps2 _ < <(loadgen mem "$small" 4)
log "freq $freq_rps, $freq_rps2/s; mem $mem_rps, $mem_rps2/s"
# Each task now holds 2 SMALL = 10^6 reports.
at_small=$((2 * small))

# 2. Builds and decodes at 10^6 and at LARGE stored reports.
read -r cold_s cold_wall _ < <(build mem)
public_s=$(grep -m 1 -o 'build: decode ([0-9.]*' "${work}/residued.err" | grep -o '[0-9.]*$')
read -r warm_s warm_wall warm_n < <(build mem)
read -r est_first est_second < <(first_estimates)
log "mem build at $warm_n: cold $cold_s s (public pieces $public_s s), warm $warm_s s; freq first estimates $est_first s"
large_rows=""
if [ "$large" -gt "$at_small" ]; then
  more=$((large - at_small))
  t=$(now)
  read -r freq_more_rps _ < <(loadgen freq "$more" 5)
  read -r mem_more_rps _ < <(loadgen mem "$more" 6)
  log "filled to $large in $(elapsed "$t") s (freq $freq_more_rps/s, mem $mem_more_rps/s)"
  read -r big_s big_wall big_n < <(build mem)
  read -r big_est_first big_est_second < <(first_estimates)
  large_rows="| build from the store at $big_n reports | ${big_s} s (wall ${big_wall} s) | first GET /estimates (decode): ${big_est_first} s (cached: ${big_est_second} s) |"
fi

# 3. Query latency: vocab gets 10^6 reports and a build; then QUERIES sequential GETs each.
read -r voc_rps _ < <(loadgen units "$small" 7)
read -r voc_s _ voc_n < <(build units)
log "vocab: ingest $voc_rps/s, build $voc_s s from $voc_n reports"
# Ten queries from the corpus: the first three words of sentences made of plain words, those
# among the first 100 such that hold a candidate unit (vocab/search answers 200, not 400).
texts=()
while read -r text; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$url/v1/tasks/units/vocab/search?top=10&text=$text")
  [ "$code" = 200 ] && texts+=("$text")
  [ "${#texts[@]}" -eq 10 ] && break
done < <(cut -f3 "$brown/sentences.tsv" | awk 'NF >= 4 && $1 ~ /^[a-z]+$/ && $2 ~ /^[a-z]+$/ && $3 ~ /^[a-z]+$/ { print $1 "%20" $2 "%20" $3; if (++n == 100) exit }')
[ "${#texts[@]}" -eq 10 ] || { echo "only ${#texts[@]} of 100 queries hold a candidate unit" >&2; exit 1; }
log "queries: ${texts[*]}"
# latency NAME PATH_PREFIX: QUERIES sequential requests (query i uses text i mod 10); prints
# "p50_ms p99_ms non200".
latency() {
  local i out=$work/latency.$1
  : >"$out"
  for ((i = 0; i < queries; ++i)); do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "${auth[@]}" "$url$2${texts[i % 10]}" >>"$out"
  done
  awk '$1 == 200 { print $2 * 1000 }' "$out" | sort -n | awk -v bad="$(awk '$1 != 200' "$out" | wc -l)" \
    '{ v[NR] = $1 } END { i50 = int(0.5 * NR + 0.5); i99 = int(0.99 * NR + 0.5); if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1; printf "%.2f %.2f %d\n", v[i50], v[i99], bad }'
}
read -r mem_p50 mem_p99 mem_bad < <(latency mem "/v1/tasks/mem/memory/next?top=10&context=")
read -r voc_p50 voc_p99 voc_bad < <(latency voc "/v1/tasks/units/vocab/search?top=10&text=")
read -r est_p50 est_p99 est_bad < <(latency est "/v1/tasks/freq/estimates?top=10&unused=")
log "latency: mem $mem_p50/$mem_p99, vocab $voc_p50/$voc_p99, estimates $est_p50/$est_p99 ms"

# The C ABI SDK on the memory task: one device, record_context over Brown, then flush.
sdk_n=${SDK_REPORTS:-5000}
sdk_line="not run (no cc)"
if command -v cc >/dev/null; then
  cat >"$work/sdk_driver.c" <<'C'
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "residue_client.h"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char** argv) { /* URL TOKEN TASK STATE_DIR N SENTENCES */
  residue_client_options_t o; residue_client_options_init(&o);
  o.url = argv[1]; o.token = argv[2]; o.task = argv[3]; o.state_dir = argv[4]; o.max_epsilon = 8;
  const unsigned long long n = strtoull(argv[5], NULL, 10);
  residue_client_t* c; int s;
  if ((s = residue_client_create(&c, &o)) != RESIDUE_OK) { fprintf(stderr, "%s\n", residue_last_error()); return 1; }
  FILE* f = fopen(argv[6], "r"); char* line = NULL; size_t cap = 0; const char* w[4096];
  unsigned long long done = 0; const double t0 = now();
  while (done < n && getline(&line, &cap, f) >= 0) {
    char* text = strchr(line, '\t'); if (text) text = strchr(text + 1, '\t'); if (!text) continue;
    text[strcspn(++text, "\r\n")] = 0; size_t m = 0;
    for (char* p = strtok(text, " "); p && m < 4096; p = strtok(NULL, " ")) w[m++] = p;
    for (size_t i = 0; i < m && done < n; ++i, ++done) {
      s = i == 0 ? residue_client_record_sentence_start(c, w[0]) : residue_client_record_context(c, w, i, w[i]);
      if (s != RESIDUE_OK) { fprintf(stderr, "%s\n", residue_last_error()); return 1; }
    }
  }
  const double t1 = now(); uint64_t up = 0, left = 0;
  if ((s = residue_client_flush(c, &up, &left)) != RESIDUE_OK) { fprintf(stderr, "%s\n", residue_last_error()); return 1; }
  const double t2 = now(); residue_client_destroy(c);
  printf("%llu %.3f %.0f %llu\n", done, 1000 * (t1 - t0) / done, up / (t2 - t1), (unsigned long long)left);
  return left != 0;
}
C
  cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iclient/include "$work/sdk_driver.c" -o "$work/sdk_driver" \
    -Lbuild/client -lresidue_client -Wl,-rpath,"$PWD/build/client"
  read -r sdk_done sdk_ms sdk_rps _ < <("$work/sdk_driver" "$url" "$token" mem "$work/device" "$sdk_n" "$brown/sentences.tsv")
  sdk_line="$sdk_done record_context: ${sdk_ms} ms each on the device; flush (1 connection) ${sdk_rps} reports/s"
fi
load_end=$(uptime | sed 's/.*load average: //')

cat <<EOF

Issue 14 results, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, MSS eps = $eps, batches of 1,000,
loadgen --concurrency 2 --data zipf:1.1; load average at start: $load_start; at end: $load_end

| measure | memory / vocab task | frequency task (k = $k_mem) |
|---|---|---|
| ingest, reports/s (k = $k_mem, two runs each, interleaved) | $mem_rps and $mem_rps2 (encode $mem_enc s per $small) | $freq_rps and $freq_rps2 (encode $freq_enc s per $small) |
| build from the store at $warm_n reports | cold (first build, with the public pieces): ${cold_s} s (wall ${cold_wall} s); warm: ${warm_s} s (wall ${warm_wall} s) | first GET /estimates (decode): ${est_first} s (cached: ${est_second} s) |
${large_rows}
| query p50 / p99, ms ($queries sequential curl) | memory/next?top=10: $mem_p50 / $mem_p99 ($mem_bad not 200); vocab/search?top=10 (k = $k_voc, $voc_n reports, build ${voc_s} s): $voc_p50 / $voc_p99 ($voc_bad not 200) | estimates?top=10: $est_p50 / $est_p99 ($est_bad not 200) |

C ABI SDK, memory task: $sdk_line
EOF

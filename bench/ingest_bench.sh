#!/usr/bin/env bash
# Sustained ingest over loopback with durability on (WAL, synchronous=FULL): residued with its
# embedded store, driven by `residue loadgen` with MSS reports (k = 1024, eps = 2), batches of
# 1,000 and 10,000. Prints loadgen's JSON per run. Run from the repository root after a build:
#   bench/ingest_bench.sh [reports per run, default 2000000]
set -euo pipefail
cd "$(dirname "$0")/.."
reports=${1:-2000000}
work=$(mktemp -d)
daemon=""
cleanup() {
  [ -n "$daemon" ] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

token=bench-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
cat > "$work/residued.toml" <<TOML
listen = "127.0.0.1:0"
data_dir = "data"
[[tokens]]
name = "bench"
token_sha256 = "$(printf %s "$token" | sha256sum | cut -d' ' -f1)"
[[tasks]]
name = "bench"
protocol = "mss"
k = 1024
epsilon = 2.0
TOML
build/residued --config "$work/residued.toml" > "$work/daemon.out" 2> "$work/daemon.err" &
daemon=$!
for _ in $(seq 300); do grep -q "listening on" "$work/daemon.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.]*:[0-9]*' "$work/daemon.out")
for batch in 1000 10000; do
  for concurrency in 2 4; do
    build/residue loadgen --url "$url" --token "$token" --task bench --reports "$reports" \
      --batch "$batch" --concurrency "$concurrency" --json
  done
done

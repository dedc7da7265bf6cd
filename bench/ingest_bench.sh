#!/usr/bin/env bash
# Sustained ingest over loopback with durability on (WAL, synchronous=FULL): residued with its
# embedded store, driven by `residue loadgen` with MSS reports (k = 1024, eps = 2), batches of
# 1,000 and 10,000. Prints loadgen's JSON per run. Run from the repository root after a build:
#   bench/ingest_bench.sh [reports per run, default 2000000]
set -euo pipefail
cd "$(dirname "$0")/.."
reports=${1:-2000000}
source scripts/lib/daemon.sh
daemon_workdir
token=bench-$(daemon_new_token)
daemon_task bench mss 2.0 "k = 1024" | daemon_config "$work/residued.toml" "$token"
daemon_start build/residued "$work/residued.toml"
url=$daemon_url
for batch in 1000 10000; do
  for concurrency in 2 4; do
    build/residue loadgen --url "$url" --token "$token" --task bench --reports "$reports" \
      --batch "$batch" --concurrency "$concurrency" --json
  done
done

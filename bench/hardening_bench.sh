#!/usr/bin/env bash
# The daemon attacks of issue 12 (docs/results.md "Hardening"), against one residued binary:
#   1. an 8 MB batch of all-ones OUE reports (k = 1024, eps = 2): status, the daemon's RSS
#      before and after, and the largest estimate afterwards;
#   2. a 50 MB POST without a token: status, seconds to the answer, RSS growth;
#   3. GET /estimates?top=1000 on MSS k = 20,000 (eps = 2, 200,000 reports), twice: the
#      daemon's CPU seconds for each request.
# Usage: bench/hardening_bench.sh [RESIDUED] [RESIDUE_CLI]   (default build/residued, build/residue)
set -euo pipefail
cd "$(dirname "$0")/.."
residued=${1:-build/residued}
cli=${2:-build/residue}

source scripts/lib/daemon.sh
daemon_workdir
token=bench-$(daemon_new_token)
{
  daemon_task ones oue 2.0 "k = 1024"
  daemon_task mss mss 2.0 "k = 20000"
} | daemon_config "$work/residued.toml" "$token"
daemon_start "$residued" "$work/residued.toml"
url=$daemon_url
auth=(-H "Authorization: Bearer $token")

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$daemon_pid/status"; }
cpu_seconds() { awk '{printf "%.2f", ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$daemon_pid/stat"; }
u32le() { printf "\\$(printf %03o $(($1 & 255)))\\$(printf %03o $(($1 >> 8 & 255)))\\$(printf %03o $(($1 >> 16 & 255)))\\$(printf %03o $(($1 >> 24 & 255)))"; }

# 1. 65,536 reports of 1024 one-bits each: 8 MB of payload (docs/wire_format.md "Batch").
hash=$(curl -s "${auth[@]}" "$url/v1/tasks/ones" | jq -r .params_hash)
reports=65536
{
  printf 'RSB1\001\000\000\000'
  head -c 16 /dev/urandom
  printf %s "$hash" | xxd -r -p
  u32le $reports
  u32le $((reports * 1024))
  head -c $((reports * 128)) /dev/zero | tr '\0' '\377'
} > "$work/ones.batch"
openssl dgst -sha256 -binary "$work/ones.batch" | head -c 16 >> "$work/ones.batch"
before=$(rss_kb)
status=$(curl -s -o "$work/ones.reply" -w '%{http_code}' "${auth[@]}" -H 'Expect:' \
  --data-binary @"$work/ones.batch" -H 'Content-Type: application/octet-stream' \
  "$url/v1/tasks/ones/reports")
after=$(rss_kb)
top=$(curl -s "${auth[@]}" "$url/v1/tasks/ones/estimates?top=1" | jq -c '[.reports, .top[0].frequency]')
echo "all-ones batch ($(stat -c %s "$work/ones.batch") bytes): status $status," \
  "RSS ${before} kB -> ${after} kB, [reports, largest estimate] $top"

# 2. 50 MB without a token (no Expect: 100-continue, as a plain client sends it).
head -c $((50 << 20)) /dev/zero > "$work/big.body"
before=$(rss_kb)
reply=$(curl -s -o /dev/null -w '%{http_code} %{time_total} %{size_upload}' -H 'Expect:' \
  --data-binary @"$work/big.body" -H 'Content-Type: application/octet-stream' \
  "$url/v1/tasks/ones/reports" || true)
after=$(rss_kb)
echo "50 MB POST without a token: status, seconds, bytes sent: $reply; RSS ${before} kB -> ${after} kB"

# 3. MSS k = 20,000: the decode and top-1000 standard errors, twice with no commit between.
"$cli" loadgen --url "$url" --token "$token" --task mss --reports 200000 --batch 10000 \
  --concurrency 2 --data zipf:1.1 --json > /dev/null
for attempt in 1 2; do
  c0=$(cpu_seconds)
  status=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$url/v1/tasks/mss/estimates?top=1000")
  c1=$(cpu_seconds)
  echo "MSS k=20000 top=1000, request $attempt: status $status, daemon CPU $(echo "$c1 - $c0" | bc) s"
done

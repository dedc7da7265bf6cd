#!/usr/bin/env bash
# examples/next_word_devices against a real residued (scripts/demo's second part, on the tiny
# corpus): each device of the client split records its words through the C++ SDK, the daemon
# counts every report once, and a build requested with the admin token reads all of them and
# scores itself on the test split.
#   next_word_devices_test.sh RESIDUED RESIDUE NEXT_WORD_DEVICES TINY_CORPUS
set -euo pipefail
residued=$1 residue=$2 devices=$3 tiny=$4

# shellcheck source=scripts/lib/daemon.sh
source "$(dirname "$0")/../../scripts/lib/daemon.sh"
daemon_workdir
fail() { echo "FAILED: $*"; cat "$work/residued.err" 2>/dev/null || true; exit 1; }
json() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

"$residue" memory prepare --data-dir "$tiny" --vocab 20 --cells 2 --dimension 4 \
  --out "$work/next.artifact" --json >"$work/prepare.json"
k=$(json 'd["k"]' <"$work/prepare.json")
token=device-token-0123456789abcdef
admin=operator-token-0123456789abcdef
{
  daemon_task next mss 4.0 "k = $k"
  printf 'kind = "memory"\nartifact = "next.artifact"\ncorpus = "%s"\nbuild_every = 0\n' "$tiny"
  daemon_token_table operator "$admin" admin
} | daemon_config "$work/residued.toml" "$token"
daemon_start "$residued" "$work/residued.toml"
url=$daemon_url
auth=(-H "Authorization: Bearer $token")

"$devices" "$url" "$token" next "$work/devices" "$tiny" >"$work/devices.out" ||
  fail "next_word_devices: $(cat "$work/devices.out")"
# "3 devices recorded N words and uploaded N reports in S s": the 60% of the 5 learned documents.
read -r n_devices recorded uploaded < <(awk '{ print $1, $4, $8 }' "$work/devices.out")
[ "$n_devices" = 3 ] || fail "$n_devices devices, expected 3: $(cat "$work/devices.out")"
if [ "$recorded" -eq 0 ] || [ "$recorded" != "$uploaded" ]; then
  fail "recorded $recorded, uploaded $uploaded: $(cat "$work/devices.out")"
fi
counted=$(curl -sf "${auth[@]}" "$url/v1/tasks/next/estimates?top=1" | json 'd["reports"]')
[ "$counted" = "$recorded" ] || fail "the daemon counts $counted reports, the devices sent $recorded"

# FIRST END: one device of the three; a range outside the split is refused before any report.
"$devices" "$url" "$token" next "$work/one" "$tiny" 2 3 >"$work/one.out" ||
  fail "next_word_devices 2 3: $(cat "$work/one.out")"
read -r one_device one_recorded < <(awk '{ print $1, $4 }' "$work/one.out")
[ "$one_device" = 1 ] || fail "FIRST END 2 3 ran $one_device devices"
recorded=$((recorded + one_recorded))
if "$devices" "$url" "$token" next "$work/none" "$tiny" 2 4 2>"$work/range.err"; then
  fail "next_word_devices accepted documents 2 to 4 of 3"
fi
grep -q "is not a range of the 3 documents" "$work/range.err" || fail "$(cat "$work/range.err")"

# A read token may not build; the admin token may, and the build reads every report.
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '' "${auth[@]}" "$url/v1/tasks/next/build")" = 403 ] ||
  fail "a report/read token queued a build"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '' -H "Authorization: Bearer $admin" \
  "$url/v1/tasks/next/build")" = 202 ] || fail "the admin token could not queue a build"
for _ in $(seq 600); do
  status=$(curl -sf "${auth[@]}" "$url/v1/tasks/next/build")
  [ "$(json 'd["builds"] + d["failures"]' <<<"$status")" -gt 0 ] && break
  sleep 0.1
done
[ "$(json 'd["builds"]' <<<"$status")" = 1 ] || fail "no good build: $status"
[ "$(json 'd["last_good"]["reports"]' <<<"$status")" = "$recorded" ] || fail "the build read: $status"
[ "$(json 'd["last_good"]["test_perplexity"]["base"] > 1 and d["last_good"]["test_perplexity"]["memory"] > 1' \
  <<<"$status")" = True ] || fail "no test perplexity in $status"
echo "next_word_devices: all checks passed ($recorded reports from $n_devices devices, built)"

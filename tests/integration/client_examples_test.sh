#!/usr/bin/env bash
# The client examples end to end (issue 5): residued on loopback with a dictionary task, the C
# example (linked against libresidue_client.so, once with its secrets in a stand-in keystore)
# and the C++ example record and upload words, and the daemon's estimates count every one.
#   client_examples_test.sh RESIDUED CLIENT_EXAMPLE_C CLIENT_EXAMPLE_CPP
set -euo pipefail
residued=$1 example_c=$2 example_cpp=$3

# shellcheck source=scripts/lib/daemon.sh
source "$(dirname "$0")/../../scripts/lib/daemon.sh"
daemon_workdir
fail() { echo "FAILED: $*"; cat "$work/residued.err" 2>/dev/null || true; exit 1; }

token=example-token-0123456789abcdef
printf '%s\n' the of and to a in is you > "$work/words.txt"
daemon_task words mss 2.0 'dictionary = "words.txt"' | daemon_config "$work/residued.toml" "$token"
daemon_start "$residued" "$work/residued.toml"
url=$daemon_url

"$example_c" "$url" "$token" words "$work/device-c" the of the and you || fail "the C example"
"$example_cpp" "$url" "$token" words "$work/device-cpp" a in is || fail "the C++ example"
# Secrets from the app's keystore (issue 12): none in the state directory, both in the keystore,
# and a second run finds them there (its queue opens under the same key).
for run in 1 2; do
  RESIDUE_KEYSTORE="$work/keystore" "$example_c" "$url" "$token" words "$work/device-keystore" to \
    || fail "the C example with a keystore, run $run"
done
for secret in device.secret queue.key; do
  [ -e "$work/device-keystore/$secret" ] && fail "$secret was written to the state directory"
  [ -s "$work/keystore/$secret" ] || fail "$secret is not in the keystore"
done
# A value outside the dictionary is refused with a message, and the rest still goes out.
if "$example_c" "$url" "$token" words "$work/device-c" zebra the 2> "$work/refused.err"; then
  fail "the C example accepted a value outside the dictionary"
fi
grep -q "RESIDUE_E_UNKNOWN_VALUE" "$work/refused.err" || fail "no RESIDUE_E_UNKNOWN_VALUE: $(cat "$work/refused.err")"
# Wrong token: the daemon refuses, and the C example says so.
if "$example_c" "$url" wrong-token words "$work/device-wrong" the 2> "$work/token.err"; then
  fail "the C example succeeded with a wrong token"
fi
grep -q "401" "$work/token.err" || fail "no 401 in: $(cat "$work/token.err")"

reports=$(curl -sf -H "Authorization: Bearer $token" "$url/v1/tasks/words/estimates" |
  grep -o '"reports":[0-9]*' | cut -d: -f2)
[ "$reports" = 11 ] || fail "the daemon counts $reports reports, expected 5 + 3 + 2 + 1 = 11"
echo "client examples: all checks passed (11 reports counted)"

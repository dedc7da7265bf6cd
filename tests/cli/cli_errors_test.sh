#!/usr/bin/env bash
# Bad arguments to `residue` exit non-zero with one line that names the argument.
#   cli_errors_test.sh path/to/residue
set -u
residue=$1
failures=0

expect_error() {  # expected-substring, then the arguments
  local want=$1
  shift
  local out status lines
  out=$("$residue" "$@" 2>&1 >/dev/null)
  status=$?
  lines=$(printf '%s\n' "$out" | grep -c .)
  if [ "$status" -eq 0 ] || [ "$lines" -ne 1 ] || [[ "$out" != *"$want"* ]]; then
    echo "FAIL: residue $* -> status $status, $lines line(s): $out (wanted one line with '$want')"
    failures=$((failures + 1))
  fi
}

expect_error "k must be at least 2" simulate --k 1 --eps 1 --n 10
expect_error "--k" simulate --k -3 --eps 1 --n 10
expect_error "epsilon must be in (0, 50]" simulate --k 16 --eps 0 --n 10
expect_error "epsilon must be in (0, 50]" simulate --k 16 --eps -2 --n 10
expect_error "unknown protocol \"rappor\"" simulate --protocol rappor --k 16 --eps 1 --n 10
expect_error "cannot read \"/nonexistent/x.tsv\"" simulate --k 16 --eps 1 --n 10 --data file:/nonexistent/x.tsv
expect_error "--data must be" simulate --k 16 --eps 1 --n 10 --data gauss
expect_error "--n" simulate --k 16 --eps 1 --n -5
expect_error "--k" simulate --eps 1 --n 10
expect_error "--n must be at least 1" simulate --k 16 --eps 1 --n 0
expect_error "--trials must be at least 1" simulate --k 16 --eps 1 --n 10 --trials 0
expect_error "too small for MSS" moduli --k 6 --eps 1
expect_error "share the factor" moduli --k 100 --eps 1 --moduli 51,57
expect_error "--moduli" moduli --k 100 --eps 1 --moduli 53,-59
expect_error "max inflation must be at least 1" moduli --k 100 --eps 1 --max-inflation 0.5
expect_error "--size must be at least 1" memory shortlist --data d --task t --artifact a --out o --size 0
expect_error "cannot open /nonexistent/a" memory shortlist --data d --task t --artifact /nonexistent/a --out o

# And a good run succeeds with the documented JSON fields.
json=$("$residue" simulate --protocol mss,ss --k 64 --eps 2 --n 2000 --trials 2 --json) || {
  echo "FAIL: a valid simulate run failed"
  failures=$((failures + 1))
}
for field in '"mse"' '"mse_theory"' '"bits_mean"' '"bits_max"' '"encode_ns"' '"tally_ms"' \
             '"decode_ms"' '"moduli"' '"predicted_inflation"' '"protocol": "ss"'; do
  [[ "$json" == *$field* ]] || {
    echo "FAIL: simulate --json lacks $field"
    failures=$((failures + 1))
  }
done

expect_error "--out" compare --k 64 --eps 1 --n 100
expect_error "--eps" compare --k 64 --n 100 --out /tmp
expect_error "values must differ" audit --protocol ss --k 16 --eps 1 --values 2,2
expect_error "unknown protocol" attack --protocol nope --k 16 --eps 1 --n 10

# compare writes its files; attack and audit report every protocol asked for.
out=$(mktemp -d)
"$residue" compare --k 32 --eps 1,3 --n 500 --trials 2 --protocols ss,mss --out "$out" >/dev/null || {
  echo "FAIL: compare failed"
  failures=$((failures + 1))
}
for f in results.csv results.json mse.svg bits.svg decode.svg attack.svg; do
  [ -s "$out/$f" ] || { echo "FAIL: compare did not write $f"; failures=$((failures + 1)); }
done
[ "$(wc -l < "$out/results.csv")" -eq 5 ] || { echo "FAIL: results.csv should hold a header and 4 rows"; failures=$((failures + 1)); }
grep -q "<svg" "$out/mse.svg" && grep -q "</svg>" "$out/mse.svg" || { echo "FAIL: mse.svg is not an SVG document"; failures=$((failures + 1)); }
rm -rf "$out"
[ "$("$residue" attack --protocol ss,mss --k 32 --eps 1 --n 2000 --json | grep -c '"attack_rate_theory"')" -eq 2 ] || {
  echo "FAIL: attack did not report both protocols"; failures=$((failures + 1)); }
[ "$("$residue" audit --protocol ss,mss --k 32 --eps 1 --trials 2000 --json | grep -c '"epsilon_lower"')" -eq 2 ] || {
  echo "FAIL: audit did not report both protocols"; failures=$((failures + 1)); }

[ "$failures" -eq 0 ] && echo "all CLI checks passed"
exit "$failures"

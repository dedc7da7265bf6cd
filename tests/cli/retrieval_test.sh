#!/usr/bin/env bash
# The retrieval commands end to end on the Brown corpus (scripts/fetch-data puts it in data/),
# at small sizes: `residue vocab build | search | tokenize | prepare` and `residue memory build |
# eval | query | prepare`, each checked for its output, and a truncated file of each kind refused with one line.
#   retrieval_test.sh path/to/residue path/to/data/brown
set -euo pipefail
residue=$1 brown=$2
fail() { echo "FAILED: $*"; exit 1; }
[ -s "$brown/sentences.tsv" ] || fail "$brown/sentences.tsv is missing: run scripts/fetch-data"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$residue" vocab build --candidates 2000 --eps 8 --n 100000 --max-units 50 --data-dir "$brown" \
  --out "$work/v.rv" > "$work/vocab.out" || fail "vocab build: $(cat "$work/vocab.out")"
grep -q "precision" "$work/vocab.out" || fail "vocab build printed no precision"
"$residue" vocab search --vocab "$work/v.rv" --text "of the" --top 3 > "$work/search.out" ||
  fail "vocab search"
grep -q "of the" "$work/search.out" || fail "vocab search did not find \"of the\""
"$residue" vocab tokenize --vocab "$work/v.rv" --data-dir "$brown" > "$work/tokenize.out" ||
  fail "vocab tokenize: $(cat "$work/tokenize.out")"
grep -q "% shorter" "$work/tokenize.out" || fail "vocab tokenize printed no reduction"

"$residue" memory build --eps 8 --n 100000 --vocab 1024 --cells 4 --data-dir "$brown" \
  --out "$work/m.rm" > "$work/memory.out" || fail "memory build: $(cat "$work/memory.out")"
"$residue" memory eval --memory "$work/m.rm" --data-dir "$brown" --json > "$work/eval.json" ||
  fail "memory eval"
for arm in base uniform nonprivate; do
  grep -q "\"name\": \"$arm\"" "$work/eval.json" || fail "memory eval lacks the arm $arm"
done
"$residue" memory query --memory "$work/m.rm" --data-dir "$brown" --context "the results of the" \
  --top 3 > "$work/query.out" || fail "memory query"
grep -q "p_mem" "$work/query.out" || fail "memory query printed no distribution"

# The task artifacts a device downloads: the magic line, the k of the task they serve.
"$residue" memory prepare --vocab 1024 --cells 4 --data-dir "$brown" --out "$work/m.artifact" \
  > "$work/prepare.out" || fail "memory prepare: $(cat "$work/prepare.out")"
[ "$(head -n 1 "$work/m.artifact")" = residue.memory-artifact.1 ] || fail "memory prepare: no magic"
grep -q "k = cells x (vocab + 1) = 4100" "$work/prepare.out" || fail "memory prepare: no k"
"$residue" vocab prepare --candidates 2000 --data-dir "$brown" --out "$work/v.artifact" --json \
  > "$work/prepare.json" || fail "vocab prepare: $(cat "$work/prepare.json")"
[ "$(head -n 1 "$work/v.artifact")" = residue.vocab-artifact.1 ] || fail "vocab prepare: no magic"
grep -q '"candidates": 2000' "$work/prepare.json" || fail "vocab prepare: not 2000 candidates"

# Truncated files: one line naming the file, exit status non-zero.
for file in v.rv m.rm; do
  head -c 100 "$work/$file" > "$work/bad-$file"
done
for cmd in "vocab search --vocab $work/bad-v.rv --text x" "memory eval --memory $work/bad-m.rm"; do
  # shellcheck disable=SC2086
  if "$residue" $cmd > /dev/null 2> "$work/err"; then fail "residue $cmd accepted a truncated file"; fi
  [ "$(grep -c . "$work/err")" = 1 ] || fail "residue $cmd: not one line: $(cat "$work/err")"
  grep -q "$work/bad-" "$work/err" || fail "residue $cmd: the error does not name the file"
done
echo "retrieval commands: all checks passed"

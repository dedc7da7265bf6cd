#!/usr/bin/env bash
# The dynamic-vocabulary table of docs/results.md: units admitted from simulated MSS reports
# (k = 50,000 candidate units) against the true top U units of the clients' text (precision,
# recall), at eps in {1, 2, 4, 8}, n in {10^6, 10^7}, U in {100, 1000} and z = Bonferroni or 3,
# and the held-out test text's sequence-length reduction with the admitted units. Then one
# full `vocab build` and a second round with `vocab update`, and the search and tokenize
# commands on the result. Run from the repository root after a build (scripts/fetch-data for
# data/brown); extra arguments go to `residue vocab eval` (e.g. --seed 2 or --json):
#   bench/vocab_eval.sh [--seed S] [--json]
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

build/residue vocab eval --eps 1,2,4,8 --n 1000000,10000000 --max-units 100,1000 --z 0,3 "$@"
echo
build/residue vocab build --eps 4 --n 10000000 --seed 1 --out "$work/round1.vocab"
echo
build/residue vocab update --vocab "$work/round1.vocab" --eps 4 --n 10000000 --seed 2 \
  --out "$work/round2.vocab"
echo
build/residue vocab search --vocab "$work/round2.vocab" --text "new york" --top 10
echo
build/residue vocab tokenize --vocab "$work/round2.vocab"

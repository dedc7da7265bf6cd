#!/usr/bin/env bash
# The private retrieval memory's evaluation table (docs/results.md, "Private retrieval memory"):
# `residue memory build` + `residue memory eval` for every (C, eps, n, split seed), then the
# mean over the split seeds of each arm's test perplexity, the gap closed and the timings.
#
#   bench/memory_eval.sh                    # the full table: C 16 64, eps 2 4 8, n 1e7 1e8,
#                                           # split seeds 1 2 3 (about 30 minutes on 2 cores)
#   bench/memory_eval.sh --quick            # one small configuration (seconds; a smoke run)
#   RESIDUE=build/residue OUT=/tmp/mem bench/memory_eval.sh --cells "16" --eps "8" --n "1e8"
#
# Needs data/brown/sentences.tsv (scripts/fetch-data) and jq. Results stay in $OUT (default
# a fresh temporary directory): one build and one eval JSON per configuration.
set -euo pipefail

residue=${RESIDUE:-build/residue}
out=${OUT:-$(mktemp -d /tmp/residue-memory-eval.XXXXXX)}
cells="16 64"
epsilons="2 4 8"
ns="1e7 1e8"
seeds="1 2 3"
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) cells="16"; epsilons="8"; ns="1e6"; seeds="1"; shift ;;
    --cells) cells="$2"; shift 2 ;;
    --eps) epsilons="$2"; shift 2 ;;
    --n) ns="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "usage: $0 [--quick] [--cells \"16 64\"] [--eps \"2 4 8\"] [--n \"1e7 1e8\"] [--seeds \"1 2 3\"] [-- build options]" >&2; exit 2 ;;
  esac
done
command -v jq > /dev/null || { echo "memory_eval: needs jq" >&2; exit 1; }
[[ -x "$residue" ]] || { echo "memory_eval: no $residue (build residue_cli first)" >&2; exit 1; }
mkdir -p "$out"

integer() {  # 1e7 -> 10000000
  awk -v x="$1" 'BEGIN { printf "%.0f", x }'
}

echo "memory_eval: results in $out" >&2
for c in $cells; do
  for e in $epsilons; do
    for n in $ns; do
      for s in $seeds; do
        tag="C${c}_eps${e}_n${n}_s${s}"
        "$residue" memory build --cells "$c" --eps "$e" --n "$(integer "$n")" --split-seed "$s" \
          "${extra[@]}" --out "$out/$tag.mem" --json > "$out/build_$tag.json"
        "$residue" memory eval --memory "$out/$tag.mem" --json > "$out/eval_$tag.json"
        rm -f "$out/$tag.mem"
        echo "  $tag: $(jq -r '[.arms[] | "\(.name) \(.test_perplexity * 100 | round / 100)"] | join(", ")' \
          "$out/eval_$tag.json")" >&2
      done
    done
  done
done

arms='["base","uniform","unigram_ldp","nonprivate","ldp_clip","ldp_project","ldp_2stage_cells","ldp_2stage_shortlist"]'
table() {  # $1: the eval field to average (test_perplexity | test_perplexity_without_unknown)
  jq -rs --arg field "$1" --argjson arms "$arms" '
    def mean: add / length;
    def fmt: . * 10 | round / 10 | tostring;
    "| C | eps | n | " + ($arms | join(" | ")) + " |",
    "|" + ([range(0; ($arms | length) + 3)] | map("---") | join("|")) + "|",
    (group_by([.cells, .epsilon, .reports])[] as $g
     | ($g[0] | "| \(.cells) | \(.epsilon) | \(.reports | tostring | sub("00000000$"; "e8") | sub("0000000$"; "e7")) | ")
       + ($arms | map(. as $a | [$g[] | .arms[] | select(.name == $a) | .[$field]] | mean | fmt)
          | join(" | ")) + " |")' "$out"/eval_*.json
}

echo
echo "Test perplexity, mean over split seeds ($seeds):"
echo
table test_perplexity
echo
echo "Test perplexity without the unknown token as a target, mean over split seeds:"
echo
table test_perplexity_without_unknown
echo
echo "Gap closed from the best control, (ppl_control - ppl_ldp) / (ppl_control - ppl_nonprivate),"
echo "mean over split seeds; change of the non-private memory and of ldp_2stage_shortlist vs base:"
echo
jq -rs '
  def mean: add / length;
  def fmt: . * 100 | round / 100 | tostring;
  def pct: . * 1000 | round / 10 | tostring + "%";
  "| C | eps | n | best control | ldp_clip | ldp_project | ldp_2stage_cells | ldp_2stage_shortlist | nonprivate vs base | ldp_2stage_shortlist vs base | shortlist L |",
  "|---|---|---|---|---|---|---|---|---|---|---|",
  (group_by([.cells, .epsilon, .reports])[] as $g
   | ($g[0] | "| \(.cells) | \(.epsilon) | \(.reports | tostring | sub("00000000$"; "e8") | sub("0000000$"; "e7")) | ")
     + ([$g[] | .best_control] | unique | join(", ")) + " | "
     + (["ldp_clip", "ldp_project", "ldp_2stage_cells", "ldp_2stage_shortlist"]
        | map(. as $a | [$g[] | .gap_closed[$a]] | mean | fmt) | join(" | ")) + " | "
     + ([$g[] | .arms[] | select(.name == "nonprivate") | .change_vs_base] | mean | pct) + " | "
     + ([$g[] | .arms[] | select(.name == "ldp_2stage_shortlist") | .change_vs_base] | mean | pct) + " | "
     + ([$g[] | .settings.simulation.ldp_2stage_shortlist.candidates] | map(tostring) | join("/")) + " |")
' "$out"/eval_*.json
echo
echo "Timings, mean per configuration (build: public pieces + simulation + tuning; eval: scoring"
echo "the test split; query: one full next-token distribution of the default arm):"
echo
jq -rs '
  def mean: add / length;
  def fmt: . * 10 | round / 10 | tostring;
  "| C | build s (public / simulate / tune / total) | query us | batched search us/key |",
  "|---|---|---|---|",
  (group_by(.cells)[] as $g
   | "| \($g[0].cells) | "
     + ([$g[] | .settings.seconds.public] | mean | fmt) + " / "
     + ([$g[] | .settings.seconds.simulate] | mean | fmt) + " / "
     + ([$g[] | .settings.seconds.tune] | mean | fmt) + " / "
     + ([$g[] | .settings.seconds.total] | mean | fmt) + " | "
     + ([$g[] | .timings.query_microseconds] | mean | fmt) + " | "
     + ([$g[] | .timings.batched_search_microseconds_per_key] | mean | fmt) + " |")
' "$out"/eval_*.json

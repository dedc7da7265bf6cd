#include "residue/protocols/tally_sampler.h"

#include <string>
#include <vector>

#include "residue/core/error.h"
#include "residue/protocols/subset_selection.h"
#include "residue/random/binomial.h"

namespace residue {

Tally sample_tally(const Protocol& protocol, std::span<const uint64_t> value_counts, Rng& rng) {
  const ProtocolParams& params = protocol.params();
  if (params.protocol != "ss" && params.protocol != "mss") {
    throw Error("sample_tally: protocol \"" + params.protocol +
                "\" has no tally sampler (ss and mss have); encode its reports instead.");
  }
  if (value_counts.size() != params.k) {
    throw Error("sample_tally: " + std::to_string(value_counts.size()) +
                " value counts for k = " + std::to_string(params.k) + ".");
  }
  // SS is MSS with the one modulus k.
  const bool mss = params.protocol == "mss";
  const std::vector<uint32_t> moduli = mss ? params.moduli : std::vector<uint32_t>{params.k};
  const std::size_t blocks = moduli.size();

  // Residue counts per block: each report's block is uniform, so a value's count splits over
  // the blocks as a multinomial, drawn as a chain of binomials.
  std::vector<std::vector<uint64_t>> residues(blocks);
  for (std::size_t j = 0; j < blocks; ++j) residues[j].assign(moduli[j], 0);
  for (uint32_t x = 0; x < params.k; ++x) {
    uint64_t left = value_counts[x];
    for (std::size_t j = 0; j < blocks && left > 0; ++j) {
      const uint64_t here =
          j + 1 == blocks ? left : binomial(left, 1.0 / static_cast<double>(blocks - j), rng);
      residues[j][x % moduli[j]] += here;
      left -= here;
    }
  }

  Tally tally = protocol.new_tally();
  for (std::size_t j = 0; j < blocks; ++j) {
    const SubsetSelectionRates rates =
        subset_selection_rates(moduli[j], params.subset_sizes[j], params.epsilon);
    uint64_t n = 0;
    for (uint64_t c : residues[j]) n += c;
    const auto block = static_cast<uint32_t>(j);
    for (uint32_t r = 0; r < moduli[j]; ++r) {
      const uint64_t c = residues[j][r];
      tally.add_counts(block, r, binomial(c, rates.p, rng) + binomial(n - c, rates.q, rng));
    }
    tally.add_reports(block, n);
  }
  return tally;
}

}  // namespace residue

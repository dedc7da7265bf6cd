// Simulated populations for `residue simulate`: where the clients' values come from.
//
// A DataSpec names a distribution over [0, k): zipf:S (p_v proportional to 1/(v+1)^S),
// uniform, spike (everyone holds value 0), or file:PATH (one value per line, or
// value<TAB>count lines; values become a dictionary domain ordered by count, the k most
// frequent kept). Populations are drawn from it with an alias table, O(1) per client.
//
//   Distribution d = load_distribution("zipf:1.1", 1024);
//   std::vector<uint32_t> values = d.sample(100000, rng);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "residue/core/domain.h"
#include "residue/random/rng.h"

namespace residue {

class Distribution {
 public:
  /// Throws Error if probabilities has fewer than 2 entries, a negative entry or sums to 0.
  Distribution(std::string name, std::vector<double> probabilities,
               std::optional<Domain> domain = std::nullopt);

  const std::string& name() const { return name_; }
  uint32_t k() const { return static_cast<uint32_t>(probabilities_.size()); }
  /// Probabilities, summing to 1.
  const std::vector<double>& probabilities() const { return probabilities_; }
  /// The dictionary of a file: source (labels for tables); nullopt otherwise.
  const std::optional<Domain>& domain() const { return domain_; }
  /// A note about the source worth showing (e.g. how much mass was cut off), or "".
  const std::string& note() const { return note_; }
  void set_note(std::string note) { note_ = std::move(note); }

  /// n values drawn independently (Vose's alias method).
  std::vector<uint32_t> sample(uint64_t n, Rng& rng) const;

 private:
  std::string name_;
  std::vector<double> probabilities_;
  std::vector<double> alias_threshold_;
  std::vector<uint32_t> alias_;
  std::optional<Domain> domain_;
  std::string note_;
};

/// Parses a data spec for domain size k. Throws Error naming the spec on a bad form or an
/// unreadable file.
Distribution load_distribution(const std::string& spec, uint32_t k);

}  // namespace residue

// TwoStagePlan: the second stage of the two-stage memory protocol. A share of the clients
// reports (cell, token) over the full cells x tokens domain; from that estimate the aggregator
// keeps each cell's L most likely tokens (the candidates) and publishes them. Every other
// client reports over cells x (L + 1) values instead: its cell and the index of its token among
// that cell's candidates, or L ("other") when it is not one. Each client still sends one
// report with the full epsilon, so the privacy is that of one report; what changes is that the
// second stage's noise falls on L + 1 entries per cell instead of V + 1.
//
//   TwoStagePlan plan = TwoStagePlan::from_estimate(stage1_counts, 16, vocab.size(), 64);
//   uint32_t v = plan.value(cell, token);                         // what a client reports
//   std::vector<double> table = plan.assemble(stage2_counts, CellPostprocess::kProject,
//                                             OtherMass::kStageOne, stage1_counts);
//
// The shortlist design (stage one reports the token alone; every cell shares one shortlist) is
// deployed as two tasks (docs/memory.md, "Deployment: the two-stage shortlist"); the functions
// after TwoStagePlan are the steps the simulation, `residue memory shortlist` and the builds of
// stage two share:
//
//   uint32_t L = shortlist_size("mss", eps, unigram, 16, expected_reports, 0.5);
//   TwoStagePlan plan = shortlist_plan(shortlist_of(unigram, L), 16, vocab.size());
//   std::vector<double> table = assemble_shortlist(plan, stage2_counts, unigram,
//                                                  CellPostprocess::kProject,
//                                                  OtherMass::kStageOne);
//
// Immutable: thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "residue/memory/memory_builder.h"

namespace residue {

/// Where a cell's estimated "other" mass goes in the memory table.
enum class OtherMass {
  kDrop,      ///< nowhere: the smoothing and the base LM cover the other tokens
  kUniform,   ///< spread evenly over the cell's non-candidate tokens
  kStageOne,  ///< in proportion to their clipped stage-one estimates (uniform if all are 0)
};

/// "drop", "uniform" or "stage1"; throws Error naming the bad value.
OtherMass parse_other_mass(std::string_view name);
std::string_view other_mass_name(OtherMass other);

/// The size L of a shortlist shared by every cell, chosen from stage one before stage two
/// starts: the number of tokens whose expected stage-two count in an average cell,
/// reports * p_t / cells, exceeds `z` times the stage-two noise, count_sd(cells * (L + 1)) (the
/// standard deviation of one estimated count over that domain). p_t is the stage-one unigram
/// estimate (any scale), negatives clipped, normalized. A token below that line would add more
/// noise to its cells than signal. L depends on the noise and the noise (weakly) on L, so this
/// iterates to a fixed point (at most 8 rounds), clamped to [min_size, max_size]. Throws Error
/// if the estimate is empty or min_size > max_size.
uint32_t adaptive_shortlist_size(std::span<const double> unigram, uint32_t cells, double reports,
                                 double z, const std::function<double(uint32_t)>& count_sd,
                                 uint32_t min_size, uint32_t max_size);

class TwoStagePlan {
 public:
  /// The `candidates` tokens of each cell with the largest stage-one estimates (estimated
  /// counts, cells x tokens, row-major; ties go to the lower token id). Throws Error if the
  /// size is not cells * tokens or candidates is 0 or not below tokens.
  static TwoStagePlan from_estimate(std::span<const double> stage1, uint32_t cells, uint32_t tokens,
                                    uint32_t candidates);
  /// `candidate_tokens` holds cells x candidates distinct token ids per cell, row-major.
  /// Throws Error on a bad size, an id >= tokens or a repeated id within a cell.
  TwoStagePlan(uint32_t cells, uint32_t tokens, uint32_t candidates,
               std::vector<uint32_t> candidate_tokens);

  uint32_t cells() const { return cells_; }
  uint32_t tokens() const { return tokens_; }
  uint32_t candidates() const { return candidates_; }
  /// The stage-two domain, cells * (candidates + 1).
  uint32_t domain() const { return cells_ * (candidates_ + 1); }
  /// The candidates of `cell`, most likely first. REQUIRES: cell < cells().
  std::span<const uint32_t> candidates_of(uint32_t cell) const {
    return {candidate_tokens_.data() + std::size_t{cell} * candidates_, candidates_};
  }

  /// A client's stage-two value: cell * (L + 1) + the token's candidate index, or L.
  /// Throws Error if cell or token is out of range.
  uint32_t value(uint32_t cell, uint32_t token) const;
  /// Stage-two value counts from joint (cell, token) counts (cells x tokens).
  std::vector<uint64_t> map_counts(std::span<const uint64_t> joint) const;
  /// The memory table (cells x tokens) from stage-two estimated counts (size domain()):
  /// each cell's L + 1 estimates post-processed, the candidates' counts put at their tokens
  /// and the "other" count spread by `other`. `stage1` (cells x tokens estimated counts) is
  /// read only by OtherMass::kStageOne and may be empty otherwise.
  std::vector<double> assemble(std::span<const double> stage2, CellPostprocess postprocess,
                               OtherMass other, std::span<const double> stage1) const;

 private:
  uint32_t cells_;
  uint32_t tokens_;
  uint32_t candidates_;
  std::vector<uint32_t> candidate_tokens_;
  std::vector<uint32_t> index_;  // cells x tokens: candidate index, or candidates_ for "other"
};

/// adaptive_shortlist_size with the stage-two noise of `protocol` at `epsilon` over
/// cells x (L + 1) values for `reports` expected stage-two reports (MSS through Subset
/// Selection's closed-form variance, "ss", which MSS is within its inflation bound of), L
/// between 8 and unigram.size() - 1: how L is chosen before stage two starts.
uint32_t shortlist_size(const std::string& protocol, double epsilon,
                        std::span<const double> unigram, uint32_t cells, double reports, double z);

/// The `size` tokens with the largest estimates of `unigram` (estimated counts of every token),
/// largest first, ties to the lower id: the shortlist, as TwoStagePlan::from_estimate picks a
/// cell's candidates. Throws Error unless size is in [1, unigram.size()).
std::vector<uint32_t> shortlist_of(std::span<const double> unigram, uint32_t size);

/// The plan of one shortlist shared by every cell. Throws Error as TwoStagePlan's constructor.
TwoStagePlan shortlist_plan(std::span<const uint32_t> shortlist, uint32_t cells, uint32_t tokens);

/// The memory table (cells x tokens) of the shortlist design: plan.assemble() with stage one's
/// unigram estimate (tokens estimated counts) repeated in every cell as its stage-one estimate.
std::vector<double> assemble_shortlist(const TwoStagePlan& plan, std::span<const double> stage2,
                                       std::span<const double> unigram, CellPostprocess postprocess,
                                       OtherMass other);

}  // namespace residue

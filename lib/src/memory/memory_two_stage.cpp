#include "residue/memory/memory_two_stage.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <string>

#include "residue/core/error.h"
#include "residue/protocols/registry.h"

namespace residue {

OtherMass parse_other_mass(std::string_view name) {
  if (name == "drop") return OtherMass::kDrop;
  if (name == "uniform") return OtherMass::kUniform;
  if (name == "stage1") return OtherMass::kStageOne;
  throw Error("memory: unknown other-mass rule \"" + std::string(name) +
              "\" (expected drop, uniform or stage1).");
}

std::string_view other_mass_name(OtherMass other) {
  switch (other) {
    case OtherMass::kDrop:
      return "drop";
    case OtherMass::kUniform:
      return "uniform";
    case OtherMass::kStageOne:
      return "stage1";
  }
  return "?";
}

uint32_t adaptive_shortlist_size(std::span<const double> unigram, uint32_t cells, double reports,
                                 double z, const std::function<double(uint32_t)>& count_sd,
                                 uint32_t min_size, uint32_t max_size) {
  if (unigram.empty()) throw Error("two_stage: the stage-one unigram estimate is empty.");
  if (min_size > max_size || cells == 0) {
    throw Error("two_stage: the shortlist size bounds are [" + std::to_string(min_size) + ", " +
                std::to_string(max_size) + "] with " + std::to_string(cells) + " cells.");
  }
  std::vector<double> p(unigram.begin(), unigram.end());
  double total = 0;
  for (double& x : p) total += (x = std::max(x, 0.0));
  if (!(total > 0)) return min_size;
  for (double& x : p) x /= total;
  std::sort(p.begin(), p.end(), std::greater<>());
  uint32_t size = std::clamp<uint32_t>(static_cast<uint32_t>(p.size() / 8), min_size, max_size);
  for (int round = 0; round < 8; ++round) {
    const double line = z * count_sd(cells * (size + 1)) * cells / reports;
    const auto above = static_cast<uint32_t>(
        std::upper_bound(p.begin(), p.end(), line, std::greater<>()) - p.begin());
    const uint32_t next = std::clamp(above, min_size, max_size);
    if (next == size) break;
    size = next;
  }
  return size;
}

TwoStagePlan TwoStagePlan::from_estimate(std::span<const double> stage1, uint32_t cells,
                                         uint32_t tokens, uint32_t candidates) {
  if (stage1.size() != std::size_t{cells} * tokens) {
    throw Error("two_stage: " + std::to_string(stage1.size()) + " stage-one estimates, but " +
                std::to_string(cells) + " cells x " + std::to_string(tokens) + " tokens need " +
                std::to_string(std::size_t{cells} * tokens) + ".");
  }
  if (candidates == 0 || candidates >= tokens) {
    throw Error("two_stage: candidates must be in [1, " + std::to_string(tokens) + "), but is " +
                std::to_string(candidates) + ".");
  }
  std::vector<uint32_t> chosen;
  chosen.reserve(std::size_t{cells} * candidates);
  std::vector<uint32_t> order(tokens);
  for (uint32_t c = 0; c < cells; ++c) {
    const double* row = stage1.data() + std::size_t{c} * tokens;
    std::iota(order.begin(), order.end(), 0u);
    std::partial_sort(
        order.begin(), order.begin() + candidates, order.end(),
        [row](uint32_t a, uint32_t b) { return row[a] != row[b] ? row[a] > row[b] : a < b; });
    chosen.insert(chosen.end(), order.begin(), order.begin() + candidates);
  }
  return TwoStagePlan(cells, tokens, candidates, std::move(chosen));
}

TwoStagePlan::TwoStagePlan(uint32_t cells, uint32_t tokens, uint32_t candidates,
                           std::vector<uint32_t> candidate_tokens)
    : cells_(cells),
      tokens_(tokens),
      candidates_(candidates),
      candidate_tokens_(std::move(candidate_tokens)) {
  if (cells == 0) throw Error("two_stage: cells must be at least 1, but is 0.");
  if (candidates == 0 || candidates >= tokens) {
    throw Error("two_stage: candidates must be in [1, " + std::to_string(tokens) + "), but is " +
                std::to_string(candidates) + ".");
  }
  if (candidate_tokens_.size() != std::size_t{cells} * candidates) {
    throw Error("two_stage: " + std::to_string(candidate_tokens_.size()) +
                " candidate tokens, but " + std::to_string(cells) + " cells x " +
                std::to_string(candidates) + " need " +
                std::to_string(std::size_t{cells} * candidates) + ".");
  }
  index_.assign(std::size_t{cells} * tokens, candidates);
  for (uint32_t c = 0; c < cells; ++c) {
    for (uint32_t j = 0; j < candidates; ++j) {
      const uint32_t t = candidate_tokens_[std::size_t{c} * candidates + j];
      if (t >= tokens) {
        throw Error("two_stage: cell " + std::to_string(c) + " candidate " + std::to_string(j) +
                    " is token " + std::to_string(t) + ", outside [0, " + std::to_string(tokens) +
                    ").");
      }
      uint32_t& slot = index_[std::size_t{c} * tokens + t];
      if (slot != candidates) {
        throw Error("two_stage: cell " + std::to_string(c) + " lists token " + std::to_string(t) +
                    " twice.");
      }
      slot = j;
    }
  }
}

uint32_t TwoStagePlan::value(uint32_t cell, uint32_t token) const {
  if (cell >= cells_ || token >= tokens_) {
    throw Error("two_stage: (cell " + std::to_string(cell) + ", token " + std::to_string(token) +
                ") is outside " + std::to_string(cells_) + " cells x " + std::to_string(tokens_) +
                " tokens.");
  }
  return cell * (candidates_ + 1) + index_[std::size_t{cell} * tokens_ + token];
}

std::vector<uint64_t> TwoStagePlan::map_counts(std::span<const uint64_t> joint) const {
  if (joint.size() != std::size_t{cells_} * tokens_) {
    throw Error("two_stage: " + std::to_string(joint.size()) + " joint counts, but " +
                std::to_string(std::size_t{cells_} * tokens_) + " expected.");
  }
  std::vector<uint64_t> out(domain(), 0);
  for (uint32_t c = 0; c < cells_; ++c) {
    for (uint32_t t = 0; t < tokens_; ++t) {
      out[value(c, t)] += joint[std::size_t{c} * tokens_ + t];
    }
  }
  return out;
}

std::vector<double> TwoStagePlan::assemble(std::span<const double> stage2,
                                           CellPostprocess postprocess, OtherMass other,
                                           std::span<const double> stage1) const {
  if (stage2.size() != domain()) {
    throw Error("two_stage: " + std::to_string(stage2.size()) + " stage-two estimates, but " +
                std::to_string(domain()) + " expected.");
  }
  if (other == OtherMass::kStageOne && stage1.size() != std::size_t{cells_} * tokens_) {
    throw Error("two_stage: spreading the other mass by stage one needs " +
                std::to_string(std::size_t{cells_} * tokens_) + " stage-one estimates, but got " +
                std::to_string(stage1.size()) + ".");
  }
  const MemoryBuilder builder(cells_, candidates_ + 1);
  const std::vector<double> small = builder.from_estimate(stage2, postprocess);
  std::vector<double> table(std::size_t{cells_} * tokens_, 0.0);
  for (uint32_t c = 0; c < cells_; ++c) {
    double* row = table.data() + std::size_t{c} * tokens_;
    const double* estimates = small.data() + std::size_t{c} * (candidates_ + 1);
    const std::span<const uint32_t> cand = candidates_of(c);
    for (uint32_t j = 0; j < candidates_; ++j) row[cand[j]] = estimates[j];
    const double rest = estimates[candidates_];
    if (other == OtherMass::kDrop || !(rest > 0)) continue;
    const uint32_t* index = index_.data() + std::size_t{c} * tokens_;
    double weight_sum = 0;
    if (other == OtherMass::kStageOne) {
      for (uint32_t t = 0; t < tokens_; ++t) {
        if (index[t] == candidates_)
          weight_sum += std::max(stage1[std::size_t{c} * tokens_ + t], 0.0);
      }
    }
    const bool by_stage1 = other == OtherMass::kStageOne && weight_sum > 0;
    const double others = static_cast<double>(tokens_ - candidates_);
    for (uint32_t t = 0; t < tokens_; ++t) {
      if (index[t] != candidates_) continue;
      row[t] = by_stage1 ? rest * std::max(stage1[std::size_t{c} * tokens_ + t], 0.0) / weight_sum
                         : rest / others;
    }
  }
  return table;
}

uint32_t shortlist_size(const std::string& protocol, double epsilon,
                        std::span<const double> unigram, uint32_t cells, double reports, double z) {
  if (unigram.size() < 9) {
    throw Error(
        "two_stage: a shortlist of at least 8 tokens needs at least 9 tokens, but there are " +
        std::to_string(unigram.size()) + ".");
  }
  const std::string proxy = protocol == "mss" ? "ss" : protocol;
  const auto count_sd = [&](uint32_t k) {
    ProtocolParams params;
    params.protocol = proxy;
    params.k = k;
    params.epsilon = epsilon;
    const Protocol p = make_protocol(complete_params(params));
    const std::vector<double> uniform(k, 1.0 / k);
    return reports * std::sqrt(p.estimator().mean_variance(
                         uniform, static_cast<uint64_t>(std::max(reports, 1.0))));
  };
  return adaptive_shortlist_size(unigram, cells, reports, z, count_sd, 8,
                                 static_cast<uint32_t>(unigram.size()) - 1);
}

std::vector<uint32_t> shortlist_of(std::span<const double> unigram, uint32_t size) {
  const TwoStagePlan one_cell =
      TwoStagePlan::from_estimate(unigram, 1, static_cast<uint32_t>(unigram.size()), size);
  const std::span<const uint32_t> chosen = one_cell.candidates_of(0);
  return {chosen.begin(), chosen.end()};
}

TwoStagePlan shortlist_plan(std::span<const uint32_t> shortlist, uint32_t cells, uint32_t tokens) {
  std::vector<uint32_t> every_cell;
  every_cell.reserve(std::size_t{cells} * shortlist.size());
  for (uint32_t c = 0; c < cells; ++c)
    every_cell.insert(every_cell.end(), shortlist.begin(), shortlist.end());
  return TwoStagePlan(cells, tokens, static_cast<uint32_t>(shortlist.size()),
                      std::move(every_cell));
}

std::vector<double> assemble_shortlist(const TwoStagePlan& plan, std::span<const double> stage2,
                                       std::span<const double> unigram, CellPostprocess postprocess,
                                       OtherMass other) {
  if (unigram.size() != plan.tokens()) {
    throw Error("two_stage: " + std::to_string(unigram.size()) + " stage-one estimates, but " +
                std::to_string(plan.tokens()) + " tokens.");
  }
  std::vector<double> per_cell;
  per_cell.reserve(std::size_t{plan.cells()} * plan.tokens());
  for (uint32_t c = 0; c < plan.cells(); ++c)
    per_cell.insert(per_cell.end(), unigram.begin(), unigram.end());
  return plan.assemble(stage2, postprocess, other, per_cell);
}

}  // namespace residue

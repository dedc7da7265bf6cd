#include "residue/memory/memory_builder.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include "residue/core/error.h"

namespace residue {

CellPostprocess parse_cell_postprocess(std::string_view name) {
  if (name == "clip") return CellPostprocess::kClip;
  if (name == "project") return CellPostprocess::kProject;
  throw Error("memory: unknown post-processing \"" + std::string(name) +
              "\" (expected clip or project).");
}

void project_row(std::span<double> row, double mass) {
  if (row.empty()) return;
  if (!(mass > 0)) {
    std::fill(row.begin(), row.end(), 0.0);
    return;
  }
  // The threshold delta with sum max(row - delta, 0) = mass: walk the values in decreasing
  // order until the next one falls below the running threshold (Duchi et al. 2008).
  std::vector<double> sorted(row.begin(), row.end());
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  double sum = 0, delta = 0;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    sum += sorted[i];
    const double candidate = (sum - mass) / static_cast<double>(i + 1);
    if (i + 1 == sorted.size() || sorted[i + 1] <= candidate) {
      delta = candidate;
      break;
    }
  }
  for (double& v : row) v = std::max(v - delta, 0.0);
}

MemoryBuilder::MemoryBuilder(uint32_t cells, uint32_t tokens) : cells_(cells), tokens_(tokens) {
  if (cells == 0) throw Error("memory_builder: cells must be at least 1, but is 0.");
  if (tokens == 0) throw Error("memory_builder: tokens must be at least 1, but is 0.");
}

std::vector<double> MemoryBuilder::from_counts(std::span<const uint64_t> counts) const {
  if (counts.size() != domain()) {
    throw Error("memory_builder: " + std::to_string(counts.size()) + " counts, but " +
                std::to_string(cells_) + " cells x " + std::to_string(tokens_) + " tokens need " +
                std::to_string(domain()) + ".");
  }
  return std::vector<double>(counts.begin(), counts.end());
}

std::vector<double> MemoryBuilder::from_estimate(std::span<const double> estimate,
                                                 CellPostprocess postprocess) const {
  if (estimate.size() != domain()) {
    throw Error("memory_builder: " + std::to_string(estimate.size()) + " estimates, but " +
                std::to_string(cells_) + " cells x " + std::to_string(tokens_) + " tokens need " +
                std::to_string(domain()) + ".");
  }
  for (std::size_t i = 0; i < estimate.size(); ++i) {
    if (!std::isfinite(estimate[i])) {
      throw Error("memory_builder: estimate " + std::to_string(i) + " is not finite.");
    }
  }
  std::vector<double> table(estimate.begin(), estimate.end());
  if (postprocess == CellPostprocess::kClip) {
    for (double& v : table) v = std::max(v, 0.0);
    return table;
  }
  for (uint32_t c = 0; c < cells_; ++c) {
    const std::span<double> row(table.data() + std::size_t{c} * tokens_, tokens_);
    double mass = 0;
    for (double v : row) mass += v;
    project_row(row, std::max(mass, 0.0));
  }
  return table;
}

void MemoryBuilder::distribution(std::span<const double> row, double alpha,
                                 std::span<double> out) const {
  if (row.size() != tokens_ || out.size() != tokens_) {
    throw Error("memory_builder: distribution needs rows of " + std::to_string(tokens_) +
                " tokens, but got " + std::to_string(row.size()) + " and " +
                std::to_string(out.size()) + ".");
  }
  if (!(alpha >= 0)) throw Error("memory_builder: alpha must be non-negative.");
  double total = 0;
  for (double v : row) total += v;
  const double denominator = total + alpha * tokens_;
  if (!(denominator > 0)) {
    std::fill(out.begin(), out.end(), 1.0 / tokens_);
    return;
  }
  for (uint32_t t = 0; t < tokens_; ++t) out[t] = (row[t] + alpha) / denominator;
}

}  // namespace residue

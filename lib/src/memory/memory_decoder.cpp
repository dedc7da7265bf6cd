#include "residue/memory/memory_decoder.h"

#include <faiss/IndexFlat.h>
#include <faiss/impl/FaissException.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "residue/core/error.h"

namespace residue {

MemoryDecoder::MemoryDecoder(const Codebook& codebook, const MemoryArm& arm, uint32_t tokens)
    : tokens_(tokens),
      cells_(codebook.cells()),
      dimension_(codebook.dimension()),
      kind_(arm.kind),
      hyper_(arm.hyper),
      counts_(arm.counts) {
  if (tokens == 0) throw Error("memory_decoder: tokens must be at least 1, but is 0.");
  const std::size_t rows = arm_rows(arm.kind, cells_);
  if (counts_.size() != rows * tokens) {
    throw Error("memory_decoder: arm \"" + arm.name + "\" has " + std::to_string(counts_.size()) +
                " counts, but " + std::to_string(rows) + " rows x " + std::to_string(tokens) +
                " tokens need " + std::to_string(rows * tokens) + ".");
  }
  if (hyper_.neighbours < 1 || hyper_.neighbours > cells_ || !(hyper_.temperature > 0) ||
      !(hyper_.alpha >= 0) || !(hyper_.lambda >= 0 && hyper_.lambda <= 1)) {
    throw Error("memory_decoder: arm \"" + arm.name + "\" has invalid hyper-parameters.");
  }
  totals_.assign(rows, 0.0);
  for (std::size_t r = 0; r < rows; ++r) {
    for (uint32_t t = 0; t < tokens; ++t) totals_[r] += counts_[r * tokens + t];
  }
  index_ = std::make_unique<faiss::IndexFlatL2>(static_cast<faiss::Index::idx_t>(dimension_));
  index_->add(static_cast<faiss::Index::idx_t>(cells_), codebook.centroids().data());
}

MemoryDecoder::~MemoryDecoder() = default;

Neighbours MemoryDecoder::search(std::span<const float> keys, uint32_t k) const {
  if (keys.size() % dimension_ != 0) {
    throw Error("memory_decoder: " + std::to_string(keys.size()) +
                " floats are not a whole number of keys of dimension " +
                std::to_string(dimension_) + ".");
  }
  if (k < 1 || k > cells_) {
    throw Error("memory_decoder: k must be in [1, " + std::to_string(cells_) + "], but is " +
                std::to_string(k) + ".");
  }
  const std::size_t n = keys.size() / dimension_;
  Neighbours out;
  out.k = k;
  out.distances.resize(n * k);
  std::vector<faiss::Index::idx_t> labels(n * k);
  try {
    index_->search(static_cast<faiss::Index::idx_t>(n), keys.data(),
                   static_cast<faiss::Index::idx_t>(k), out.distances.data(), labels.data());
  } catch (const faiss::FaissException& e) {
    throw Error(std::string("memory_decoder: FAISS search failed: ") + e.what());
  }
  out.cells.resize(n * k);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    // k <= cells, so every slot holds a cell (FAISS pads with -1 only when k exceeds ntotal).
    out.cells[i] = static_cast<uint32_t>(labels[i]);
  }
  return out;
}

double MemoryDecoder::row_probability(uint32_t row, uint32_t token, double alpha) const {
  if (kind_ == ArmKind::kBase || kind_ == ArmKind::kUniform) return 1.0 / tokens_;
  const double denominator = totals_[row] + alpha * tokens_;
  if (!(denominator > 0)) return 1.0 / tokens_;
  return (counts_[std::size_t{row} * tokens_ + token] + alpha) / denominator;
}

void MemoryDecoder::neighbour_weights(std::span<const float> distances, double temperature,
                                      std::span<double> weights) {
  // Shifted by the nearest distance so that exp() cannot underflow to an all-zero vote.
  const double nearest = distances.empty() ? 0.0 : distances[0];
  double sum = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    weights[i] = std::exp(-(static_cast<double>(distances[i]) - nearest) / temperature);
    sum += weights[i];
  }
  for (double& w : weights) w /= sum;
}

void MemoryDecoder::memory_distribution(std::span<const float> key, std::span<double> out) const {
  if (out.size() != tokens_) {
    throw Error("memory_decoder: the output needs " + std::to_string(tokens_) +
                " entries, but has " + std::to_string(out.size()) + ".");
  }
  if (key.size() != dimension_) {
    throw Error("memory_decoder: the key has " + std::to_string(key.size()) +
                " floats, but the dimension is " + std::to_string(dimension_) + ".");
  }
  if (kind_ == ArmKind::kBase || kind_ == ArmKind::kUniform) {
    std::fill(out.begin(), out.end(), 1.0 / tokens_);
    return;
  }
  std::vector<uint32_t> rows = {0};
  std::vector<double> weights = {1.0};
  if (kind_ == ArmKind::kCells) {
    const Neighbours nn = search(key, hyper_.neighbours);
    rows = nn.cells;
    weights.resize(nn.k);
    neighbour_weights(nn.distances, hyper_.temperature, weights);
  }
  std::fill(out.begin(), out.end(), 0.0);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double denominator = totals_[rows[i]] + hyper_.alpha * tokens_;
    const double* r = counts_.data() + std::size_t{rows[i]} * tokens_;
    if (!(denominator > 0)) {
      for (double& p : out) p += weights[i] / tokens_;
      continue;
    }
    const double scale = weights[i] / denominator;
    for (uint32_t t = 0; t < tokens_; ++t) out[t] += (r[t] + hyper_.alpha) * scale;
  }
}

void MemoryDecoder::distribution(std::span<const float> key, std::span<const double> p_lm,
                                 std::span<double> out) const {
  if (p_lm.size() != tokens_) {
    throw Error("memory_decoder: p_lm needs " + std::to_string(tokens_) + " entries, but has " +
                std::to_string(p_lm.size()) + ".");
  }
  memory_distribution(key, out);
  const double lambda = hyper_.lambda;
  for (uint32_t t = 0; t < tokens_; ++t) out[t] = lambda * out[t] + (1 - lambda) * p_lm[t];
}

}  // namespace residue

#include "residue/retrieval/codebook.h"

#include <cmath>
#include <string>

#include "retrieval/matrix_file.h"

namespace residue {
namespace {

constexpr std::string_view kMagic = "RSDCBOOK";
constexpr uint32_t kVersion = 1;

}  // namespace

Codebook::Codebook(uint32_t dimension, std::vector<float> centroids)
    : cells_(0), dimension_(dimension), centroids_(std::move(centroids)) {
  if (dimension == 0) throw Error("codebook: dimension must be at least 1, but is 0.");
  if (centroids_.empty() || centroids_.size() % dimension != 0) {
    throw Error("codebook: " + std::to_string(centroids_.size()) +
                " values are not a positive number of centroids of dimension " +
                std::to_string(dimension) + ".");
  }
  cells_ = static_cast<uint32_t>(centroids_.size() / dimension);
  for (std::size_t i = 0; i < centroids_.size(); ++i) {
    if (!std::isfinite(centroids_[i])) {
      throw Error("codebook: centroid " + std::to_string(i / dimension) + " has a value that is " +
                  "not finite.");
    }
  }
}

uint32_t Codebook::cell(std::span<const float> key) const {
  if (key.size() != dimension_) {
    throw Error("codebook: key has " + std::to_string(key.size()) +
                " floats, but the dimension is " + std::to_string(dimension_) + ".");
  }
  uint32_t best = 0;
  double best_distance = INFINITY;
  for (uint32_t c = 0; c < cells_; ++c) {
    const float* centroid = centroids_.data() + std::size_t{c} * dimension_;
    double distance = 0;
    for (uint32_t j = 0; j < dimension_; ++j) {
      const double diff = double{key[j]} - double{centroid[j]};
      distance += diff * diff;
    }
    if (distance < best_distance) {
      best_distance = distance;
      best = c;
    }
  }
  return best;
}

std::vector<uint32_t> Codebook::cells_of(std::span<const float> keys) const {
  if (keys.size() % dimension_ != 0) {
    throw Error("codebook: " + std::to_string(keys.size()) +
                " floats are not a whole number of keys of dimension " +
                std::to_string(dimension_) + ".");
  }
  std::vector<uint32_t> out(keys.size() / dimension_);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = cell(keys.subspan(i * dimension_, dimension_));
  return out;
}

std::vector<uint8_t> Codebook::serialize() const {
  return matrix_file::encode(kMagic, kVersion, cells_, dimension_, centroids_);
}

ParseResult<Codebook> Codebook::parse(std::span<const uint8_t> bytes) {
  ParseResult<matrix_file::Matrix> m = matrix_file::decode(bytes, kMagic, kVersion, "codebook");
  if (!m.ok()) return m.error();
  matrix_file::Matrix matrix = std::move(m).value();
  return Codebook(matrix.cols, std::move(matrix.values));
}

void Codebook::write(const std::filesystem::path& file) const {
  matrix_file::write_bytes(file, serialize(), "codebook");
}

Codebook Codebook::read(const std::filesystem::path& file) {
  matrix_file::Matrix m = matrix_file::read(file, kMagic, kVersion, "codebook");
  return Codebook(m.cols, std::move(m.values));
}

}  // namespace residue

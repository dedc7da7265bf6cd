#include "residue/retrieval/embeddings.h"

#include <Eigen/QR>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "residue/random/seeded_rng.h"
#include "retrieval/matrix_file.h"

namespace residue {
namespace {

constexpr std::string_view kMagic = "RSDWEMBD";
constexpr uint32_t kVersion = 1;

// An orthonormal basis of the columns of `y` (thin Q of its QR decomposition).
Eigen::MatrixXd orthonormalize(const Eigen::MatrixXd& y) {
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(y);
  return qr.householderQ() * Eigen::MatrixXd::Identity(y.rows(), y.cols());
}

}  // namespace

Eigen::SparseMatrix<double> cooccurrence_counts(std::span<const std::vector<uint32_t>> sentences,
                                                uint32_t vocab_size, uint32_t window) {
  if (window == 0) throw Error("embeddings: window must be at least 1, but is 0.");
  const uint64_t n = uint64_t{vocab_size} + 1;
  // Each co-occurrence as a packed (smaller id, larger id) key; sorting turns equal pairs into
  // runs, far less memory than a dense n x n count matrix.
  std::vector<uint64_t> pairs;
  std::vector<uint32_t> tokens;
  for (std::size_t s = 0; s < sentences.size(); ++s) {
    tokens.assign(1, vocab_size);  // <s>
    for (std::size_t i = 0; i < sentences[s].size(); ++i) {
      const uint32_t id = sentences[s][i];
      if (id >= vocab_size) {
        throw Error("embeddings: sentence " + std::to_string(s) + " position " + std::to_string(i) +
                    " has id " + std::to_string(id) + ", outside the vocabulary [0, " +
                    std::to_string(vocab_size) + ").");
      }
      tokens.push_back(id);
    }
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      for (std::size_t j = i + 1; j < tokens.size() && j <= i + window; ++j) {
        const uint64_t a = std::min(tokens[i], tokens[j]), b = std::max(tokens[i], tokens[j]);
        pairs.push_back(a * n + b);
      }
    }
  }
  std::sort(pairs.begin(), pairs.end());
  std::vector<Eigen::Triplet<double>> triplets;
  for (std::size_t i = 0; i < pairs.size();) {
    std::size_t j = i;
    while (j < pairs.size() && pairs[j] == pairs[i]) ++j;
    const auto a = static_cast<Eigen::Index>(pairs[i] / n);
    const auto b = static_cast<Eigen::Index>(pairs[i] % n);
    const auto count = static_cast<double>(j - i);
    // A pair of equal ids sits on the diagonal once per direction, like any other pair.
    triplets.emplace_back(a, b, a == b ? 2 * count : count);
    if (a != b) triplets.emplace_back(b, a, count);
    i = j;
  }
  Eigen::SparseMatrix<double> counts(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
  counts.setFromTriplets(triplets.begin(), triplets.end());
  return counts;
}

Eigen::SparseMatrix<double> ppmi(const Eigen::SparseMatrix<double>& counts,
                                 double context_smoothing) {
  if (!(context_smoothing > 0 && context_smoothing <= 1)) {
    throw Error("embeddings: context_smoothing must be in (0, 1], but is " +
                std::to_string(context_smoothing) + ".");
  }
  Eigen::VectorXd rows = Eigen::VectorXd::Zero(counts.rows());
  Eigen::VectorXd smoothed = Eigen::VectorXd::Zero(counts.cols());
  for (Eigen::Index j = 0; j < counts.outerSize(); ++j) {
    for (Eigen::SparseMatrix<double>::InnerIterator it(counts, j); it; ++it) {
      rows(it.row()) += it.value();
      smoothed(it.col()) += it.value();
    }
  }
  smoothed = smoothed.array().pow(context_smoothing);
  const double z = smoothed.sum();
  std::vector<Eigen::Triplet<double>> triplets;
  for (Eigen::Index j = 0; j < counts.outerSize(); ++j) {
    for (Eigen::SparseMatrix<double>::InnerIterator it(counts, j); it; ++it) {
      if (it.value() <= 0) continue;
      const double pmi = std::log(it.value() * z / (rows(it.row()) * smoothed(it.col())));
      if (pmi > 0) triplets.emplace_back(it.row(), it.col(), pmi);
    }
  }
  Eigen::SparseMatrix<double> out(counts.rows(), counts.cols());
  out.setFromTriplets(triplets.begin(), triplets.end());
  return out;
}

TruncatedSvd truncated_svd(const Eigen::SparseMatrix<double>& a, uint32_t rank,
                           uint32_t oversampling, uint32_t power_iterations, uint64_t seed) {
  const Eigen::Index smaller = std::min(a.rows(), a.cols());
  if (rank == 0 || rank > smaller) {
    throw Error("embeddings: SVD rank must be in [1, " + std::to_string(smaller) + "], but is " +
                std::to_string(rank) + ".");
  }
  const Eigen::Index l = std::min<Eigen::Index>(Eigen::Index{rank} + oversampling, smaller);
  // Gaussian starting block (Box-Muller), so the subspace is uniformly oriented.
  SeededRng rng(seed);
  Eigen::MatrixXd omega(a.cols(), l);
  for (Eigen::Index i = 0; i < omega.size(); ++i) {
    const double u1 = 1.0 - rng.uniform01();  // (0, 1]: log is finite
    omega(i) = std::sqrt(-2 * std::log(u1)) * std::cos(2 * std::numbers::pi * rng.uniform01());
  }
  // Subspace iteration, re-orthonormalized every half step so rounding keeps the small
  // singular directions (Halko et al. 2011, Algorithm 4.4).
  // An explicit column-major transpose: Eigen multiplies a transposed view 3-20x slower.
  const Eigen::SparseMatrix<double> at = a.transpose();
  Eigen::MatrixXd q = orthonormalize(a * omega);
  for (uint32_t i = 0; i < power_iterations; ++i) {
    q = orthonormalize(a * orthonormalize(at * q));
  }
  const Eigen::MatrixXd b = q.transpose() * a;  // l x cols
  Eigen::BDCSVD<Eigen::MatrixXd> svd(b, Eigen::ComputeThinU | Eigen::ComputeThinV);
  TruncatedSvd out;
  out.u = (q * svd.matrixU()).leftCols(rank);
  out.s = svd.singularValues().head(rank);
  out.v = svd.matrixV().leftCols(rank);
  return out;
}

WordEmbeddings WordEmbeddings::train(std::span<const std::vector<uint32_t>> sentences,
                                     uint32_t vocab_size, const EmbeddingOptions& options) {
  if (options.dimension == 0 || options.dimension > uint64_t{vocab_size} + 1) {
    throw Error("embeddings: dimension must be in [1, vocab_size + 1 = " +
                std::to_string(uint64_t{vocab_size} + 1) + "], but is " +
                std::to_string(options.dimension) + ".");
  }
  if (!(options.singular_value_power >= 0)) {
    throw Error("embeddings: singular_value_power must be at least 0, but is " +
                std::to_string(options.singular_value_power) + ".");
  }
  const Eigen::SparseMatrix<double> m =
      ppmi(cooccurrence_counts(sentences, vocab_size, options.window), options.context_smoothing);
  const TruncatedSvd svd = truncated_svd(m, options.dimension, options.oversampling,
                                         options.power_iterations, options.seed);
  const Eigen::VectorXd scale = svd.s.array().pow(options.singular_value_power);
  const uint32_t rows = vocab_size + 1;
  const uint32_t d = options.dimension;
  std::vector<float> vectors(std::size_t{rows} * d);
  for (uint32_t r = 0; r < rows; ++r) {
    const Eigen::VectorXd row = svd.u.row(r).transpose().cwiseProduct(scale);
    const double norm = row.norm();
    // A row with no co-occurrence is zero in the PPMI and stays zero; 1e-12 also catches
    // rounding residue of such rows.
    if (norm < 1e-12) continue;
    for (uint32_t k = 0; k < d; ++k)
      vectors[std::size_t{r} * d + k] = static_cast<float>(row(k) / norm);
  }
  return WordEmbeddings(rows, d, std::move(vectors));
}

WordEmbeddings::WordEmbeddings(uint32_t rows, uint32_t dimension, std::vector<float> vectors)
    : rows_(rows), dimension_(dimension), vectors_(std::move(vectors)) {
  if (rows < 2)
    throw Error("embeddings: rows must be at least 2, but is " + std::to_string(rows) + ".");
  if (dimension == 0) throw Error("embeddings: dimension must be at least 1, but is 0.");
  if (vectors_.size() != std::size_t{rows} * dimension) {
    throw Error("embeddings: " + std::to_string(rows) + " x " + std::to_string(dimension) +
                " needs " + std::to_string(std::size_t{rows} * dimension) + " values, but got " +
                std::to_string(vectors_.size()) + ".");
  }
  for (std::size_t i = 0; i < vectors_.size(); ++i) {
    if (!std::isfinite(vectors_[i])) {
      throw Error("embeddings: value " + std::to_string(i) + " (row " +
                  std::to_string(i / dimension) + ") is not finite.");
    }
  }
}

std::vector<uint8_t> WordEmbeddings::serialize() const {
  return matrix_file::encode(kMagic, kVersion, rows_, dimension_, vectors_);
}

ParseResult<WordEmbeddings> WordEmbeddings::parse(std::span<const uint8_t> bytes) {
  ParseResult<matrix_file::Matrix> m = matrix_file::decode(bytes, kMagic, kVersion, "embeddings");
  if (!m.ok()) return m.error();
  if (m.value().rows < 2) return ParseError{"embeddings: fewer than 2 rows", 12};
  matrix_file::Matrix matrix = std::move(m).value();
  return WordEmbeddings(matrix.rows, matrix.cols, std::move(matrix.values));
}

void WordEmbeddings::write(const std::filesystem::path& file) const {
  matrix_file::write_bytes(file, serialize(), "embeddings");
}

WordEmbeddings WordEmbeddings::read(const std::filesystem::path& file) {
  matrix_file::Matrix m = matrix_file::read(file, kMagic, kVersion, "embeddings");
  if (m.rows < 2) throw Error("embeddings: fewer than 2 rows in " + file.string() + " at byte 12.");
  return WordEmbeddings(m.rows, m.cols, std::move(m.values));
}

}  // namespace residue

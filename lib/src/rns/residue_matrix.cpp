// ResidueMatrix: the MSS design matrix applied through residue-class sums.
//
// The products walk [0, k) in chunks of m, so x = base + i with i = x mod m: no element costs a
// division, and the inner loops are contiguous and vectorizable.
#include "residue/rns/residue_matrix.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>
#include <string>
#include <utility>

#include "residue/core/error.h"
#include "residue/solve/conjugate_gradient.h"

namespace residue {
namespace {

/// CG accuracy for the Hutchinson probes: far below the estimator's own sampling error.
constexpr double kTraceSolveTolerance = 1e-6;
/// Entries of y per tile of the Gram product: 16 KB, a third of L1 with room for the x reads.
constexpr std::size_t kGramTile = 2048;

std::string size_mismatch(const char* what, std::size_t actual, std::size_t expected) {
  return std::string(what) + " has size " + std::to_string(actual) + " but must have size " +
         std::to_string(expected) + ".";
}

void check_block(std::size_t j, std::size_t blocks) {
  if (j >= blocks) {
    throw Error("block " + std::to_string(j) + " is out of range: there are " +
                std::to_string(blocks) + " blocks.");
  }
}

void check_weights(std::span<const double> weights, std::size_t blocks) {
  if (weights.size() != blocks) throw Error(size_mismatch("weights", weights.size(), blocks));
  for (std::size_t j = 0; j < weights.size(); ++j) {
    if (!(weights[j] >= 0) || std::isinf(weights[j])) {  // also rejects NaN
      std::ostringstream msg;
      msg << "weights[" << j << "] must be finite and non-negative, but is " << weights[j] << ".";
      throw Error(msg.str());
    }
  }
}

}  // namespace

ResidueMatrix::ResidueMatrix(uint32_t k, std::vector<uint32_t> moduli)
    : k_(k), moduli_(std::move(moduli)) {
  if (k_ < 2) throw Error("k must be at least 2, but is " + std::to_string(k_) + ".");
  if (moduli_.empty()) throw Error("moduli must not be empty.");
  for (std::size_t j = 0; j < moduli_.size(); ++j) {
    if (moduli_[j] < 2) {
      throw Error("moduli[" + std::to_string(j) + "] must be at least 2, but is " +
                  std::to_string(moduli_[j]) + ".");
    }
    total_rows_ += moduli_[j];
  }
}

void ResidueMatrix::residue_sums(std::size_t j, std::span<const double> z,
                                 std::span<double> out) const {
  check_block(j, blocks());
  const std::size_t m = moduli_[j];
  if (z.size() != k_) throw Error(size_mismatch("z", z.size(), k_));
  if (out.size() != m) throw Error(size_mismatch("out", out.size(), m));
  std::fill(out.begin(), out.end(), 0.0);
  for (std::size_t base = 0; base < k_; base += m) {
    const std::size_t len = std::min<std::size_t>(m, k_ - base);
    const double* chunk = z.data() + base;
    for (std::size_t i = 0; i < len; ++i) out[i] += chunk[i];
  }
}

void ResidueMatrix::spread(std::size_t j, std::span<const double> y, std::span<double> out,
                           bool accumulate, double scale) const {
  check_block(j, blocks());
  const std::size_t m = moduli_[j];
  if (y.size() != m) throw Error(size_mismatch("y", y.size(), m));
  if (out.size() != k_) throw Error(size_mismatch("out", out.size(), k_));
  for (std::size_t base = 0; base < k_; base += m) {
    const std::size_t len = std::min<std::size_t>(m, k_ - base);
    double* chunk = out.data() + base;
    if (accumulate) {
      for (std::size_t i = 0; i < len; ++i) chunk[i] += scale * y[i];
    } else {
      for (std::size_t i = 0; i < len; ++i) chunk[i] = scale * y[i];
    }
  }
}

uint32_t ResidueMatrix::class_size(std::size_t j, uint32_t r) const {
  check_block(j, blocks());
  const uint32_t m = moduli_[j];
  if (r >= m) {
    throw Error("r must be below the modulus " + std::to_string(m) + ", but is " +
                std::to_string(r) + ".");
  }
  return k_ / m + (r < k_ % m ? 1 : 0);
}

void ResidueMatrix::apply_gram(std::span<const double> weights, const Eigen::VectorXd& x,
                               Eigen::VectorXd& y) const {
  check_weights(weights, blocks());
  if (static_cast<std::size_t>(x.size()) != k_) throw Error(size_mismatch("x", x.size(), k_));
  // A modulus of at least k/2 has classes {i, i + m} (i < k - m) and singletons, so its
  // A_j^T A_j is the identity plus a swap of the pairs: two short passes, no residue sums.
  // That is the common case (moduli are chosen above k/2) and the hot loop of every solve.
  double identity_weight = 0;
  for (std::size_t j = 0; j < blocks(); ++j) {
    if (2 * std::size_t{moduli_[j]} >= k_) identity_weight += weights[j];
  }
  y = identity_weight * x;
  // The pair swaps of every block, one tile of y at a time: the tile stays in L1 while all l
  // blocks add into it, where block-by-block passes stream all of y through L2 l times.
  const double* xs = x.data();
  double* ys = y.data();
  for (std::size_t begin = 0; begin < k_; begin += kGramTile) {
    const std::size_t end = std::min<std::size_t>(begin + kGramTile, k_);
    for (std::size_t j = 0; j < blocks(); ++j) {
      const double w = weights[j];
      const std::size_t m = moduli_[j];
      if (w == 0 || 2 * m < k_) continue;
      // Low members i < k - m take x[i + m]; high members i >= m take x[i - m].
      const std::size_t low_end = std::min(end, k_ > m ? k_ - m : 0);
      for (std::size_t i = begin; i < low_end; ++i) ys[i] += w * xs[i + m];
      for (std::size_t i = std::max(begin, m); i < end; ++i) ys[i] += w * xs[i - m];
    }
  }
  std::vector<double> sums;
  const std::span<const double> in(x.data(), k_);
  const std::span<double> out(y.data(), k_);
  for (std::size_t j = 0; j < blocks(); ++j) {
    const double w = weights[j];
    const std::size_t m = moduli_[j];
    if (w == 0 || 2 * m >= k_) continue;
    sums.resize(m);
    residue_sums(j, in, sums);
    spread(j, sums, out, /*accumulate=*/true, w);
  }
}

Eigen::VectorXd ResidueMatrix::gram_diagonal(std::span<const double> weights) const {
  check_weights(weights, blocks());
  // (A_j^T A_j)[x][x] = 1: every x lies in exactly one residue class of each block.
  return Eigen::VectorXd::Constant(k_, std::accumulate(weights.begin(), weights.end(), 0.0));
}

Eigen::VectorXd ResidueMatrix::solve_gram(std::span<const double> weights, const Eigen::VectorXd& b,
                                          double tolerance, int max_iterations) const {
  if (static_cast<std::size_t>(b.size()) != k_) throw Error(size_mismatch("b", b.size(), k_));
  const Eigen::VectorXd diagonal = gram_diagonal(weights);
  if (diagonal[0] == 0) throw Error("the Gram matrix is zero: every weight is 0.");
  const CgResult cg = conjugate_gradient(
      [&](const Eigen::VectorXd& x, Eigen::VectorXd& y) { apply_gram(weights, x, y); }, diagonal, b,
      {.tolerance = tolerance, .max_iterations = max_iterations});
  if (!cg.converged) {
    std::ostringstream msg;
    msg << "solve_gram: conjugate gradient stopped after " << cg.iterations
        << " iterations at relative residual " << cg.relative_residual << " (tolerance "
        << tolerance << "); the Gram matrix is singular or nearly so: the moduli do not "
        << "identify every value in [0, " << k_ << ").";
    throw Error(msg.str());
  }
  return cg.x;
}

Eigen::MatrixXd ResidueMatrix::dense_gram(std::span<const double> weights) const {
  check_weights(weights, blocks());
  const std::size_t k = k_;
  Eigen::MatrixXd g = Eigen::MatrixXd::Zero(k_, k_);
  for (std::size_t j = 0; j < blocks(); ++j) {
    const std::size_t m = moduli_[j];
    // G_j[x][y] = 1 when x and y share a residue class.
    for (std::size_t r = 0; r < std::min(m, k); ++r) {
      for (std::size_t x = r; x < k; x += m) {
        for (std::size_t y = r; y < k; y += m) {
          g(static_cast<Eigen::Index>(x), static_cast<Eigen::Index>(y)) += weights[j];
        }
      }
    }
  }
  return g;
}

double trace_of_inverse_gram(const ResidueMatrix& a, std::span<const double> weights,
                             uint32_t exact_limit, Rng& rng, bool* exact,
                             const TraceOptions& options, int max_solve_iterations) {
  const uint32_t k = a.k();
  if (exact != nullptr) *exact = k <= exact_limit;
  if (k <= exact_limit) {
    // tr(G^{-1}) = tr(L^{-T} L^{-1}) = ||L^{-1}||_F^2 for G = L L^T.
    const Eigen::LLT<Eigen::MatrixXd> llt(a.dense_gram(weights));
    // Eigen only reports a non-positive pivot; a rounding-sized one means singular as well.
    const double rank_tolerance = k * std::numeric_limits<double>::epsilon();
    if (llt.info() != Eigen::Success || llt.rcond() < rank_tolerance) {
      throw Error("the Gram matrix is singular: the moduli do not identify every value in [0, " +
                  std::to_string(k) + ").");
    }
    const Eigen::MatrixXd l_inverse = llt.matrixL().solve(Eigen::MatrixXd::Identity(k, k));
    return l_inverse.squaredNorm();
  }
  const auto quadratic_form = [&](const Eigen::VectorXd& z) {
    return z.dot(a.solve_gram(weights, z, kTraceSolveTolerance, max_solve_iterations));
  };
  return estimate_trace(k, quadratic_form, rng, options).value;
}

}  // namespace residue

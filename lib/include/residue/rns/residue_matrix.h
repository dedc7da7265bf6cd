// ResidueMatrix: the stacked residue design matrix of MSS, applied without forming it.
//
// Block j of A is m_j x k with A_j[r][x] = 1 when x mod m_j = r, so A_j z sums z over each
// residue class and A_j^T y spreads y back; both are O(k). The weighted Gram matrix
// G = sum_j g_j A_j^T A_j (g_j >= 0) is what MSS's least squares and its variance need;
// it is applied in O(k l) and solved with preconditioned conjugate gradient.
// Immutable after construction; safe to share between threads.
//
//   ResidueMatrix a(1024, {521, 523, 541});
//   a.residue_sums(0, z, s);        // s = A_0 z
//   Eigen::VectorXd y = a.solve_gram(weights, rhs);
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <span>
#include <vector>

#include "residue/random/rng.h"
#include "residue/solve/trace_estimate.h"

namespace residue {

class ResidueMatrix {
 public:
  /// Throws Error if k < 2, moduli is empty, or a modulus is < 2.
  ResidueMatrix(uint32_t k, std::vector<uint32_t> moduli);

  uint32_t k() const { return k_; }
  const std::vector<uint32_t>& moduli() const { return moduli_; }
  std::size_t blocks() const { return moduli_.size(); }
  /// Rows of the stacked matrix: sum of the moduli.
  std::size_t total_rows() const { return total_rows_; }

  /// out = A_j z: out[r] = sum of z[x] over x in [0,k) with x mod m_j = r.
  /// REQUIRES: z.size() == k, out.size() == m_j.
  void residue_sums(std::size_t j, std::span<const double> z, std::span<double> out) const;
  /// out (+)= scale A_j^T y: out[x] += scale * y[x mod m_j] (or = when !accumulate).
  /// REQUIRES: y.size() == m_j, out.size() == k.
  void spread(std::size_t j, std::span<const double> y, std::span<double> out, bool accumulate,
              double scale = 1) const;
  /// Size of the residue class of r in [0, k): the number of x < k with x mod m_j = r.
  uint32_t class_size(std::size_t j, uint32_t r) const;

  /// y = G x with G = sum_j weights[j] A_j^T A_j. REQUIRES: weights.size() == blocks().
  void apply_gram(std::span<const double> weights, const Eigen::VectorXd& x,
                  Eigen::VectorXd& y) const;
  /// The diagonal of G: every entry is sum_j weights[j], since each column of A_j holds one 1.
  Eigen::VectorXd gram_diagonal(std::span<const double> weights) const;
  /// Solves G x = b by preconditioned CG to `tolerance` relative residual. Throws Error if
  /// CG does not converge within `max_iterations` (0: k), i.e. G is singular or so badly
  /// conditioned that the moduli barely identify every value.
  Eigen::VectorXd solve_gram(std::span<const double> weights, const Eigen::VectorXd& b,
                             double tolerance = 1e-10, int max_iterations = 0) const;
  /// The dense G, k x k (small k only: tests and exact traces).
  Eigen::MatrixXd dense_gram(std::span<const double> weights) const;

 private:
  uint32_t k_;
  std::vector<uint32_t> moduli_;
  std::size_t total_rows_ = 0;
};

/// tr(G^{-1}) for G = sum_j weights[j] A_j^T A_j: exact (dense Cholesky) when k <= exact_limit,
/// otherwise a Hutchinson estimate with CG solves of at most `max_solve_iterations` each
/// (0: k). `exact` reports which. Throws Error when G is singular or a solve does not converge.
/// Hutchinson is accurate for well-conditioned G; when a few tiny eigenvalues carry much of
/// the trace its probes are heavy-tailed and the estimate tends to fall short.
double trace_of_inverse_gram(const ResidueMatrix& a, std::span<const double> weights,
                             uint32_t exact_limit, Rng& rng, bool* exact = nullptr,
                             const TraceOptions& options = {}, int max_solve_iterations = 0);

}  // namespace residue

// MssVariance: the closed-form covariance of MSS frequency estimates (internal).
//
// To first order in 1/n (delta method over users, each drawing its block j with
// probability rho_j), with G = sum_j rho_j A_j^T A_j / V_j:
//   n Cov(f_hat) = G^{-1} S G^{-1} - (diag(f) - f f^T)
//   S = sum_j rho_j [ a_j^2 A_j^T Sigma_j A_j + V_j^{-2} A_j^T A_j (diag f - f f^T) A_j^T A_j ]
// where a_j = (p_j - q_j) / (q_j (1 - q_j)) and Sigma_j summed over a block's users is the
// exact covariance of Subset Selection's indicator vector (negative within-block
// correlation and an f-dependent diagonal). The last two terms are the random split of users
// over blocks. Dropping everything but the leading part of Sigma_j leaves S = G, the
// "(A^T W A)^{-1}" main term (docs/protocols/mss.md derives all of it).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <span>
#include <vector>

#include "residue/protocols/subset_selection.h"
#include "residue/rns/residue_matrix.h"

namespace residue {

class MssVariance {
 public:
  /// `share[j]`: fraction of reports in block j; `f`: true frequencies (size k).
  MssVariance(const ResidueMatrix& matrix, std::span<const SubsetSelectionRates> rates,
              std::span<const double> share, std::span<const double> f);

  /// (1/k) sum_v Var[f_hat_v] for n reports: exact when k <= exact_limit, else Hutchinson
  /// with `options` and Gram solves of at most `max_solve_iterations` (0: k; Error beyond).
  double mean_variance(uint64_t n, uint32_t exact_limit, const TraceOptions& options = {},
                       int max_solve_iterations = 0) const;
  /// Var[f_hat_v] for each v in `values`, n reports.
  std::vector<double> variances(uint64_t n, std::span<const uint32_t> values,
                                uint32_t exact_limit) const;

 private:
  struct BlockTerms {
    double a2 = 0;  // a_j^2
    double c0 = 0, c1 = 0, d = 0,
           e = 0;            // Sigma = c0 I + c1 11^T + d(e_r 1^T + 1 e_r^T) + e e_r e_r^T
    double inv_v2 = 0;       // 1 / V_j^2
    std::vector<double> pi;  // A_j f, the block's residue histogram
  };

  /// y^T S y.
  double quadratic_form(const Eigen::VectorXd& y) const;
  /// Columns of G^{-1} for `values` (dense inverse when small, CG otherwise).
  double value_variance(const Eigen::VectorXd& column, uint32_t v, uint64_t n) const;

  const ResidueMatrix& matrix_;
  std::vector<double> gram_weights_;  // rho_j / V_j
  std::vector<double> share_;
  std::vector<BlockTerms> blocks_;
  std::vector<double> f_;
};

}  // namespace residue

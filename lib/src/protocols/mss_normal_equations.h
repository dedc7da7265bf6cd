// MSS decode on the normal equations: (sum_j w_j A_j^T A_j + ridge I) f = sum_j w_j A_j^T h_j,
// solved by Jacobi-preconditioned CG with the matrix-free Gram product of ResidueMatrix.
//
// With every modulus at least k/2, A_j^T A_j is the identity plus a swap of the pairs
// (v, v + m_j), so one product is O(k l) with no stacked (sum_j m_j)-row vectors, and the
// matrix is near-diagonal: CG converges in a few tens of iterations. Its diagonal is the
// constant sum_j w_j + ridge (each column of A_j holds one 1), so Jacobi is a scaling.
// Where a modulus is below k/2 the classes are larger, the Gram matrix's condition number
// (the square of A's) grows, and the estimator keeps LSMR on the stacked system.
//
//   if (normal_equations_apply(a, active)) {
//     NormalEquationsSolve s = solve_normal_equations(a, weights, rhs, ridge, 1e-7, 1000);
//   }
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <span>

#include "residue/rns/residue_matrix.h"

namespace residue {

/// Whether the normal equations are the decoder for these active blocks: every modulus m_j
/// has 2 m_j >= k (classes of one or two values). REQUIRES: active indexes a's blocks.
bool normal_equations_apply(const ResidueMatrix& a, std::span<const std::size_t> active);

/// b += w A_j^T h: spreads block j's debiased residue histogram h (size m_j) onto [0, k).
void add_normal_rhs(const ResidueMatrix& a, std::size_t j, double w, std::span<const double> h,
                    Eigen::VectorXd& b);

struct NormalEquationsSolve {
  Eigen::VectorXd x;
  int iterations = 0;
  /// False when CG hit `max_iterations` or lost positive definiteness (the caller falls back).
  bool converged = false;
};

/// Solves (G + ridge I) x = b with G = sum_j weights[j] A_j^T A_j (weights.size() ==
/// a.blocks(), 0 for blocks without reports) to relative residual `tolerance`.
NormalEquationsSolve solve_normal_equations(const ResidueMatrix& a, std::span<const double> weights,
                                            const Eigen::VectorXd& b, double ridge,
                                            double tolerance, int max_iterations);

}  // namespace residue

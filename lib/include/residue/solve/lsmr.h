// LSMR: iterative least squares, min ||A x - b||^2 + damp^2 ||x||^2 (Fong & Saunders, 2011).
//
// Eigen has no LSMR, so this is a small port of the algorithm with SciPy's
// scipy.sparse.linalg.lsmr as the reference behaviour (same stopping rules, atol, btol,
// conlim, damp). Needs only A x and A^T y, so A may be matrix-free (solve/linear_operator.h).
//
//   LsmrResult r = lsmr(op, b, {.atol = 1e-10, .btol = 1e-10});
//   if (r.stop == LsmrStop::kIterationLimit) ...;
#pragma once

#include <Eigen/Core>

#include "residue/solve/linear_operator.h"

namespace residue {

struct LsmrOptions {
  /// Regularization: minimizes ||A x - b||^2 + damp^2 ||x||^2.
  double damp = 0;
  /// Stop when ||A^T r|| <= atol ||A|| ||r|| (least-squares optimality, relative).
  double atol = 1e-8;
  /// Stop when ||r|| <= btol ||b|| + atol ||A|| ||x|| (a compatible system solved).
  double btol = 1e-8;
  /// Stop when the condition estimate of A exceeds this (0: no limit).
  double conlim = 1e8;
  /// Iteration cap; 0 means min(rows, cols).
  int max_iterations = 0;
};

enum class LsmrStop {
  kZeroSolution,    ///< b = 0 (or A^T b = 0): x = 0 is exact
  kCompatible,      ///< A x = b solved to btol / atol
  kLeastSquares,    ///< least-squares optimality reached to atol
  kIllConditioned,  ///< condition estimate exceeded conlim
  kIterationLimit,  ///< max_iterations reached
};

struct LsmrResult {
  Eigen::VectorXd x;
  LsmrStop stop = LsmrStop::kIterationLimit;
  int iterations = 0;
  double residual_norm = 0;    ///< ||b - A x|| (with the damp term folded in)
  double normal_residual = 0;  ///< ||A^T (b - A x) - damp^2 x||
  double norm_a = 0;           ///< estimate of the Frobenius norm of [A; damp I]
  double condition = 0;        ///< estimate of cond([A; damp I])
};

/// Solves the damped least-squares problem. Throws Error on size mismatch or bad options.
LsmrResult lsmr(const LinearOperator& a, const Eigen::VectorXd& b, const LsmrOptions& options = {});

}  // namespace residue

// Conjugate gradient for symmetric positive definite operators, with a Jacobi (diagonal)
// preconditioner. Used where the normal matrix is cheap to apply and well conditioned:
// variance computations of MSS, which need many solves with the same Gram matrix.
//
//   CgResult r = conjugate_gradient(apply_g, diag, rhs, {.tolerance = 1e-10});
#pragma once

#include <Eigen/Core>
#include <functional>

namespace residue {

/// y = G x for a symmetric positive definite G. Must resize y to x.size().
using SymmetricApply = std::function<void(const Eigen::VectorXd& x, Eigen::VectorXd& y)>;

struct CgOptions {
  /// Stop when ||r|| <= tolerance * ||b||.
  double tolerance = 1e-10;
  /// Iteration cap; 0 means the dimension.
  int max_iterations = 0;
};

struct CgResult {
  Eigen::VectorXd x;
  int iterations = 0;
  double relative_residual = 0;
  bool converged = false;
};

/// Solves G x = b. `diagonal` is G's diagonal (all entries > 0), used as the preconditioner.
CgResult conjugate_gradient(const SymmetricApply& g, const Eigen::VectorXd& diagonal,
                            const Eigen::VectorXd& b, const CgOptions& options = {});

}  // namespace residue

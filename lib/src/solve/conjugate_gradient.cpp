// Jacobi-preconditioned conjugate gradient (Hestenes & Stiefel; Saad, Algorithm 9.1).
#include "residue/solve/conjugate_gradient.h"

#include <algorithm>
#include <limits>
#include <sstream>
#include <string>

#include "residue/core/error.h"

namespace residue {
namespace {

void validate(const Eigen::VectorXd& diagonal, const Eigen::VectorXd& b, const CgOptions& options) {
  if (diagonal.size() != b.size()) {
    throw Error("diagonal has " + std::to_string(diagonal.size()) + " entries but b has " +
                std::to_string(b.size()) + ".");
  }
  for (Eigen::Index i = 0; i < diagonal.size(); ++i) {
    if (!(diagonal[i] > 0)) {  // also rejects NaN
      std::ostringstream msg;
      msg << "diagonal entries must be positive, but diagonal[" << i << "] is " << diagonal[i]
          << ".";
      throw Error(msg.str());
    }
  }
  if (!(options.tolerance >= 0)) {
    std::ostringstream msg;
    msg << "tolerance must be non-negative, but is " << options.tolerance << ".";
    throw Error(msg.str());
  }
  if (options.max_iterations < 0) {
    throw Error("max_iterations must be non-negative, but is " +
                std::to_string(options.max_iterations) + ".");
  }
}

}  // namespace

CgResult conjugate_gradient(const SymmetricApply& g, const Eigen::VectorXd& diagonal,
                            const Eigen::VectorXd& b, const CgOptions& options) {
  validate(diagonal, b, options);
  const Eigen::Index n = b.size();
  const int max_iterations =
      options.max_iterations > 0
          ? options.max_iterations
          : static_cast<int>(std::min<Eigen::Index>(n, std::numeric_limits<int>::max()));

  CgResult result;
  result.x = Eigen::VectorXd::Zero(n);
  const double norm_b = b.norm();
  if (norm_b == 0) {
    result.converged = true;
    return result;
  }
  const double threshold = options.tolerance * norm_b;
  const Eigen::VectorXd inverse_diagonal = diagonal.cwiseInverse();

  Eigen::VectorXd r = b;
  Eigen::VectorXd z = inverse_diagonal.cwiseProduct(r);
  Eigen::VectorXd p = z;
  Eigen::VectorXd q(n);
  double rz = r.dot(z);
  double norm_r = norm_b;
  while (result.iterations < max_iterations) {
    g(p, q);
    const double pq = p.dot(q);
    // p^T G p <= 0 means G is not positive definite along p (singular or indefinite): the
    // iteration cannot make progress, and the caller sees converged = false.
    if (!(pq > 0)) break;
    const double step = rz / pq;
    result.x += step * p;
    r -= step * q;
    ++result.iterations;
    norm_r = r.norm();
    if (norm_r <= threshold) {
      result.converged = true;
      break;
    }
    z = inverse_diagonal.cwiseProduct(r);
    const double rz_next = r.dot(z);
    p = z + (rz_next / rz) * p;
    rz = rz_next;
  }
  result.relative_residual = norm_r / norm_b;
  return result;
}

}  // namespace residue

#include "protocols/mss_normal_equations.h"

#include <numeric>

#include "residue/solve/conjugate_gradient.h"

namespace residue {

bool normal_equations_apply(const ResidueMatrix& a, std::span<const std::size_t> active) {
  for (std::size_t j : active) {
    if (2 * std::size_t{a.moduli()[j]} < a.k()) return false;
  }
  return true;
}

void add_normal_rhs(const ResidueMatrix& a, std::size_t j, double w, std::span<const double> h,
                    Eigen::VectorXd& b) {
  a.spread(j, h, std::span<double>(b.data(), static_cast<std::size_t>(b.size())),
           /*accumulate=*/true, w);
}

NormalEquationsSolve solve_normal_equations(const ResidueMatrix& a, std::span<const double> weights,
                                            const Eigen::VectorXd& b, double ridge,
                                            double tolerance, int max_iterations) {
  const double diagonal = std::accumulate(weights.begin(), weights.end(), 0.0) + ridge;
  const CgResult cg = conjugate_gradient(
      [&](const Eigen::VectorXd& x, Eigen::VectorXd& y) {
        a.apply_gram(weights, x, y);
        if (ridge != 0) y += ridge * x;
      },
      Eigen::VectorXd::Constant(b.size(), diagonal), b,
      {.tolerance = tolerance, .max_iterations = max_iterations});
  return {.x = cg.x, .iterations = cg.iterations, .converged = cg.converged};
}

}  // namespace residue

// LSMR (Fong & Saunders 2011), following the recurrences and stopping rules of SciPy's
// scipy.sparse.linalg.lsmr so that results and estimates can be compared one to one.
#include "residue/solve/lsmr.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>
#include <string>

#include "residue/core/error.h"

namespace residue {
namespace {

/// A Givens rotation [c s; -s c] that maps (a, b) to (r, 0), with r >= 0.
struct Rotation {
  double c;
  double s;
  double r;
};

/// Stable construction of the rotation (Choi's SymOrtho): no overflow, and the division is by
/// the larger of |a| and |b|.
Rotation sym_ortho(double a, double b) {
  if (b == 0) return {a == 0 ? 0.0 : std::copysign(1.0, a), 0.0, std::abs(a)};
  if (a == 0) return {0.0, std::copysign(1.0, b), std::abs(b)};
  if (std::abs(b) > std::abs(a)) {
    const double tau = a / b;
    const double s = std::copysign(1.0, b) / std::sqrt(1 + tau * tau);
    return {s * tau, s, b / s};
  }
  const double tau = b / a;
  const double c = std::copysign(1.0, a) / std::sqrt(1 + tau * tau);
  return {c, c * tau, a / c};
}

void require_non_negative(const char* name, double value) {
  if (!(value >= 0)) {  // also rejects NaN
    std::ostringstream msg;
    msg << name << " must be non-negative, but is " << value << ".";
    throw Error(msg.str());
  }
}

void validate(const LinearOperator& a, const Eigen::VectorXd& b, const LsmrOptions& options) {
  if (b.size() != a.rows()) {
    throw Error("b has " + std::to_string(b.size()) + " rows but A has " +
                std::to_string(a.rows()) + ".");
  }
  require_non_negative("damp", options.damp);
  require_non_negative("atol", options.atol);
  require_non_negative("btol", options.btol);
  require_non_negative("conlim", options.conlim);
  if (options.max_iterations < 0) {
    throw Error("max_iterations must be non-negative, but is " +
                std::to_string(options.max_iterations) + ".");
  }
}

/// The quantities SciPy's stopping rules compare against atol, btol and conlim.
struct StopTests {
  double test1;  // ||r|| / ||b||
  double test2;  // ||A^T r|| / (||A|| ||r||)
  double test3;  // 1 / cond(A)
  double t1;     // test1 relative to ||A|| ||x|| / ||b||
  double rtol;   // btol + atol ||A|| ||x|| / ||b||
};

/// SciPy evaluates its tests from least to most specific and keeps the last match; returning
/// the first match in the reverse order is the same rule.
std::optional<LsmrStop> stop_reason(const StopTests& t, double atol, double ctol,
                                    bool at_iteration_limit) {
  if (t.test1 <= t.rtol) return LsmrStop::kCompatible;
  if (t.test2 <= atol) return LsmrStop::kLeastSquares;
  if (t.test3 <= ctol) return LsmrStop::kIllConditioned;
  // The same three tests at machine precision, for atol = btol = 0 or conlim = 0.
  if (1 + t.t1 <= 1) return LsmrStop::kCompatible;
  if (1 + t.test2 <= 1) return LsmrStop::kLeastSquares;
  if (1 + t.test3 <= 1) return LsmrStop::kIllConditioned;
  if (at_iteration_limit) return LsmrStop::kIterationLimit;
  return std::nullopt;
}

}  // namespace

LsmrResult lsmr(const LinearOperator& a, const Eigen::VectorXd& b, const LsmrOptions& options) {
  validate(a, b, options);
  const Eigen::Index n = a.cols();
  const double damp = options.damp;
  const int max_iterations = options.max_iterations > 0
                                 ? options.max_iterations
                                 : static_cast<int>(std::min<Eigen::Index>(
                                       std::min(a.rows(), n), std::numeric_limits<int>::max()));

  LsmrResult result;
  result.x = Eigen::VectorXd::Zero(n);
  Eigen::VectorXd& x = result.x;

  // Golub-Kahan bidiagonalization: beta_1 u_1 = b, alpha_1 v_1 = A^T u_1. `u` is kept
  // unnormalized (it holds beta u_k): with tall A (MSS stacks l blocks of about k/2 rows)
  // passes over u dominate, and folding 1/beta into the short side saves one per iteration.
  Eigen::VectorXd u = b;
  Eigen::VectorXd v(n);
  const double norm_b = b.norm();
  double beta = norm_b;
  double alpha = 0;
  if (beta > 0) {
    a.apply_transpose(u, v);
    v /= beta;
    alpha = v.norm();
  } else {
    v.setZero();
  }
  if (alpha > 0) v /= alpha;

  // State of the rotations Qhat (damping), P (bidiagonal to upper) and Pbar (second QR).
  double zetabar = alpha * beta;
  double alphabar = alpha;
  double rho = 1;
  double rhobar = 1;
  double cbar = 1;
  double sbar = 0;
  Eigen::VectorXd h = v;
  Eigen::VectorXd hbar = Eigen::VectorXd::Zero(n);

  // State of the ||r|| estimate.
  double betadd = beta;
  double betad = 0;
  double rhodold = 1;
  double tautildeold = 0;
  double thetatilde = 0;
  double zeta = 0;
  double d = 0;

  // ||A|| and cond(A) estimates.
  double norm_a2 = alpha * alpha;
  double max_rbar = 0;
  double min_rbar = std::numeric_limits<double>::max();
  const double ctol = options.conlim > 0 ? 1 / options.conlim : 0;

  result.norm_a = std::sqrt(norm_a2);
  result.condition = 1;
  result.residual_norm = beta;
  result.normal_residual = alpha * beta;
  if (result.normal_residual == 0) {
    result.stop = LsmrStop::kZeroSolution;
    return result;
  }

  Eigen::VectorXd scratch;  // A v, then A^T u
  for (int iteration = 1;; ++iteration) {
    // Next bidiagonalization step: beta u = A v - alpha u, alpha v = A^T u - beta v, with u
    // unnormalized (Eigen's vectorized passes beat a hand-fused loop with a serial sum).
    a.apply(v, scratch);
    u = scratch - (beta > 0 ? alpha / beta : 0.0) * u;
    beta = u.norm();
    if (beta > 0) {
      a.apply_transpose(u, scratch);
      v = scratch / beta - beta * v;
      alpha = v.norm();
      if (alpha > 0) v /= alpha;
    }

    // Qhat folds the damping row into the bidiagonal; P and Pbar make it upper triangular.
    const Rotation qhat = sym_ortho(alphabar, damp);
    const double rho_old = rho;
    const Rotation p = sym_ortho(qhat.r, beta);
    rho = p.r;
    const double theta_new = p.s * alpha;
    alphabar = p.c * alpha;

    const double rhobar_old = rhobar;
    const double zeta_old = zeta;
    const double thetabar = sbar * rho;
    const double rho_temp = cbar * rho;
    const Rotation pbar = sym_ortho(cbar * rho, theta_new);
    cbar = pbar.c;
    sbar = pbar.s;
    rhobar = pbar.r;
    zeta = cbar * zetabar;
    zetabar = -sbar * zetabar;

    // Search directions and the solution.
    hbar = h - (thetabar * rho / (rho_old * rhobar_old)) * hbar;
    x += (zeta / (rho * rhobar)) * hbar;
    h = v - (theta_new / rho) * h;

    // ||r|| from the rotated right-hand side, without forming r.
    const double betaacute = qhat.c * betadd;
    const double betacheck = -qhat.s * betadd;
    const double betahat = p.c * betaacute;
    betadd = -p.s * betaacute;
    const double thetatilde_old = thetatilde;
    const Rotation ptilde = sym_ortho(rhodold, thetabar);
    thetatilde = ptilde.s * rhobar;
    rhodold = ptilde.c * rhobar;
    betad = -ptilde.s * betad + ptilde.c * betahat;
    tautildeold = (zeta_old - thetatilde_old * tautildeold) / ptilde.r;
    const double taud = (zeta - thetatilde * tautildeold) / rhodold;
    d += betacheck * betacheck;
    const double norm_r = std::sqrt(d + (betad - taud) * (betad - taud) + betadd * betadd);

    // ||A||_F from the bidiagonal seen so far (alpha_{k+1} joins on the next step).
    norm_a2 += beta * beta;
    const double norm_a = std::sqrt(norm_a2);
    norm_a2 += alpha * alpha;

    // cond(A) from the diagonal of the triangular factor.
    max_rbar = std::max(max_rbar, rhobar_old);
    if (iteration > 1) min_rbar = std::min(min_rbar, rhobar_old);
    const double cond_a = std::max(max_rbar, rho_temp) / std::min(min_rbar, rho_temp);

    const double norm_ar = std::abs(zetabar);
    const double norm_x = x.norm();
    result.residual_norm = norm_r;
    result.normal_residual = norm_ar;
    result.norm_a = norm_a;
    result.condition = cond_a;

    const double test1 = norm_r / norm_b;
    const double test2 = norm_a * norm_r != 0 ? norm_ar / (norm_a * norm_r)
                                              : std::numeric_limits<double>::infinity();
    const StopTests tests{
        .test1 = test1,
        .test2 = test2,
        .test3 = 1 / cond_a,
        .t1 = test1 / (1 + norm_a * norm_x / norm_b),
        .rtol = options.btol + options.atol * norm_a * norm_x / norm_b,
    };
    if (const auto stop = stop_reason(tests, options.atol, ctol, iteration >= max_iterations)) {
      result.stop = *stop;
      result.iterations = iteration;
      return result;
    }
  }
}

}  // namespace residue

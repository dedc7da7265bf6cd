#include "protocols/mss_variance.h"

#include <Eigen/Cholesky>
#include <Eigen/Dense>

#include "residue/core/error.h"
#include "residue/random/seeded_rng.h"
#include "residue/solve/trace_estimate.h"

namespace residue {
namespace {

// Seed of the trace estimator's probes: theory, not privacy, so a fixed seed keeps the
// predicted MSE reproducible run to run.
constexpr uint64_t kTraceSeed = 0x7ace;
constexpr std::size_t kDenseValues = 32;
// Gram solves for the trace probes: the quadratic form's error is of the order of the
// squared residual, far below the estimator's sampling error.
constexpr double kSolveTolerance = 1e-7;

}  // namespace

MssVariance::MssVariance(const ResidueMatrix& matrix, std::span<const SubsetSelectionRates> rates,
                         std::span<const double> share, std::span<const double> f)
    : matrix_(matrix), share_(share.begin(), share.end()), f_(f.begin(), f.end()) {
  if (rates.size() != matrix.blocks() || share.size() != matrix.blocks() ||
      f.size() != matrix.k()) {
    throw Error("mss variance: sizes of rates, shares and frequencies do not match the moduli.");
  }
  for (std::size_t j = 0; j < rates.size(); ++j) {
    const SubsetSelectionRates& r = rates[j];
    const double m = r.universe, w = r.subset_size, p = r.p, q = r.q;
    const double v = r.variance_constant();
    gram_weights_.push_back(share[j] / v);
    BlockTerms b;
    b.a2 = ((p - q) / (q * (1 - q))) * ((p - q) / (q * (1 - q)));
    b.inv_v2 = 1 / (v * v);
    // Exact covariance of the indicator vector of one SS report of residue r
    // (docs/protocols/mss.md, "Closed-form variance"):
    // P[a, b in Z] for two values other than r, then the four coefficients of
    // Sigma = c0 I + c1 11^T + d (e_r 1^T + 1 e_r^T) + e e_r e_r^T.
    const double both_other =
        r.universe > 2 ? (p * (w - 1) * (w - 2) + (1 - p) * w * (w - 1)) / ((m - 1) * (m - 2))
                       : q * q;
    b.c1 = both_other - q * q;
    b.c0 = q * (1 - q) - b.c1;
    b.d = p * (w - 1) / (m - 1) - p * q - b.c1;
    b.e = p * (1 - p) - b.c0 - b.c1 - 2 * b.d;
    b.pi.assign(r.universe, 0.0);
    matrix.residue_sums(j, f_, b.pi);
    blocks_.push_back(std::move(b));
  }
}

double MssVariance::quadratic_form(const Eigen::VectorXd& y) const {
  const double total = y.sum();
  std::vector<double> s;
  double result = 0;
  for (std::size_t j = 0; j < blocks_.size(); ++j) {
    const BlockTerms& b = blocks_[j];
    s.assign(b.pi.size(), 0.0);
    matrix_.residue_sums(j, {y.data(), static_cast<std::size_t>(y.size())}, s);
    double ss = 0, ps = 0, pss = 0;
    for (std::size_t r = 0; r < s.size(); ++r) {
      ss += s[r] * s[r];
      ps += b.pi[r] * s[r];
      pss += b.pi[r] * s[r] * s[r];
    }
    const double sampling = b.c0 * ss + b.c1 * total * total + 2 * b.d * total * ps + b.e * pss;
    const double split = pss - ps * ps;
    result += share_[j] * (b.a2 * sampling + b.inv_v2 * split);
  }
  return result;
}

double MssVariance::value_variance(const Eigen::VectorXd& column, uint32_t v, uint64_t n) const {
  return (quadratic_form(column) - (f_[v] - f_[v] * f_[v])) / static_cast<double>(n);
}

double MssVariance::mean_variance(uint64_t n, uint32_t exact_limit, const TraceOptions& options,
                                  int max_solve_iterations) const {
  const uint32_t k = matrix_.k();
  double trace = 0;
  if (k <= exact_limit) {
    const Eigen::MatrixXd inverse =
        matrix_.dense_gram(gram_weights_).llt().solve(Eigen::MatrixXd::Identity(k, k));
    for (uint32_t v = 0; v < k; ++v) trace += quadratic_form(inverse.col(v));
  } else {
    SeededRng rng(kTraceSeed);
    trace = estimate_trace(
                k,
                [&](const Eigen::VectorXd& z) {
                  return quadratic_form(
                      matrix_.solve_gram(gram_weights_, z, kSolveTolerance, max_solve_iterations));
                },
                rng, options)
                .value;
  }
  double split = 0;
  for (double f : f_) split += f - f * f;
  return (trace - split) / (static_cast<double>(n) * k);
}

std::vector<double> MssVariance::variances(uint64_t n, std::span<const uint32_t> values,
                                           uint32_t exact_limit) const {
  const uint32_t k = matrix_.k();
  std::vector<double> out;
  out.reserve(values.size());
  // A dense inverse pays off once many values are asked for; a few get one CG solve each.
  if (k <= exact_limit && values.size() > kDenseValues) {
    const Eigen::MatrixXd inverse =
        matrix_.dense_gram(gram_weights_).llt().solve(Eigen::MatrixXd::Identity(k, k));
    for (uint32_t v : values) out.push_back(value_variance(inverse.col(v), v, n));
    return out;
  }
  for (uint32_t v : values) {
    Eigen::VectorXd unit = Eigen::VectorXd::Zero(k);
    unit[v] = 1;
    out.push_back(value_variance(matrix_.solve_gram(gram_weights_, unit, kSolveTolerance), v, n));
  }
  return out;
}

}  // namespace residue

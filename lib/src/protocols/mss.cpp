#include "residue/protocols/mss.h"

#include <cmath>
#include <string>

#include "protocols/mss_normal_equations.h"
#include "protocols/mss_variance.h"
#include "protocols/protocol_setup.h"
#include "protocols/registry_internal.h"
#include "residue/core/error.h"
#include "residue/protocols/subset_selection.h"
#include "residue/rns/moduli.h"
#include "residue/rns/residue_matrix.h"
#include "residue/solve/lsmr.h"

namespace residue {
namespace {

// Domains up to this size get exact (dense) variance traces; above it, Hutchinson estimates.
constexpr uint32_t kExactLimit = 1024;
// Iteration cap (CG or LSMR) when the caller sets none; well-chosen moduli converge in tens.
constexpr int kDefaultMaxIterations = 1000;

struct MssModel {
  std::string id;
  ResidueMatrix matrix;
  std::vector<SubsetSelectionRates> rates;
};

class MssEncoder final : public Encoder {
 public:
  explicit MssEncoder(std::shared_ptr<const MssModel> model) : model_(std::move(model)) {}

  void encode(uint32_t value, Rng& rng, Report& out) const override {
    if (value >= model_->matrix.k()) {
      throw Error("mss: value " + std::to_string(value) + " is outside [0, " +
                  std::to_string(model_->matrix.k()) + ").");
    }
    const auto j = static_cast<uint32_t>(rng.uniform(model_->rates.size()));
    out.block = j;
    sample_subset_selection(model_->rates[j], value % model_->matrix.moduli()[j], rng, out.items);
  }

  double probability(const Report& report, uint32_t value) const override {
    return std::exp(log_probability(report, value));
  }
  double log_probability(const Report& report, uint32_t value) const override {
    const uint32_t j = report.block;
    return subset_selection_log_probability(model_->rates[j], report.items,
                                            value % model_->matrix.moduli()[j]) -
           std::log(static_cast<double>(model_->rates.size()));
  }

 private:
  std::shared_ptr<const MssModel> model_;
};

// The stacked system of the blocks that have reports, each row block scaled by sqrt(w_j).
class WeightedResidueOperator final : public LinearOperator {
 public:
  WeightedResidueOperator(const ResidueMatrix& matrix, std::vector<std::size_t> blocks,
                          std::vector<double> sqrt_weights)
      : matrix_(matrix), blocks_(std::move(blocks)), sqrt_weights_(std::move(sqrt_weights)) {
    for (std::size_t j : blocks_) {
      offsets_.push_back(rows_);
      rows_ += matrix_.moduli()[j];
    }
  }

  Eigen::Index rows() const override { return static_cast<Eigen::Index>(rows_); }
  Eigen::Index cols() const override { return matrix_.k(); }

  void apply(const Eigen::VectorXd& x, Eigen::VectorXd& y) const override {
    y.resize(rows());
    const std::span<const double> in(x.data(), static_cast<std::size_t>(x.size()));
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
      const std::span<double> out(y.data() + offsets_[i], matrix_.moduli()[blocks_[i]]);
      matrix_.residue_sums(blocks_[i], in, out);
      for (double& v : out) v *= sqrt_weights_[i];
    }
  }

  void apply_transpose(const Eigen::VectorXd& y, Eigen::VectorXd& x) const override {
    x.setZero(cols());
    const std::span<double> out(x.data(), static_cast<std::size_t>(x.size()));
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
      const std::span<const double> in(y.data() + offsets_[i], matrix_.moduli()[blocks_[i]]);
      matrix_.spread(blocks_[i], in, out, /*accumulate=*/true, sqrt_weights_[i]);
    }
  }

 private:
  const ResidueMatrix& matrix_;
  std::vector<std::size_t> blocks_;
  std::vector<double> sqrt_weights_;
  std::vector<std::size_t> offsets_;
  std::size_t rows_ = 0;
};

class MssEstimator final : public Estimator {
 public:
  explicit MssEstimator(std::shared_ptr<const MssModel> model) : model_(std::move(model)) {}

  Estimate estimate(const Tally& tally, const EstimateOptions& options) const override {
    return solve(tally, options, /*least_squares=*/false);
  }

  /// least_squares: LSMR on the stacked system even where the normal equations apply.
  Estimate solve(const Tally& tally, const EstimateOptions& options, bool least_squares) const {
    check(tally);
    const ResidueMatrix& a = model_->matrix;
    const uint64_t n = tally.total_reports();
    if (n == 0) throw Error("mss: the tally holds no reports.");
    std::vector<std::size_t> active;
    std::vector<uint32_t> active_moduli;
    for (uint32_t j = 0; j < tally.block_count(); ++j) {
      if (tally.reports(j) > 0) {
        active.push_back(j);
        active_moduli.push_back(a.moduli()[j]);
      }
    }
    if (active.size() < a.blocks() && options.ridge == 0 &&
        !has_full_column_rank(a.k(), active_moduli)) {
      throw Error("mss: only " + std::to_string(active.size()) + " of " +
                  std::to_string(a.blocks()) +
                  " blocks have reports, too few to identify every value; collect more "
                  "reports or set a ridge penalty.");
    }
    // Debias each block into an unbiased residue histogram h_j and weight it by the inverse
    // of its per-entry variance, w_j = (n_j / n) / V_j (docs/protocols/mss.md).
    std::vector<double> weights(a.blocks(), 0.0);
    std::vector<std::vector<double>> histograms;
    for (std::size_t j : active) {
      const SubsetSelectionRates& r = model_->rates[j];
      const double nj = static_cast<double>(tally.reports(static_cast<uint32_t>(j)));
      weights[j] = nj / static_cast<double>(n) / r.variance_constant();
      const std::span<const uint64_t> counts = tally.counts(static_cast<uint32_t>(j));
      std::vector<double>& h = histograms.emplace_back(r.universe);
      for (uint32_t res = 0; res < r.universe; ++res) {
        h[res] = (static_cast<double>(counts[res]) / nj - r.q) / (r.p - r.q);
      }
    }
    const int max_iterations =
        options.max_iterations > 0 ? options.max_iterations : kDefaultMaxIterations;
    Estimate e;
    e.reports = n;
    if (!least_squares && normal_equations_apply(a, active)) {
      // CG on (sum_j w_j A_j^T A_j + ridge I) f = sum_j w_j A_j^T h_j: O(k l) per iteration.
      Eigen::VectorXd b = Eigen::VectorXd::Zero(a.k());
      for (std::size_t i = 0; i < active.size(); ++i) {
        add_normal_rhs(a, active[i], weights[active[i]], histograms[i], b);
      }
      const NormalEquationsSolve solved =
          solve_normal_equations(a, weights, b, options.ridge, options.tolerance, max_iterations);
      if (solved.converged) {
        e.frequencies.assign(solved.x.data(), solved.x.data() + solved.x.size());
        e.solver_iterations = solved.iterations;
        e.solver_converged = true;
        return e;
      }
      // Not converged (nearly singular Gram matrix): LSMR on the stacked system below.
    }
    std::vector<double> sqrt_weights;
    std::size_t rows = 0;
    for (std::size_t j : active) rows += a.moduli()[j];
    Eigen::VectorXd rhs(static_cast<Eigen::Index>(rows));
    std::size_t offset = 0;
    for (std::size_t i = 0; i < active.size(); ++i) {
      const double sw = std::sqrt(weights[active[i]]);
      sqrt_weights.push_back(sw);
      for (double h : histograms[i]) rhs[static_cast<Eigen::Index>(offset++)] = sw * h;
    }
    const WeightedResidueOperator op(a, active, std::move(sqrt_weights));
    const LsmrResult solved = lsmr(op, rhs,
                                   {.damp = std::sqrt(options.ridge),
                                    .atol = options.tolerance,
                                    .btol = options.tolerance,
                                    .conlim = 0,
                                    .max_iterations = max_iterations});
    e.frequencies.assign(solved.x.data(), solved.x.data() + solved.x.size());
    e.solver_iterations = solved.iterations;
    e.solver_converged = solved.stop != LsmrStop::kIterationLimit;
    return e;
  }

  double mean_variance(std::span<const double> f, uint64_t n) const override {
    const std::vector<double> share(model_->rates.size(),
                                    1.0 / static_cast<double>(model_->rates.size()));
    return MssVariance(model_->matrix, model_->rates, share, f).mean_variance(n, kExactLimit);
  }

  std::vector<double> variances(std::span<const double> f, const Tally& tally,
                                std::span<const uint32_t> values) const override {
    check(tally);
    const uint64_t n = tally.total_reports();
    if (n == 0) throw Error("mss: the tally holds no reports.");
    std::vector<double> share;
    for (uint32_t j = 0; j < tally.block_count(); ++j) {
      share.push_back(static_cast<double>(tally.reports(j)) / static_cast<double>(n));
    }
    return MssVariance(model_->matrix, model_->rates, share, f).variances(n, values, kExactLimit);
  }

 private:
  void check(const Tally& tally) const {
    bool same = tally.protocol_id() == model_->id && tally.block_count() == model_->rates.size();
    for (uint32_t j = 0; same && j < tally.block_count(); ++j) {
      same = tally.universe(j) == model_->rates[j].universe;
    }
    if (!same) {
      throw Error("mss: the tally is for \"" + tally.protocol_id() +
                  "\" with other moduli, not this " + model_->id + " protocol.");
    }
  }

  std::shared_ptr<const MssModel> model_;
};

// The attack of the MSS paper (Eq. 7's setting): a uniform residue r of the subset, then a
// uniform value of [0, k) with that residue. Eq. 7 assumes ceil(k / m_j) such values; the
// real class sizes (1 or 2 for moduli above k/2) make the attack succeed more often
// (docs/attacks.md). A residue with no value below k (m_j > k) falls back to a uniform guess.
class MssAttack final : public Attack {
 public:
  explicit MssAttack(std::shared_ptr<const MssModel> model) : model_(std::move(model)) {}

  uint32_t guess(const Report& report, Rng& rng) const override {
    const uint32_t k = model_->matrix.k();
    const uint32_t m = model_->matrix.moduli()[report.block];
    const uint32_t r = report.items[rng.uniform(report.items.size())];
    if (r >= k) return static_cast<uint32_t>(rng.uniform(k));
    const uint32_t members = model_->matrix.class_size(report.block, r);
    return r + m * static_cast<uint32_t>(rng.uniform(members));
  }

  double success(uint32_t value) const override {
    const ResidueMatrix& a = model_->matrix;
    const double k = a.k();
    double total = 0;
    for (std::size_t j = 0; j < a.blocks(); ++j) {
      const SubsetSelectionRates& r = model_->rates[j];
      const uint32_t m = a.moduli()[j];
      const double empty = m > a.k() ? m - a.k() : 0;  // residues with no value below k
      total += r.p / (r.subset_size * a.class_size(j, value % m)) + empty * r.q / r.subset_size / k;
    }
    return total / static_cast<double>(a.blocks());
  }

 private:
  std::shared_ptr<const MssModel> model_;
};

}  // namespace

double mss_paper_attack_rate(const ProtocolParams& params) {
  const Protocol p = make_mss(params);
  double total = 0;
  for (std::size_t j = 0; j < p.params().moduli.size(); ++j) {
    const uint32_t m = p.params().moduli[j];
    const SubsetSelectionRates r =
        subset_selection_rates(m, p.params().subset_sizes[j], p.params().epsilon);
    total += r.p / (r.subset_size * std::ceil(static_cast<double>(p.params().k) / m));
  }
  return total / static_cast<double>(p.params().moduli.size());
}

namespace {

// The client uses only the model's moduli and rates; the estimator's products and solves on
// its ResidueMatrix are referenced from MssEstimator alone.
ProtocolSetup<std::shared_ptr<const MssModel>> setup_mss(const ProtocolParams& params) {
  check_protocol_params(params, "mss", {.moduli = true, .subset_sizes = true});
  if (params.moduli.empty()) {
    throw Error("mss: no moduli given; complete_params() chooses them for (k, epsilon).");
  }
  validate_moduli(params.k, params.moduli);
  ProtocolParams p = params;
  if (p.subset_sizes.empty()) {
    for (uint32_t m : p.moduli) p.subset_sizes.push_back(optimal_subset_size(m, p.epsilon));
  }
  if (p.subset_sizes.size() != p.moduli.size()) {
    throw Error("mss: " + std::to_string(p.subset_sizes.size()) + " subset sizes for " +
                std::to_string(p.moduli.size()) + " moduli.");
  }
  std::string id = protocol_id(p);
  auto model = std::make_shared<MssModel>(MssModel{id, ResidueMatrix(p.k, p.moduli), {}});
  ReportShape shape;
  for (std::size_t j = 0; j < p.moduli.size(); ++j) {
    model->rates.push_back(subset_selection_rates(p.moduli[j], p.subset_sizes[j], p.epsilon));
    shape.blocks.push_back({p.moduli[j], p.subset_sizes[j]});
  }
  return {.client = {.params = std::move(p),
                     .id = std::move(id),
                     .shape = std::move(shape),
                     .encoder = std::make_shared<MssEncoder>(model)},
          .model = std::move(model)};
}

}  // namespace

Estimate mss_least_squares_estimate(const Protocol& p, const Tally& tally,
                                    const EstimateOptions& options) {
  const auto* mss = dynamic_cast<const MssEstimator*>(&p.estimator());
  if (mss == nullptr) {
    throw Error("mss_least_squares_estimate: \"" + p.params().protocol +
                "\" is not an MSS protocol.");
  }
  return mss->solve(tally, options, /*least_squares=*/true);
}

Protocol make_mss(const ProtocolParams& params) {
  const auto s = setup_mss(params);
  return full_protocol(s.client, std::make_shared<MssEstimator>(s.model),
                       std::make_shared<MssAttack>(s.model));
}

ClientProtocol make_mss_client(const ProtocolParams& params) {
  return setup_mss(params).client;
}

}  // namespace residue

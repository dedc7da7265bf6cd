// Encoder, Estimator and Protocol: the one interface every frequency oracle implements.
//
// A protocol is small: an Encoder (client side: value -> randomized Report), the shared
// Tally (sufficient statistics), an Estimator (Tally -> unbiased frequencies, plus the
// closed-form variance of those estimates), and the single-report Attack an analyst
// measures it against. A Protocol bundles them with their validated parameters; it is an
// immutable value, cheap to copy, safe to share between threads.
// The daemon, the CLI and the retrieval builders never special-case a protocol.
//
//   Protocol p = make_protocol(complete_params({.protocol = "mss", .k = 1024, .epsilon = 1}));
//   Csprng rng;
//   Report r;
//   p.encoder().encode(value, rng, r);
//   Tally t = p.new_tally();
//   t.add(r);
//   Estimate e = p.estimator().estimate(t);
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "residue/estimate/estimate.h"
#include "residue/protocols/params.h"
#include "residue/protocols/report.h"
#include "residue/protocols/tally.h"
#include "residue/random/rng.h"

namespace residue {

/// Client side. Thread-safe (const); allocation-free once `out` has grown to size.
class Encoder {
 public:
  virtual ~Encoder() = default;
  /// Randomizes `value` (an index in [0, k)) into `out`, overwriting it.
  /// Throws Error if value >= k.
  virtual void encode(uint32_t value, Rng& rng, Report& out) const = 0;
  /// The exact probability that encode(value) returns `report`: the mechanism itself, used
  /// by the privacy tests and audits. REQUIRES: `report` is well-formed for the shape.
  virtual double probability(const Report& report, uint32_t value) const = 0;
  /// log probability(report, value), for mechanisms whose report probabilities underflow a
  /// double (unary encodings over thousands of bits). Override it there.
  virtual double log_probability(const Report& report, uint32_t value) const {
    return std::log(probability(report, value));
  }

  Report encode(uint32_t value, Rng& rng) const {
    Report out;
    encode(value, rng, out);
    return out;
  }
};

struct EstimateOptions {
  /// Ridge penalty lambda >= 0 (MSS). 0 gives the unbiased estimate; lambda > 0 shrinks it.
  double ridge = 0;
  /// Relative tolerance of the iterative solver (MSS: LSMR atol = btol). At 1e-7 the solution
  /// is within 1e-4 standard errors of the exact least-squares one (docs/results.md).
  double tolerance = 1e-7;
  /// Iteration cap of the iterative solver; 0 picks one from the problem size.
  int max_iterations = 0;
};

/// Aggregator side. Thread-safe (const).
class Estimator {
 public:
  virtual ~Estimator() = default;
  /// Unbiased frequency estimates from a tally of this protocol. Throws Error if the tally
  /// belongs to another protocol or shape, or holds too few reports to identify f.
  virtual Estimate estimate(const Tally& tally, const EstimateOptions& options = {}) const = 0;
  /// Closed-form expected MSE, (1/k) sum_v Var[f_hat_v], frequency scale, for n reports of a
  /// population with true frequencies `f` (size k).
  virtual double mean_variance(std::span<const double> f, uint64_t n) const = 0;
  /// Closed-form Var[f_hat_v] for each v in `values`, frequency scale, for the reports in
  /// `tally` (its size and block split) of a population with frequencies `f` (size k).
  virtual std::vector<double> variances(std::span<const double> f, const Tally& tally,
                                        std::span<const uint32_t> values) const = 0;
};

/// The data-reconstruction attack on one report (docs/attacks.md): what an adversary who
/// sees a single report guesses the value was, and how often that guess is right. Each
/// protocol's attack is the standard one from the literature (the MSS author's code for GRR,
/// SS, UE and LH; the uniform pick from the report's support set otherwise). Thread-safe.
class Attack {
 public:
  virtual ~Attack() = default;
  /// The attacker's guess of the value behind `report`, in [0, k).
  virtual uint32_t guess(const Report& report, Rng& rng) const = 0;
  /// Exact P[guess(encode(value)) == value], over both the client's and the attacker's coins.
  virtual double success(uint32_t value) const = 0;
};

class Protocol {
 public:
  Protocol(ProtocolParams params, ReportShape shape, std::shared_ptr<const Encoder> encoder,
           std::shared_ptr<const Estimator> estimator, std::shared_ptr<const Attack> attack);

  const ProtocolParams& params() const { return params_; }
  /// Versioned id of the report encoding, e.g. "residue.mss.1".
  const std::string& id() const { return id_; }
  const ReportShape& shape() const { return shape_; }
  const Encoder& encoder() const { return *encoder_; }
  const Estimator& estimator() const { return *estimator_; }
  const Attack& attack() const { return *attack_; }
  Tally new_tally() const { return Tally(id_, shape_); }

  /// Standard errors of `estimate` at `values`: the closed-form variance evaluated at the
  /// estimate itself (clipped to [0, 1]), square-rooted.
  std::vector<double> standard_errors(const Tally& tally, const Estimate& estimate,
                                      std::span<const uint32_t> values) const;

 private:
  ProtocolParams params_;
  std::string id_;
  ReportShape shape_;
  std::shared_ptr<const Encoder> encoder_;
  std::shared_ptr<const Estimator> estimator_;
  std::shared_ptr<const Attack> attack_;
};

}  // namespace residue

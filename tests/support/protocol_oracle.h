// Test oracles shared by protocol tests: enumerate every report a shape allows, the exact
// expected tally of a population from the mechanism's probabilities, the exact expected
// estimate (the estimator is affine in the counts once the block report counts are fixed),
// and chi-square critical values.
#pragma once

#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

#include "residue/protocols/protocol.h"

namespace residue::testing {

/// Calls fn for every well-formed report of `shape`: every omega-subset of every block, or
/// every subset of any size for blocks with subset_size 0. Only for tiny shapes.
inline void for_each_report(const ReportShape& shape,
                            const std::function<void(const Report&)>& fn) {
  for (uint32_t j = 0; j < shape.blocks.size(); ++j) {
    const uint32_t m = shape.blocks[j].universe;
    if (shape.blocks[j].subset_size == 0) {
      for (uint64_t mask = 0; mask < (uint64_t{1} << m); ++mask) {
        Report r{.block = j, .items = {}};
        for (uint32_t x = 0; x < m; ++x) {
          if (mask >> x & 1) r.items.push_back(x);
        }
        fn(r);
      }
      continue;
    }
    const uint32_t w = shape.blocks[j].subset_size;
    Report r{.block = j, .items = {}};
    for (uint32_t i = 0; i < w; ++i) r.items.push_back(i);
    while (true) {
      fn(r);
      int i = static_cast<int>(w) - 1;
      while (i >= 0 && r.items[i] == m - w + static_cast<uint32_t>(i)) --i;
      if (i < 0) break;
      ++r.items[i];
      for (uint32_t t = static_cast<uint32_t>(i) + 1; t < w; ++t) r.items[t] = r.items[t - 1] + 1;
    }
  }
}

/// The mechanism of `protocol` enumerated on a tiny shape: how far each input's output
/// probabilities are from summing to 1, and the largest ratio P[y | x] / P[y | x'] over all
/// outputs y and inputs x, x' (epsilon-LDP requires at most e^eps).
struct MechanismCheck {
  double worst_total_error = 0;
  double worst_ratio = 0;
};

inline MechanismCheck enumerate_mechanism(const Protocol& protocol) {
  const uint32_t k = protocol.params().k;
  MechanismCheck out;
  std::vector<double> total(k, 0.0);
  for_each_report(protocol.shape(), [&](const Report& r) {
    double lo = 1, hi = 0;
    for (uint32_t x = 0; x < k; ++x) {
      const double p = protocol.encoder().probability(r, x);
      total[x] += p;
      lo = std::min(lo, p);
      hi = std::max(hi, p);
    }
    out.worst_ratio = std::max(out.worst_ratio, hi / lo);
  });
  for (double t : total) out.worst_total_error = std::max(out.worst_total_error, std::abs(t - 1));
  return out;
}

/// The chi-square value exceeded with probability `alpha` under the null.
inline double chi_square_critical(double degrees_of_freedom, double alpha) {
  return boost::math::quantile(
      boost::math::complement(boost::math::chi_squared(degrees_of_freedom), alpha));
}

/// The exact expected estimate when block j receives `users[j]` (values held by the users
/// whose reports land in block j; for one-block protocols, everyone). Expected counts come
/// from Encoder::probability conditioned on the block; the estimate is evaluated by
/// linearity: f(base) + sum_c E[count_c] (f(base + e_c) - f(base)), where `base` has the
/// block report counts and no counts.
inline std::vector<double> expected_estimate(const Protocol& protocol,
                                             const std::vector<std::vector<uint32_t>>& users,
                                             const EstimateOptions& options) {
  const ReportShape& shape = protocol.shape();
  std::vector<std::vector<double>> expected(shape.blocks.size());
  for (uint32_t j = 0; j < shape.blocks.size(); ++j)
    expected[j].assign(shape.blocks[j].universe, 0);
  // P[block j | x] does not depend on x (the block is drawn independently of the value).
  std::vector<double> block_mass(shape.blocks.size(), 0.0);
  for_each_report(
      shape, [&](const Report& r) { block_mass[r.block] += protocol.encoder().probability(r, 0); });
  for_each_report(shape, [&](const Report& r) {
    for (uint32_t x : users[r.block]) {
      const double p = protocol.encoder().probability(r, x) / block_mass[r.block];
      for (uint32_t item : r.items) expected[r.block][item] += p;
    }
  });
  Tally base = protocol.new_tally();
  for (uint32_t j = 0; j < shape.blocks.size(); ++j) base.add_reports(j, users[j].size());
  const std::vector<double> f0 = protocol.estimator().estimate(base, options).frequencies;
  std::vector<double> result = f0;
  for (uint32_t j = 0; j < shape.blocks.size(); ++j) {
    for (uint32_t c = 0; c < shape.blocks[j].universe; ++c) {
      Tally unit = base;
      unit.add_counts(j, c, 1);
      const std::vector<double> f1 = protocol.estimator().estimate(unit, options).frequencies;
      for (std::size_t v = 0; v < result.size(); ++v) result[v] += expected[j][c] * (f1[v] - f0[v]);
    }
  }
  return result;
}

}  // namespace residue::testing

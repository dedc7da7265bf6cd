#include "residue/vocab/vocab_builder.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <string>
#include <thread>

#include "residue/core/error.h"
#include "residue/core/format_double.h"

namespace residue {
namespace {

// Standard errors are asked for in blocks: large enough to keep every core busy, small enough
// not to compute many past the point where the walk stops.
constexpr std::size_t kStderrBlock = 16;

double normal_upper_tail(double z) {
  return 0.5 * std::erfc(z / std::sqrt(2.0));
}

std::vector<uint32_t> sorted_units(std::span<const UnitEstimate> estimates) {
  std::vector<uint32_t> units = unit_ids(estimates);
  std::sort(units.begin(), units.end());
  return units;
}

}  // namespace

std::vector<uint32_t> unit_ids(std::span<const UnitEstimate> estimates) {
  std::vector<uint32_t> units;
  units.reserve(estimates.size());
  for (const UnitEstimate& e : estimates) units.push_back(e.unit);
  return units;
}

double bonferroni_z(std::size_t k, double alpha) {
  if (k == 0) throw Error("bonferroni_z: k must be at least 1, but is 0.");
  if (!(alpha > 0 && alpha < 1)) {
    throw Error("bonferroni_z: alpha must be in (0, 1), but is " + format_double(alpha) + ".");
  }
  const double tail = alpha / static_cast<double>(k);
  // The upper tail falls monotonically in z: bisect to double precision.
  double lo = -40, hi = 40;
  for (int i = 0; i < 200 && hi - lo > 1e-12; ++i) {
    const double mid = 0.5 * (lo + hi);
    (normal_upper_tail(mid) > tail ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double admission_z(const AdmissionOptions& options, std::size_t k) {
  if (options.max_units == 0) throw Error("admission: max_units (U) must be at least 1, but is 0.");
  if (!(options.z >= 0) || !std::isfinite(options.z)) {
    throw Error("admission: z must be >= 0 (0: Bonferroni), but is " + format_double(options.z) +
                ".");
  }
  return options.z > 0 ? options.z : bonferroni_z(k, options.alpha);
}

StderrFunction protocol_standard_errors(const Protocol& protocol, const Tally& tally,
                                        const Estimate& estimate) {
  return [&protocol, &tally, &estimate](std::span<const uint32_t> units) {
    // One thread per core, each taking a contiguous part of the units.
    const std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
    std::vector<double> se(units.size());
    const std::size_t per = (units.size() + threads - 1) / threads;
    std::vector<std::thread> pool;
    std::vector<std::exception_ptr> errors(threads);
    for (std::size_t t = 0; t < threads && t * per < units.size(); ++t) {
      pool.emplace_back([&, t] {
        try {
          const std::size_t begin = t * per, end = std::min(units.size(), begin + per);
          const std::vector<double> part =
              protocol.standard_errors(tally, estimate, units.subspan(begin, end - begin));
          std::copy(part.begin(), part.end(), se.begin() + static_cast<std::ptrdiff_t>(begin));
        } catch (...) {
          errors[t] = std::current_exception();
        }
      });
    }
    for (std::thread& th : pool) th.join();
    for (const std::exception_ptr& e : errors) {
      if (e) std::rethrow_exception(e);
    }
    return se;
  };
}

Admission admit_units(std::span<const double> frequencies, const StderrFunction& stderr_of,
                      const AdmissionOptions& options, const AdmissionProgress& progress) {
  Admission out;
  out.z = admission_z(options, std::max<std::size_t>(frequencies.size(), 1));
  std::vector<uint32_t> ranking(frequencies.size());
  std::iota(ranking.begin(), ranking.end(), 0u);
  std::stable_sort(ranking.begin(), ranking.end(),
                   [&](uint32_t a, uint32_t b) { return frequencies[a] > frequencies[b]; });
  std::size_t next = 0, misses = 0;
  while (next < ranking.size() && out.admitted.size() < options.max_units &&
         (options.stop_after == 0 || misses < options.stop_after) &&
         frequencies[ranking[next]] > 0) {
    // The next block, cut at the first non-positive estimate.
    std::size_t end = std::min(ranking.size(), next + kStderrBlock);
    while (end > next && !(frequencies[ranking[end - 1]] > 0)) --end;
    const std::span<const uint32_t> block(ranking.data() + next, end - next);
    const std::vector<double> se = stderr_of(block);
    if (se.size() != block.size()) {
      throw Error("admission: asked for " + std::to_string(block.size()) +
                  " standard errors, got " + std::to_string(se.size()) + ".");
    }
    for (std::size_t i = 0; i < block.size(); ++i) {
      ++out.tested;
      const double f = frequencies[block[i]];
      if (f > out.z * se[i]) {
        out.admitted.push_back({.unit = block[i], .frequency = f, .standard_error = se[i]});
        misses = 0;
        if (out.admitted.size() == options.max_units) break;
      } else if (options.stop_after != 0 && ++misses == options.stop_after) {
        break;
      }
    }
    next = end;
    if (progress) progress(out.admitted.size(), options.max_units);
  }
  return out;
}

VocabBuilder::VocabBuilder(std::vector<UnitEstimate> admitted, std::vector<RoundLog> log)
    : admitted_(std::move(admitted)), log_(std::move(log)) {
  std::set<uint32_t> seen;
  for (const UnitEstimate& e : admitted_) {
    if (!seen.insert(e.unit).second) {
      throw Error("vocab builder: unit " + std::to_string(e.unit) + " is admitted twice.");
    }
  }
  for (std::size_t r = 0; r < log_.size(); ++r) {
    if (log_[r].round != r + 1) {
      throw Error("vocab builder: round " + std::to_string(r + 1) + " of the log is numbered " +
                  std::to_string(log_[r].round) + ".");
    }
  }
}

const RoundLog& VocabBuilder::add_round(std::span<const double> frequencies,
                                        const StderrFunction& stderr_of,
                                        const AdmissionOptions& options, RoundSource source,
                                        const AdmissionProgress& progress) {
  Admission a = admit_units(frequencies, stderr_of, options, progress);
  const std::vector<uint32_t> before = sorted_units(admitted_);
  const std::vector<uint32_t> after = sorted_units(a.admitted);
  RoundLog entry{.round = static_cast<uint32_t>(log_.size() + 1),
                 .source = std::move(source),
                 .z = a.z,
                 .max_units = options.max_units,
                 .tested = a.tested,
                 .added = {},
                 .removed = {},
                 .admitted = a.admitted.size()};
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                      std::back_inserter(entry.added));
  std::set_difference(before.begin(), before.end(), after.begin(), after.end(),
                      std::back_inserter(entry.removed));
  admitted_ = std::move(a.admitted);
  log_.push_back(std::move(entry));
  return log_.back();
}

const RoundLog& VocabBuilder::add_round(const Protocol& protocol, const Tally& tally,
                                        const AdmissionOptions& options, RoundSource source,
                                        const AdmissionProgress& progress) {
  if (tally.total_reports() == 0) throw Error("vocab builder: the tally holds no reports.");
  const Estimate estimate = protocol.estimator().estimate(tally);
  if (!estimate.solver_converged) {
    throw Error("vocab builder: the estimator stopped after " +
                std::to_string(estimate.solver_iterations) +
                " iterations without converging; the estimates are not trustworthy.");
  }
  const StderrFunction stderr_of = protocol_standard_errors(protocol, tally, estimate);
  source.reports = tally.total_reports();
  return add_round(estimate.frequencies, stderr_of, options, std::move(source), progress);
}

}  // namespace residue

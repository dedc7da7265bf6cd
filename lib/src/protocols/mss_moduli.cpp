// evaluate_moduli and select_moduli (protocols/mss_moduli.h): the search over the number of
// primes and their spread above k/2, trading predicted MSE inflation against bits per report.
#include "residue/protocols/mss_moduli.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "protocols/mss_variance.h"
#include "residue/core/error.h"
#include "residue/protocols/report_size.h"
#include "residue/protocols/subset_selection.h"
#include "residue/random/seeded_rng.h"
#include "residue/rns/moduli.h"
#include "residue/rns/primes.h"
#include "residue/rns/residue_matrix.h"

namespace residue {
namespace {

// Fractions of [k/2, k) the chosen primes may spread over. Narrow windows give short
// reports but need many primes to be well conditioned; wide ones the reverse.
constexpr double kSpreads[] = {0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0};
// More moduli cost server memory and decode time (O(k l)) for vanishing gains.
constexpr uint32_t kMaxEll = 64;
// During the search, exact traces only where they are cheap; the chosen set is then
// re-evaluated with options.exact_limit.
constexpr uint32_t kSearchExactLimit = 256;
// The trace estimate only has to rank candidates: 1% is finer than the gaps between them.
constexpr double kSearchPrecision = 0.01;
// Reports within 1% of the fewest bits are as short as makes no difference to a client.
constexpr double kBitsSlack = 0.01;
// A Gram solve that needs more CG iterations than this belongs to a badly conditioned set
// (inflation of several x); well-conditioned ones converge in tens.
constexpr int kSearchMaxSolveIterations = 400;
// An MSE within 2% of the best is not worth more moduli: decode time grows with l.
constexpr double kInflationSlack = 0.02;

std::vector<uint32_t> optimal_sizes(const std::vector<uint32_t>& moduli, double epsilon) {
  std::vector<uint32_t> sizes;
  for (uint32_t m : moduli) sizes.push_back(optimal_subset_size(m, epsilon));
  return sizes;
}

ReportShape shape_of(const std::vector<uint32_t>& moduli, const std::vector<uint32_t>& sizes) {
  ReportShape shape;
  for (std::size_t j = 0; j < moduli.size(); ++j) shape.blocks.push_back({moduli[j], sizes[j]});
  return shape;
}

// Mean wire bits of a moduli set with optimal subset sizes: cheap, no trace needed.
double bits_of(double epsilon, const std::vector<uint32_t>& moduli) {
  return expected_report_bits(shape_of(moduli, optimal_sizes(moduli, epsilon)));
}

// What to compute for a candidate: the search needs only the full prediction, a reported
// candidate also the main term (comparable with published tables).
struct EvaluationOptions {
  uint32_t exact_limit = 0;
  double precision = 0;
  uint64_t seed = 0;
  int max_solve_iterations = 0;  // 0: no cap
  bool main_term = false;
};

ModuliCandidate evaluate(uint32_t k, double epsilon, std::vector<uint32_t> moduli,
                         std::vector<uint32_t> subset_sizes, const EvaluationOptions& how) {
  if (subset_sizes.empty()) subset_sizes = optimal_sizes(moduli, epsilon);
  if (subset_sizes.size() != moduli.size()) {
    throw Error("moduli: " + std::to_string(subset_sizes.size()) + " subset sizes for " +
                std::to_string(moduli.size()) + " moduli.");
  }
  std::vector<SubsetSelectionRates> rates;
  for (std::size_t j = 0; j < moduli.size(); ++j) {
    rates.push_back(subset_selection_rates(moduli[j], subset_sizes[j], epsilon));
  }
  ModuliCandidate c{.moduli = moduli, .subset_sizes = subset_sizes};
  const ReportShape shape = shape_of(moduli, subset_sizes);
  c.expected_bits = expected_report_bits(shape);
  c.entropy_bits = report_entropy_bits(shape);
  const ResidueMatrix matrix(k, std::move(moduli));
  const TraceOptions trace{.relative_precision = how.precision};
  c.inflation_exact = k <= how.exact_limit;

  // The full first-order MSE (protocols/mss_variance.h) against SS's exact one, both at
  // uniform frequencies: data-independent, and it includes the within-block covariance
  // that the main term misses when subsets are small.
  const double ell = static_cast<double>(rates.size());
  const std::vector<double> share(rates.size(), 1 / ell);
  const std::vector<double> uniform(k, 1.0 / k);
  const SubsetSelectionRates ss =
      subset_selection_rates(k, optimal_subset_size(k, epsilon), epsilon);
  c.inflation = MssVariance(matrix, rates, share, uniform)
                    .mean_variance(1, how.exact_limit, trace, how.max_solve_iterations) /
                ss.variance(1.0 / k, 1);
  if (how.main_term) {
    // G = sum_j A_j^T A_j / (l V_j): the Gram matrix of the main term (A^T W A)^{-1}.
    std::vector<double> weights;
    for (const SubsetSelectionRates& r : rates)
      weights.push_back(1 / (ell * r.variance_constant()));
    SeededRng rng(how.seed);  // trace probes: theory, not privacy
    c.main_term_inflation = trace_of_inverse_gram(matrix, weights, how.exact_limit, rng, nullptr,
                                                  trace, how.max_solve_iterations) /
                            (k * ss.variance_constant());
  }
  return c;
}

// l primes spread evenly, by index, over the window.
std::vector<uint32_t> spread_evenly(const std::vector<uint32_t>& window, uint32_t ell) {
  std::vector<uint32_t> out;
  const double step = static_cast<double>(window.size() - 1) / (ell - 1);
  for (uint32_t i = 0; i < ell; ++i) {
    out.push_back(window[static_cast<std::size_t>(std::lround(i * step))]);
  }
  return out;
}

}  // namespace

ModuliCandidate evaluate_moduli(uint32_t k, double epsilon, std::vector<uint32_t> moduli,
                                std::vector<uint32_t> subset_sizes, const ModuliOptions& options) {
  validate_moduli(k, moduli);
  return evaluate(k, epsilon, std::move(moduli), std::move(subset_sizes),
                  {.exact_limit = options.exact_limit,
                   .precision = TraceOptions{}.relative_precision,
                   .seed = options.seed,
                   .main_term = true});
}

ModuliChoice select_moduli(uint32_t k, double epsilon, const ModuliOptions& options) {
  if (!(options.max_inflation >= 1)) {
    throw Error("max inflation must be at least 1, but is " +
                std::to_string(options.max_inflation) + ".");
  }
  ModuliChoice choice;
  choice.ss_variance =
      subset_selection_rates(k, optimal_subset_size(k, epsilon), epsilon).variance_constant();
  choice.ss_expected_bits =
      expected_report_bits(ReportShape{{BlockShape{k, optimal_subset_size(k, epsilon)}}});

  if (!options.moduli.empty()) {
    choice.chosen = evaluate_moduli(k, epsilon, options.moduli, {}, options);
    choice.searched = {choice.chosen};
    choice.meets_bound = choice.chosen.inflation <= options.max_inflation;
    return choice;
  }
  if (k < 8) {
    throw Error("k = " + std::to_string(k) +
                " is too small for MSS (it needs two primes in (k/2, k)); use ss.");
  }
  const uint32_t lo = k / 2 + 1;
  const std::vector<uint32_t> primes = primes_between(lo, k);
  if (options.ell && (*options.ell < 2 || *options.ell > primes.size())) {
    throw Error("ell must be in [2, " + std::to_string(primes.size()) +
                "] for k = " + std::to_string(k) + " (the primes in (k/2, k)), but is " +
                std::to_string(*options.ell) + ".");
  }
  auto feasible = [&](const ModuliCandidate& c) { return c.inflation <= options.max_inflation; };

  // Candidates are evaluated once; an ill-conditioned one (its Gram solves do not converge
  // quickly) is recorded with infinite inflation.
  std::map<std::vector<uint32_t>, ModuliCandidate> seen;
  auto candidate = [&](std::vector<uint32_t> moduli, double spread) -> const ModuliCandidate& {
    if (auto it = seen.find(moduli); it != seen.end()) return it->second;
    ModuliCandidate c;
    try {
      c = evaluate(k, epsilon, moduli, {},
                   {.exact_limit = std::min(kSearchExactLimit, options.exact_limit),
                    .precision = kSearchPrecision,
                    .seed = options.seed,
                    .max_solve_iterations = kSearchMaxSolveIterations});
    } catch (const Error&) {
      c = ModuliCandidate{.moduli = moduli, .inflation = std::numeric_limits<double>::infinity()};
      c.expected_bits = bits_of(epsilon, moduli);
    }
    c.spread = spread;
    choice.searched.push_back(c);
    return seen.emplace(std::move(moduli), std::move(c)).first->second;
  };

  // Windows over (k/2, k), each with its widest candidate: as many primes as allowed, spread
  // evenly. Bits depend on the window far more than on l, so windows are visited from the
  // cheapest, and the walk stops once the windows left cost more than the cheapest feasible
  // one plus the slack (unless exploring the whole trade-off).
  struct Window {
    double spread;
    std::vector<uint32_t> primes;
    uint32_t most;
    double bits;
  };
  std::vector<Window> windows;
  for (double spread : kSpreads) {
    Window w{spread, {}, 0, 0};
    const double hi = lo + spread * (k - lo);
    for (uint32_t p : primes) {
      if (p <= hi) w.primes.push_back(p);
    }
    w.most = options.ell ? *options.ell
                         : static_cast<uint32_t>(std::min<std::size_t>(w.primes.size(), kMaxEll));
    if (w.most < 2 || w.most > w.primes.size()) continue;
    if (!windows.empty() && windows.back().primes.size() == w.primes.size()) continue;  // same set
    w.bits = bits_of(epsilon, spread_evenly(w.primes, w.most));
    windows.push_back(std::move(w));
  }
  std::stable_sort(windows.begin(), windows.end(),
                   [](const Window& a, const Window& b) { return a.bits < b.bits; });
  double cheapest_feasible = std::numeric_limits<double>::infinity();
  std::vector<const Window*> worth_a_closer_look;
  for (const Window& w : windows) {
    if (!options.explore && w.bits > cheapest_feasible * (1 + kBitsSlack)) break;
    const ModuliCandidate& c = candidate(spread_evenly(w.primes, w.most), w.spread);
    if (feasible(c)) {
      cheapest_feasible = std::min(cheapest_feasible, c.expected_bits);
      worth_a_closer_look.push_back(&w);
    } else if (options.explore) {
      worth_a_closer_look.push_back(&w);
    }
  }
  // Within a window, inflation falls as l grows: binary search for the fewest primes that
  // meet the bound, which maps the window's trade-off and finds cheaper decodes.
  if (!options.ell) {
    for (const Window* w : worth_a_closer_look) {
      uint32_t low = 2, high = w->most;
      if (!feasible(candidate(spread_evenly(w->primes, high), w->spread))) continue;
      while (low < high) {
        const uint32_t mid = (low + high) / 2;
        if (feasible(candidate(spread_evenly(w->primes, mid), w->spread))) {
          high = mid;
        } else {
          low = mid + 1;
        }
      }
    }
  }
  // Among feasible candidates whose bits are within kBitsSlack of the fewest, the fewest
  // moduli (cheaper decode) whose inflation is within kInflationSlack of the best of them.
  // Confirmed with an exact trace where k allows; one that then misses the bound gives way.
  std::vector<ModuliCandidate> pool;
  for (const ModuliCandidate& c : choice.searched) {
    if (feasible(c)) pool.push_back(c);
  }
  while (!pool.empty()) {
    double fewest_bits = std::numeric_limits<double>::infinity();
    for (const ModuliCandidate& c : pool) fewest_bits = std::min(fewest_bits, c.expected_bits);
    double best = std::numeric_limits<double>::infinity();
    for (const ModuliCandidate& c : pool) {
      if (c.expected_bits <= fewest_bits * (1 + kBitsSlack)) best = std::min(best, c.inflation);
    }
    auto pick = pool.end();
    for (auto it = pool.begin(); it != pool.end(); ++it) {
      if (it->expected_bits > fewest_bits * (1 + kBitsSlack) ||
          it->inflation > best * (1 + kInflationSlack)) {
        continue;
      }
      if (pick == pool.end() || it->moduli.size() < pick->moduli.size() ||
          (it->moduli.size() == pick->moduli.size() && it->inflation < pick->inflation)) {
        pick = it;
      }
    }
    ModuliCandidate confirmed =
        evaluate_moduli(k, epsilon, pick->moduli, pick->subset_sizes, options);
    confirmed.spread = pick->spread;
    if (feasible(confirmed)) {
      choice.chosen = std::move(confirmed);
      return choice;
    }
    pool.erase(pick);
  }
  if (choice.searched.empty())
    throw Error("no valid moduli found for k = " + std::to_string(k) + "; use ss.");
  const auto least = std::min_element(
      choice.searched.begin(), choice.searched.end(),
      [](const ModuliCandidate& a, const ModuliCandidate& b) { return a.inflation < b.inflation; });
  choice.chosen = evaluate_moduli(k, epsilon, least->moduli, least->subset_sizes, options);
  choice.chosen.spread = least->spread;
  choice.meets_bound = false;
  return choice;
}

}  // namespace residue

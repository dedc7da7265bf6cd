#include "residue/memory/memory_tuning.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>
#include <thread>

#include "residue/core/error.h"

namespace residue {
namespace {

struct GridPoint {
  uint32_t neighbours;
  double temperature;
};

struct Best {
  double log_likelihood = -INFINITY;
  MemoryHyper hyper;
};

/// p_mem(target) of every position for one (K, T, alpha): the K nearest rows' smoothed
/// counts of the target, weighted. `target_counts` holds each position's neighbours' counts of
/// its target and `totals` their row totals (both positions x neighbours).
void memory_probabilities(const ScoredPositions& pos, std::span<const double> weights, uint32_t k,
                          std::span<const double> target_counts, std::span<const double> totals,
                          double alpha, std::span<double> out) {
  const double tokens = pos.tokens;
  const uint32_t stride = pos.neighbours;
  for (std::size_t i = 0; i < pos.size(); ++i) {
    double p = 0;
    for (uint32_t j = 0; j < k; ++j) {
      const double denominator = totals[i * stride + j] + alpha * tokens;
      const double pj =
          denominator > 0 ? (target_counts[i * stride + j] + alpha) / denominator : 1 / tokens;
      p += weights[i * k + j] * pj;
    }
    out[i] = p;
  }
}

double log_likelihood(std::span<const double> p_mem, std::span<const double> p_lm, double lambda) {
  double sum = 0;
  for (std::size_t i = 0; i < p_mem.size(); ++i) {
    sum += std::log(lambda * p_mem[i] + (1 - lambda) * p_lm[i]);
  }
  return sum;
}

/// The best lambda for one p_mem vector. The log-likelihood is concave in lambda, so on the
/// ascending grid the scan stops once it falls.
Best best_lambda(std::span<const double> p_mem, std::span<const double> p_lm,
                 std::span<const double> lambdas, MemoryHyper hyper) {
  Best best;
  for (double lambda : lambdas) {
    const double ll = log_likelihood(p_mem, p_lm, lambda);
    if (ll > best.log_likelihood) {
      best.log_likelihood = ll;
      hyper.lambda = lambda;
      best.hyper = hyper;
    } else {
      break;
    }
  }
  return best;
}

/// Each position's neighbours' counts of its target and their row totals (kCells), or the
/// single row's (kUnigram: stride 1).
void gather(const MemoryArm& arm, const ScoredPositions& pos, std::vector<double>& target_counts,
            std::vector<double>& totals) {
  const uint32_t tokens = pos.tokens;
  const std::size_t rows = arm.counts.size() / tokens;
  std::vector<double> row_totals(rows, 0.0);
  for (std::size_t r = 0; r < rows; ++r) {
    for (uint32_t t = 0; t < tokens; ++t) row_totals[r] += arm.counts[r * tokens + t];
  }
  const uint32_t stride = pos.neighbours;
  target_counts.assign(pos.size() * stride, 0.0);
  totals.assign(pos.size() * stride, 0.0);
  for (std::size_t i = 0; i < pos.size(); ++i) {
    for (uint32_t j = 0; j < stride; ++j) {
      const uint32_t row = arm.kind == ArmKind::kCells ? pos.cells[i * stride + j] : 0;
      target_counts[i * stride + j] = arm.counts[std::size_t{row} * tokens + pos.targets[i]];
      totals[i * stride + j] = row_totals[row];
    }
  }
}

void check_arm(const MemoryArm& arm, const ScoredPositions& pos) {
  if (pos.size() == 0) throw Error("memory_tuning: no positions to score.");
  if (pos.tokens == 0) throw Error("memory_tuning: the positions have no tokens.");
  const std::size_t rows = arm.counts.size() / pos.tokens;
  const bool table = arm.kind == ArmKind::kCells || arm.kind == ArmKind::kUnigram;
  if (table && (arm.counts.size() % pos.tokens != 0 || rows == 0 ||
                (arm.kind == ArmKind::kUnigram && rows != 1))) {
    throw Error("memory_tuning: arm \"" + arm.name + "\" has " + std::to_string(arm.counts.size()) +
                " counts, not rows of " + std::to_string(pos.tokens) + " tokens.");
  }
  if (arm.kind == ArmKind::kCells) {
    for (uint32_t c : pos.cells) {
      if (c >= rows) {
        throw Error("memory_tuning: a position's cell " + std::to_string(c) + " is not among the " +
                    std::to_string(rows) + " rows of arm \"" + arm.name + "\".");
      }
    }
  }
}

}  // namespace

ScoredPositions score_positions(const Positions& positions, const KneserNey& lm,
                                const MemoryDecoder& decoder, uint32_t neighbours) {
  if (neighbours == 0 || neighbours > decoder.cells()) {
    throw Error("memory_tuning: neighbours must be in [1, " + std::to_string(decoder.cells()) +
                "], but is " + std::to_string(neighbours) + ".");
  }
  if (lm.vocab_size() != decoder.tokens()) {
    throw Error("memory_tuning: the LM has " + std::to_string(lm.vocab_size()) +
                " tokens, the memory " + std::to_string(decoder.tokens()) + ".");
  }
  ScoredPositions out;
  out.tokens = decoder.tokens();
  out.neighbours = neighbours;
  out.targets = positions.tokens;
  out.p_lm.resize(positions.size());
  for (std::size_t i = 0; i < positions.size(); ++i) {
    out.p_lm[i] = lm.probability(positions.tokens[i], positions.prev2[i], positions.prev1[i]);
  }
  Neighbours nn = decoder.search(positions.keys, neighbours);
  out.cells = std::move(nn.cells);
  out.distances = std::move(nn.distances);
  return out;
}

TuningGrid TuningGrid::defaults() {
  TuningGrid g;
  g.neighbours = {1, 2, 4, 8, 16};
  g.temperatures = {0.01, 0.03, 0.1, 0.3, 1};
  for (int e = -2; e <= 14; ++e) g.alphas.push_back(std::pow(10.0, e / 2.0));
  g.lambdas = {0, 0.02, 0.05};
  for (int l = 1; l <= 18; ++l) g.lambdas.push_back(0.05 * l);  // 0.05 is already listed
  g.lambdas.erase(std::unique(g.lambdas.begin(), g.lambdas.end(),
                              [](double a, double b) { return std::abs(a - b) < 1e-12; }),
                  g.lambdas.end());
  return g;
}

ArmScore score_arm(const MemoryArm& arm, const ScoredPositions& pos, uint32_t unknown) {
  check_arm(arm, pos);
  const MemoryHyper& h = arm.hyper;
  std::vector<double> p_mem(pos.size(), 1.0 / pos.tokens);
  if (arm.kind == ArmKind::kCells || arm.kind == ArmKind::kUnigram) {
    const uint32_t k = arm.kind == ArmKind::kCells ? h.neighbours : 1;
    if (k > pos.neighbours) {
      throw Error("memory_tuning: arm \"" + arm.name + "\" reads " + std::to_string(k) +
                  " cells, but only " + std::to_string(pos.neighbours) + " were searched.");
    }
    std::vector<double> target_counts, totals;
    gather(arm, pos, target_counts, totals);
    std::vector<double> weights(pos.size() * k, 1.0);
    if (arm.kind == ArmKind::kCells) {
      for (std::size_t i = 0; i < pos.size(); ++i) {
        MemoryDecoder::neighbour_weights(
            std::span<const float>(pos.distances).subspan(i * pos.neighbours, k), h.temperature,
            std::span<double>(weights).subspan(i * k, k));
      }
    }
    memory_probabilities(pos, weights, k, target_counts, totals, h.alpha, p_mem);
  }
  const double lambda = arm.kind == ArmKind::kBase ? 0.0 : h.lambda;
  ArmScore s;
  double all = 0, known = 0;
  for (std::size_t i = 0; i < pos.size(); ++i) {
    const double lp = std::log(lambda * p_mem[i] + (1 - lambda) * pos.p_lm[i]);
    all += lp;
    ++s.positions;
    if (pos.targets[i] != unknown) {
      known += lp;
      ++s.known_positions;
    }
  }
  s.perplexity = std::exp(-all / static_cast<double>(s.positions));
  s.perplexity_known =
      s.known_positions > 0 ? std::exp(-known / static_cast<double>(s.known_positions)) : 0.0;
  return s;
}

void tune_arm(MemoryArm& arm, const ScoredPositions& pos, const TuningGrid& grid,
              unsigned threads) {
  check_arm(arm, pos);
  std::vector<double> lambdas = grid.lambdas;
  std::sort(lambdas.begin(), lambdas.end());
  if (lambdas.empty() || lambdas.front() != 0 || lambdas.back() > 1) {
    throw Error("memory_tuning: the lambda grid must include 0 and stay in [0, 1].");
  }
  const double n = static_cast<double>(pos.size());
  if (arm.kind == ArmKind::kBase) {
    arm.hyper = MemoryHyper{};
    const std::vector<double> zeros(pos.size(), 0.0);
    arm.tuning_perplexity = std::exp(-log_likelihood(zeros, pos.p_lm, 0.0) / n);
    return;
  }
  if (arm.kind == ArmKind::kUniform) {
    const std::vector<double> uniform(pos.size(), 1.0 / pos.tokens);
    const Best b = best_lambda(uniform, pos.p_lm, lambdas, MemoryHyper{});
    arm.hyper = b.hyper;
    arm.tuning_perplexity = std::exp(-b.log_likelihood / n);
    return;
  }
  if (grid.alphas.empty()) throw Error("memory_tuning: the alpha grid is empty.");
  for (double a : grid.alphas) {
    if (!(a >= 0)) throw Error("memory_tuning: alpha must be non-negative.");
  }
  std::vector<GridPoint> points;
  if (arm.kind == ArmKind::kUnigram) {
    points.push_back({1, 1.0});
  } else {
    for (uint32_t k : grid.neighbours) {
      if (k == 0 || k > pos.neighbours) continue;
      for (double t : grid.temperatures) {
        if (!(t > 0)) throw Error("memory_tuning: temperatures must be positive.");
        points.push_back({k, t});
      }
    }
  }
  if (points.empty()) throw Error("memory_tuning: no (K, T) of the grid fits the positions.");

  std::vector<double> target_counts, totals;
  gather(arm, pos, target_counts, totals);
  // One result per (K, T) point, each computed by one worker: the choice is the same for any
  // number of threads.
  std::vector<Best> results(points.size());
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    std::vector<double> weights, p_mem(pos.size());
    for (std::size_t p = next++; p < points.size(); p = next++) {
      const uint32_t k = points[p].neighbours;
      weights.assign(pos.size() * k, 1.0);
      if (arm.kind == ArmKind::kCells) {
        for (std::size_t i = 0; i < pos.size(); ++i) {
          MemoryDecoder::neighbour_weights(
              std::span<const float>(pos.distances).subspan(i * pos.neighbours, k),
              points[p].temperature, std::span<double>(weights).subspan(i * k, k));
        }
      }
      for (double alpha : grid.alphas) {
        memory_probabilities(pos, weights, k, target_counts, totals, alpha, p_mem);
        const Best b =
            best_lambda(p_mem, pos.p_lm, lambdas, MemoryHyper{k, points[p].temperature, alpha, 0});
        if (b.log_likelihood > results[p].log_likelihood) results[p] = b;
      }
    }
  };
  unsigned workers = threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
  workers = static_cast<unsigned>(std::min<std::size_t>(workers, points.size()));
  std::vector<std::thread> pool;
  for (unsigned w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();

  Best best;
  for (const Best& b : results) {
    if (b.log_likelihood > best.log_likelihood) best = b;
  }
  arm.hyper = best.hyper;
  arm.tuning_perplexity = std::exp(-best.log_likelihood / n);
}

}  // namespace residue

#include "experiments/index_bench.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>
#include <unordered_set>

#include "residue/core/error.h"
#include "residue/core/stopwatch.h"
#include "residue/random/seeded_rng.h"
#include "residue/search/threads.h"

namespace residue {
namespace {

double gaussian(Rng& rng) {
  const double u = 1.0 - rng.uniform01();  // (0, 1]: the logarithm stays finite
  return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * std::numbers::pi * rng.uniform01());
}

// n points of the mixture, row-major n x d.
std::vector<float> mixture(const std::vector<float>& centres, std::size_t clusters, std::size_t n,
                           std::size_t d, double sigma, VocabMetric metric, Rng& rng) {
  std::vector<float> x(n * d);
  for (std::size_t i = 0; i < n; ++i) {
    const float* c = centres.data() + rng.uniform(clusters) * d;
    float* v = x.data() + i * d;
    double norm = 0;
    for (std::size_t j = 0; j < d; ++j) {
      v[j] = c[j] + static_cast<float>(sigma * gaussian(rng));
      norm += double{v[j]} * v[j];
    }
    if (metric == VocabMetric::kInnerProduct && norm > 0)
      for (std::size_t j = 0; j < d; ++j) v[j] = static_cast<float>(v[j] / std::sqrt(norm));
  }
  return x;
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const auto at = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  return v[std::min(at, v.size() - 1)];
}

struct Latency {
  double p50, p99, mean;
  std::size_t count;
};

// Times `count` single-query searches; collects each query's ids into `ids` (count x top).
Latency time_queries(const DynamicVocab& vocab, const std::vector<float>& queries,
                     std::size_t count, std::size_t top, std::vector<std::vector<int64_t>>* ids) {
  const auto d = static_cast<std::size_t>(vocab.dim());
  std::vector<double> ms;
  ms.reserve(count);
  if (ids) ids->assign(count, {});
  for (std::size_t q = 0; q < count; ++q) {
    const auto start = Clock::now();
    const std::vector<VocabHit> hits =
        vocab.search(std::span<const float>(queries.data() + q * d, d), top);
    ms.push_back(seconds_since(start) * 1e3);
    if (ids)
      for (const VocabHit& h : hits) (*ids)[q].push_back(h.id);
  }
  double sum = 0;
  for (double m : ms) sum += m;
  return {quantile(ms, 0.5), quantile(ms, 0.99), sum / static_cast<double>(count), count};
}

double recall(const std::vector<std::vector<int64_t>>& got,
              const std::vector<std::vector<int64_t>>& truth, std::size_t top) {
  double sum = 0;
  for (std::size_t q = 0; q < got.size(); ++q) {
    const std::unordered_set<int64_t> want(truth[q].begin(), truth[q].end());
    std::size_t found = 0;
    for (int64_t id : got[q]) found += want.count(id);
    sum += static_cast<double>(found) / static_cast<double>(top);
  }
  return sum / static_cast<double>(got.size());
}

}  // namespace

IndexBenchResult run_index_bench(const IndexBenchOptions& o,
                                 const std::function<void(std::string_view)>& progress) {
  if (o.dim < 1)
    throw Error("index bench: dim must be at least 1, but is " + std::to_string(o.dim) + ".");
  if (o.top < 1 || o.entries < o.top)
    throw Error("index bench: entries (" + std::to_string(o.entries) + ") must be at least top (" +
                std::to_string(o.top) + ") >= 1.");
  if (o.queries < 1) throw Error("index bench: queries must be at least 1.");
  auto say = [&](const std::string& line) {
    if (progress) progress(line);
  };
  const int build_threads = o.build_threads > 0 ? o.build_threads : omp_get_num_procs();
  const auto d = static_cast<std::size_t>(o.dim);
  const std::size_t n = o.entries;

  IndexBenchResult result;
  result.options = o;
  result.clusters =
      o.clusters != 0
          ? o.clusters
          : std::max<std::size_t>(
                1, static_cast<std::size_t>(std::lround(std::sqrt(static_cast<double>(n)))));

  auto start = Clock::now();
  SeededRng rng(o.seed);
  std::vector<float> centres(result.clusters * d);
  for (float& c : centres) c = static_cast<float>(gaussian(rng));
  SeededRng base_rng(o.seed, 1), query_rng(o.seed, 2);
  const std::vector<float> base =
      mixture(centres, result.clusters, n, d, o.sigma, o.metric, base_rng);
  const std::vector<float> queries =
      mixture(centres, result.clusters, o.queries, d, o.sigma, o.metric, query_rng);
  std::vector<int64_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<int64_t>(i);
  result.data_seconds = seconds_since(start);
  say("data: " + std::to_string(n) + " x " + std::to_string(d) + " in " +
      std::to_string(result.data_seconds) + " s");

  auto options_for = [&](VocabIndexKind kind) {
    DynamicVocabOptions v{.dim = o.dim, .metric = o.metric, .kind = kind};
    v.ivf_train_min = 1;  // train on everything at once
    v.hnsw_m = o.hnsw_m;
    v.ef_construction = o.ef_construction;
    return v;
  };
  auto build = [&](const DynamicVocabOptions& v, IndexBenchRow& row) {
    set_search_threads(build_threads);
    const auto t = Clock::now();
    DynamicVocab vocab(v);
    vocab.add(ids, base);
    row.build_seconds = seconds_since(t);
    row.build_threads = build_threads;
    row.index_bytes = vocab.serialized_bytes();
    return vocab;
  };

  // Exact: the reference for recall (batched, all threads) and the latency baseline.
  std::vector<std::vector<int64_t>> truth;
  {
    IndexBenchRow row{.kind = "exact"};
    DynamicVocab exact = build(options_for(VocabIndexKind::kExact), row);
    start = Clock::now();
    for (const std::vector<VocabHit>& hits : exact.search_batch(queries, o.top)) {
      truth.emplace_back();
      for (const VocabHit& h : hits) truth.back().push_back(h.id);
    }
    result.ground_truth_seconds = seconds_since(start);
    set_search_threads(1);
    const std::size_t count =
        o.exact_latency_queries != 0 ? std::min(o.exact_latency_queries, o.queries) : o.queries;
    std::vector<std::vector<int64_t>> got;
    const Latency l = time_queries(exact, queries, count, o.top, &got);
    row.latency_queries = l.count;
    row.p50_ms = l.p50;
    row.p99_ms = l.p99;
    row.mean_ms = l.mean;
    // 1 unless single and batched exact search disagree (ties, or float summation order).
    row.recall =
        recall(got, {truth.begin(), truth.begin() + static_cast<std::ptrdiff_t>(count)}, o.top);
    result.rows.push_back(row);
    say("exact: p50 " + std::to_string(l.p50) + " ms");
  }

  auto measure = [&](const DynamicVocab& vocab, IndexBenchRow row) {
    set_search_threads(1);
    std::vector<std::vector<int64_t>> got;
    const Latency l = time_queries(vocab, queries, o.queries, o.top, &got);
    row.latency_queries = l.count;
    row.p50_ms = l.p50;
    row.p99_ms = l.p99;
    row.mean_ms = l.mean;
    row.recall = recall(got, truth, o.top);
    say(row.kind + " " + row.setting + ": p50 " + std::to_string(l.p50) + " ms, recall " +
        std::to_string(row.recall));
    result.rows.push_back(row);
  };

  if (o.ivf) {
    for (std::size_t lists : o.ivf_lists) {
      DynamicVocabOptions v = options_for(VocabIndexKind::kIvf);
      v.ivf_lists = lists;
      IndexBenchRow row{.kind = "ivf"};
      DynamicVocab vocab = build(v, row);
      const std::size_t used = lists != 0 ? lists : ivf_lists_for(n);
      say("ivf lists=" + std::to_string(used) + " built in " + std::to_string(row.build_seconds) +
          " s");
      for (std::size_t nprobe : o.nprobes) {
        if (nprobe > used) continue;
        vocab.set_nprobe(nprobe);
        IndexBenchRow r = row;
        r.setting = "nprobe=" + std::to_string(nprobe) + " lists=" + std::to_string(used);
        measure(vocab, r);
      }
    }
  }
  if (o.hnsw) {
    IndexBenchRow row{.kind = "hnsw"};
    DynamicVocab vocab = build(options_for(VocabIndexKind::kHnsw), row);
    say("hnsw built in " + std::to_string(row.build_seconds) + " s");
    for (int ef : o.ef_searches) {
      vocab.set_ef_search(ef);
      IndexBenchRow r = row;
      r.setting = "efSearch=" + std::to_string(ef) + " M=" + std::to_string(o.hnsw_m) +
                  " efConstruction=" + std::to_string(o.ef_construction);
      measure(vocab, r);
    }
  }
  set_search_threads(1);
  return result;
}

nlohmann::json index_bench_json(const IndexBenchResult& r) {
  const IndexBenchOptions& o = r.options;
  nlohmann::json rows = nlohmann::json::array();
  const IndexBenchRow& exact = r.rows.front();
  for (const IndexBenchRow& row : r.rows)
    rows.push_back({{"kind", row.kind},
                    {"setting", row.setting},
                    {"build_seconds", row.build_seconds},
                    {"build_threads", row.build_threads},
                    {"index_bytes", row.index_bytes},
                    {"latency_queries", row.latency_queries},
                    {"p50_ms", row.p50_ms},
                    {"p99_ms", row.p99_ms},
                    {"mean_ms", row.mean_ms},
                    {"speedup_p50_vs_exact", exact.p50_ms / row.p50_ms},
                    {"recall_at_top", row.recall}});
  return {{"entries", o.entries},
          {"dim", o.dim},
          {"queries", o.queries},
          {"top", o.top},
          {"metric", std::string(to_string(o.metric))},
          {"clusters", r.clusters},
          {"sigma", o.sigma},
          {"seed", o.seed},
          {"data_seconds", r.data_seconds},
          {"ground_truth_seconds", r.ground_truth_seconds},
          {"rows", rows}};
}

}  // namespace residue

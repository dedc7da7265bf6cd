// The DynamicVocab index benchmark behind `residue vocab bench` and bench/vocab_index_bench:
// a synthetic index of N clustered Gaussian vectors (fixed seed), and for each structure
// (exact, IVF at several nprobe, HNSW at several efSearch) its build time, footprint, the
// latency of single queries on one thread (p50/p99) and recall@top against exact search.
//
// The data are `clusters` centres drawn from N(0, I) with points N(centre, sigma^2 I) around
// them; queries are fresh draws from the same mixture. Clustered data are easier for IVF and
// HNSW than uniform noise, so recall here is an upper bound for real embeddings.
//
//   IndexBenchResult r = run_index_bench({.entries = 1'000'000, .dim = 64});
//   std::cout << index_bench_json(r).dump(2);
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "residue/vocab/dynamic_vocab.h"

namespace residue {

struct IndexBenchOptions {
  std::size_t entries = 100'000;
  int dim = 64;
  std::size_t queries = 1000;
  std::size_t clusters = 0;  ///< 0: round(sqrt(entries))
  double sigma = 0.3;
  VocabMetric metric = VocabMetric::kL2;  ///< kInnerProduct normalizes every vector
  uint64_t seed = 1;
  std::size_t top = 10;
  int build_threads = 0;  ///< threads for building and ground truth; 0: all cores
  bool ivf = true;
  bool hnsw = true;
  std::vector<std::size_t> ivf_lists = {0};  ///< 0: ivf_lists_for(entries)
  std::vector<std::size_t> nprobes = {1, 4, 8, 16, 32, 64};
  int hnsw_m = 32;
  int ef_construction = 40;
  std::vector<int> ef_searches = {16, 32, 64, 128};
  /// Single exact queries timed (they cost ~N * dim flops each); 0: all queries.
  std::size_t exact_latency_queries = 0;
};

struct IndexBenchRow {
  std::string kind;     ///< "exact", "ivf" or "hnsw"
  std::string setting;  ///< "nprobe=16 lists=4096", "efSearch=64 M=32", ""
  double build_seconds = 0;
  int build_threads = 1;
  std::size_t index_bytes = 0;  ///< serialized size: vectors, ids, graph or lists
  std::size_t latency_queries = 0;
  double p50_ms = 0, p99_ms = 0, mean_ms = 0;  ///< single queries, one thread
  double recall = 0;                           ///< mean |top ∩ exact top| / top
};

struct IndexBenchResult {
  IndexBenchOptions options;
  std::size_t clusters = 0;
  double data_seconds = 0;
  double ground_truth_seconds = 0;  ///< batched exact search of all queries
  std::vector<IndexBenchRow> rows;  ///< exact first
};

/// Runs the benchmark; `progress` (may be empty) receives one line per finished step.
/// Sets FAISS's threads (set_search_threads) and leaves them at one.
/// Throws Error on invalid options (entries < top, dim < 1, queries 0).
IndexBenchResult run_index_bench(const IndexBenchOptions& options,
                                 const std::function<void(std::string_view)>& progress = {});

nlohmann::json index_bench_json(const IndexBenchResult& result);

}  // namespace residue

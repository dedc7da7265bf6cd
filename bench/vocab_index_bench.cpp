// DynamicVocab's index structures against exact search, measured in one run: build time,
// footprint, single-query latency on one thread (p50/p99) and recall@10, for IVF at several
// nprobe and HNSW at several efSearch. Every figure is printed beside its ratio to exact search
// from the same process. The library function (experiments/index_bench.h) is also behind
// `residue vocab bench`.
//
//   residue_vocab_bench [--entries N] [--dim D] [--queries Q] [--metric l2|ip]
//                       [--clusters C] [--sigma S] [--lists L1,L2] [--no-hnsw] [--no-ivf]
//                       [--json] [--smoke]
//   (default: 100,000 x 64, 1000 queries, L2, sqrt(N) clusters, sigma 0.3)
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>

#include "experiments/index_bench.h"
#include "output.h"
#include "residue/core/error.h"

namespace residue {
namespace {

std::size_t to_size(const char* flag, const char* value) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(value, &end, 10);
  if (end == value || *end != '\0')
    throw Error(std::string(flag) + " takes a number, not '" + value + "'.");
  return static_cast<std::size_t>(v);
}

void print_table(const IndexBenchResult& r) {
  const IndexBenchOptions& o = r.options;
  std::cout << "## Vocabulary index: " << o.entries << " x " << o.dim << ", " << to_string(o.metric)
            << ", " << r.clusters << " clusters (sigma " << o.sigma << "), " << o.queries
            << " single queries on one thread, recall@" << o.top << " against exact search\n\n";
  const IndexBenchRow& exact = r.rows.front();
  Table t({"index", "setting", "build s", "build threads", "MB", "MB / exact", "p50 ms", "p99 ms",
           "exact p50 / p50", "recall@" + std::to_string(o.top)});
  for (const IndexBenchRow& row : r.rows) {
    const double mb = static_cast<double>(row.index_bytes) / 1e6;
    t.add({row.kind, row.setting.empty() ? "-" : row.setting, format_number(row.build_seconds, 3),
           std::to_string(row.build_threads), format_number(mb, 4),
           format_number(mb / (static_cast<double>(exact.index_bytes) / 1e6), 3),
           format_number(row.p50_ms, 3), format_number(row.p99_ms, 3),
           format_number(exact.p50_ms / row.p50_ms, 3), format_number(row.recall, 4)});
  }
  t.print(std::cout);
  std::cout << "\ndata " << format_number(r.data_seconds, 3) << " s, batched exact ground truth "
            << format_number(r.ground_truth_seconds, 3) << " s\n";
}

}  // namespace
}  // namespace residue

int main(int argc, char** argv) {
  using namespace residue;
  IndexBenchOptions o;
  bool json = false;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      auto value = [&]() -> const char* {
        if (i + 1 >= argc) throw Error(arg + " needs a value.");
        return argv[++i];
      };
      if (arg == "--smoke") {
        o.entries = 5000;
        o.dim = 16;
        o.queries = 100;
        o.nprobes = {1, 8};
        o.ef_searches = {16, 64};
      } else if (arg == "--entries") {
        o.entries = to_size("--entries", value());
      } else if (arg == "--dim") {
        o.dim = static_cast<int>(to_size("--dim", value()));
      } else if (arg == "--queries") {
        o.queries = to_size("--queries", value());
      } else if (arg == "--clusters") {
        o.clusters = to_size("--clusters", value());
      } else if (arg == "--sigma") {
        o.sigma = std::strtod(value(), nullptr);
        if (!(o.sigma > 0)) throw Error("--sigma must be positive.");
      } else if (arg == "--metric") {
        o.metric = parse_vocab_metric(value());
      } else if (arg == "--lists") {
        o.ivf_lists.clear();
        std::stringstream list(value());
        for (std::string item; std::getline(list, item, ',');)
          o.ivf_lists.push_back(to_size("--lists", item.c_str()));
      } else if (arg == "--no-hnsw") {
        o.hnsw = false;
      } else if (arg == "--no-ivf") {
        o.ivf = false;
      } else if (arg == "--json") {
        json = true;
      } else {
        throw Error("unknown argument '" + arg + "'.");
      }
    }
    const IndexBenchResult r =
        run_index_bench(o, [](std::string_view line) { std::cerr << line << "\n"; });
    if (json) {
      std::cout << index_bench_json(r).dump(2) << "\n";
    } else {
      print_table(r);
    }
  } catch (const Error& e) {
    std::cerr << "residue_vocab_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

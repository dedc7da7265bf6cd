// Every protocol against MSS, measured in one run (docs/results.md):
//   paper   the MSS paper's setting: k in {1024, 22000}, n = 10,000, eps in
//           {0.5, 1, 2, 3, 4, 4.5, 5}: MSE of MSS over SS and over PGR, bits, decode time of
//           MSS against PGR.
//   large   k = 10^6, n = 10^6, eps = 2: time and peak memory of each protocol run alone in a
//           child process; protocols whose projected run exceeds 10 minutes are skipped with
//           the projection and the reason.
//   residue_protocols_bench [paper] [large] [--smoke]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <iostream>
#include <map>
#include <string>

#include "data.h"
#include "output.h"
#include "residue/core/error.h"
#include "residue/core/stopwatch.h"
#include "residue/protocols/registry.h"
#include "residue/random/seeded_rng.h"
#include "sections.h"
#include "simulation.h"

namespace residue {
namespace {

void paper(bool smoke) {
  std::cout << "## The MSS paper's setting (Zipf(1.1), n = 10,000)\n\n";
  Table t({"k", "eps", "trials", "mss/ss mse", "mss/pgr mse", "mss bits", "ss bits", "pgr bits",
           "mss decode ms", "pgr decode ms", "pgr/mss decode"});
  const std::vector<uint32_t> ks =
      smoke ? std::vector<uint32_t>{300} : std::vector<uint32_t>{1024, 22000};
  const std::vector<double> epsilons =
      smoke ? std::vector<double>{1, 4.5} : std::vector<double>{0.5, 1, 2, 3, 4, 4.5, 5};
  for (uint32_t k : ks) {
    const Distribution data = load_distribution("zipf:1.1", k);
    for (double eps : epsilons) {
      std::vector<Protocol> p;
      for (const char* name : {"mss", "ss", "pgr"}) {
        p.push_back(make_protocol(complete_params({.protocol = name, .k = k, .epsilon = eps})));
      }
      const uint32_t trials = smoke ? 1 : (k > 5000 ? 10 : 30);
      const std::vector<ProtocolResult> r = run_simulation(
          {.k = k, .epsilon = eps, .n = 10000, .trials = trials, .seed = 1}, data, p);
      t.add({std::to_string(k), format_number(eps, 2), std::to_string(trials),
             format_number(r[0].mse / r[1].mse, 3), format_number(r[0].mse / r[2].mse, 3),
             format_number(r[0].bits_mean, 5), format_number(r[1].bits_mean, 5),
             format_number(r[2].bits_mean, 5), format_number(r[0].decode_ms),
             format_number(r[2].decode_ms), format_number(r[2].decode_ms / r[0].decode_ms, 3)});
    }
  }
  t.print(std::cout);
  std::cout << "\n";
}

struct LargeRun {
  double encode_s = 0, tally_s = 0, decode_s = 0, mse = 0, mse_theory = 0;
  double tally_mib = 0;
};

// One protocol at k, n: encode (SeededRng), batch tally, decode; in the calling process.
LargeRun run_large(const Protocol& p, const Distribution& data, uint64_t n) {
  LargeRun out;
  SeededRng rng(3);
  Tally tally = p.new_tally();
  std::vector<Report> chunk(reports_per_chunk(p.shape(), n));
  std::vector<double> truth(p.params().k, 0.0);
  for (uint64_t start = 0; start < n; start += chunk.size()) {
    const std::size_t count = static_cast<std::size_t>(std::min<uint64_t>(chunk.size(), n - start));
    const std::vector<uint32_t> values = data.sample(count, rng);
    const auto t0 = Clock::now();
    for (std::size_t c = 0; c < count; ++c) p.encoder().encode(values[c], rng, chunk[c]);
    out.encode_s += seconds_since(t0);
    const auto t1 = Clock::now();
    tally.add(std::span<const Report>(chunk.data(), count));
    out.tally_s += seconds_since(t1);
    for (uint32_t v : values) truth[v] += 1.0 / static_cast<double>(n);
  }
  for (std::size_t j = 0; j < tally.block_count(); ++j) {
    out.tally_mib += tally.universe(static_cast<uint32_t>(j)) * 8.0 / (1 << 20);
  }
  const auto d0 = Clock::now();
  const Estimate e = p.estimator().estimate(tally);
  out.decode_s = seconds_since(d0);
  out.mse = mean_squared_error(e.frequencies, truth);
  return out;
}

// Seconds the client side would take for n reports, from a pilot of a few hundred.
double projected_seconds(const Protocol& p, const Distribution& data, uint64_t n) {
  const uint64_t pilot = 200;
  SeededRng rng(4);
  Report r;
  const std::vector<uint32_t> values = data.sample(pilot, rng);
  const auto start = Clock::now();
  std::size_t positions = 0;
  for (uint32_t v : values) {
    p.encoder().encode(v, rng, r);
    positions += r.items.size();
  }
  // Encoding plus about as long again to tally the same positions.
  return 2 * seconds_since(start) * static_cast<double>(n) / pilot +
         1e-9 * static_cast<double>(positions);
}

void large(bool smoke) {
  const uint32_t k = smoke ? 5000 : 1000000;
  const uint64_t n = smoke ? 5000 : 1000000;
  const double eps = 2;
  const double budget_s = 600;
  std::cout << "## Large domain: k = " << k << ", n = " << n << ", eps = " << eps
            << " (Zipf(1.1); each protocol alone in a child process)\n\n";
  Table t({"protocol", "positions/report", "encode s", "tally s", "decode s", "tally MiB",
           "peak RSS MiB", "mse / theory", "note"});
  const Distribution data = load_distribution("zipf:1.1", k);
  for (const ProtocolInfo& info : registered_protocols()) {
    const auto build_start = Clock::now();
    const Protocol p = make_protocol(
        complete_params({.protocol = std::string(info.name), .k = k, .epsilon = eps}));
    const double build_s = seconds_since(build_start);
    const double projected = projected_seconds(p, data, n);
    SeededRng probe(5);
    const double positions = static_cast<double>(p.encoder().encode(0, probe).items.size());
    if (projected > budget_s) {
      t.add({std::string(info.name), format_number(positions), "-", "-", "-", "-", "-", "-",
             "skipped: projected " + format_number(projected / 60, 2) + " min, reports of ~" +
                 format_number(positions, 3) + " positions"});
      continue;
    }
    int pipe_fd[2];
    if (pipe(pipe_fd) != 0) throw Error("bench: pipe failed.");
    const pid_t child = fork();
    if (child == 0) {
      close(pipe_fd[0]);
      alarm(static_cast<unsigned>(budget_s));  // the decode is not in the projection
      const LargeRun r = run_large(p, data, n);
      const double theory = p.estimator().mean_variance(data.probabilities(), n);
      const double values[] = {r.encode_s, r.tally_s, r.decode_s, r.tally_mib, r.mse / theory};
      [[maybe_unused]] const ssize_t written = write(pipe_fd[1], values, sizeof(values));
      _exit(0);
    }
    close(pipe_fd[1]);
    double values[5] = {};
    const ssize_t got = read(pipe_fd[0], values, sizeof(values));
    close(pipe_fd[0]);
    int status = 0;
    struct rusage usage {};
    wait4(child, &status, 0, &usage);
    if (got != static_cast<ssize_t>(sizeof(values))) {
      const bool timed_out = WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM;
      t.add(
          {std::string(info.name), format_number(positions), "-", "-", "-", "-",
           format_number(static_cast<double>(usage.ru_maxrss) / 1024, 3), "-",
           timed_out ? "did not finish in " + format_number(budget_s / 60, 2) + " min" : "failed"});
      continue;
    }
    t.add({std::string(info.name), format_number(positions), format_number(values[0], 3),
           format_number(values[1], 3), format_number(values[2], 3), format_number(values[3], 3),
           format_number(static_cast<double>(usage.ru_maxrss) / 1024, 3),
           format_number(values[4], 3),
           build_s > 1 ? "parameters " + format_number(build_s, 2) + " s" : ""});
  }
  t.print(std::cout);
  std::cout << "\n";
}

}  // namespace
}  // namespace residue

int main(int argc, char** argv) {
  return residue::run_sections("residue_protocols_bench", argc, argv,
                               {{"paper", residue::paper}, {"large", residue::large}});
}

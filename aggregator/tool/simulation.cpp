#include "simulation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "residue/core/error.h"
#include "residue/random/seeded_rng.h"
#include "residue/wire/report_codec.h"

namespace residue {
namespace {

using Clock = std::chrono::steady_clock;

double elapsed_ns(Clock::time_point from, Clock::time_point to) {
  return static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count());
}

// Streams of SeededRng: the population of trial t, protocol i's clients and its attacker.
uint64_t population_stream(uint32_t trial) {
  return uint64_t{trial} << 8;
}
uint64_t client_stream(uint32_t trial, std::size_t protocol) {
  return (uint64_t{trial} << 8) | (protocol + 1);
}
uint64_t attacker_stream(uint32_t trial, std::size_t protocol) {
  return client_stream(trial, protocol) | (uint64_t{1} << 63);
}

}  // namespace

std::size_t reports_per_chunk(const ReportShape& shape, uint64_t n) {
  uint32_t widest = 1;
  for (const BlockShape& b : shape.blocks) widest = std::max(widest, b.subset_size);
  return static_cast<std::size_t>(std::clamp<uint64_t>((uint64_t{1} << 24) / widest, 1, n));
}

std::vector<ProtocolResult> run_simulation(const SimulationConfig& config, const Distribution& data,
                                           const std::vector<Protocol>& protocols,
                                           const ProgressCallback& progress) {
  if (config.n == 0) throw Error("--n must be at least 1.");
  if (config.trials == 0) throw Error("--trials must be at least 1.");
  if (protocols.size() > 255) throw Error("at most 255 protocols per simulation (rng streams).");
  if (data.k() != config.k) throw Error("data and config disagree on k.");
  std::vector<ProtocolResult> results;
  std::vector<ReportCodec> codecs;
  for (const Protocol& p : protocols) {
    if (p.params().k != config.k) {
      throw Error("protocol " + p.id() + " has k = " + std::to_string(p.params().k) +
                  ", the simulation k = " + std::to_string(config.k) + ".");
    }
    codecs.emplace_back(p.shape());
    results.push_back(ProtocolResult{.protocol = p, .last_tally = p.new_tally()});
    results.back().mse_theory = p.estimator().mean_variance(data.probabilities(), config.n);
    results.back().entropy_bits = codecs.back().entropy_bits();
    for (uint32_t v = 0; v < config.k; ++v) {
      if (data.probabilities()[v] > 0) {
        results.back().attack_rate_theory += data.probabilities()[v] * p.attack().success(v);
      }
    }
  }

  std::vector<std::vector<double>> mse(protocols.size());
  std::vector<uint64_t> attack_hits(protocols.size());
  std::vector<double> bits_total(protocols.size()), encode_ns(protocols.size()),
      wire_ns(protocols.size());
  std::size_t done = 0;
  for (uint32_t t = 0; t < config.trials; ++t) {
    SeededRng population_rng(config.seed, population_stream(t));
    const std::vector<uint32_t> values = data.sample(config.n, population_rng);
    std::vector<double> truth(config.k, 0.0);
    for (uint32_t v : values) truth[v] += 1;
    for (double& f : truth) f /= static_cast<double>(config.n);

    for (std::size_t i = 0; i < protocols.size(); ++i) {
      const Protocol& p = protocols[i];
      ProtocolResult& r = results[i];
      SeededRng rng(config.seed, client_stream(t, i));
      SeededRng attack_rng(config.seed, attacker_stream(t, i));
      Tally tally = p.new_tally();
      std::vector<Report> chunk(reports_per_chunk(p.shape(), config.n));
      BitWriter writer;
      double tally_ns = 0;
      for (uint64_t start = 0; start < config.n; start += chunk.size()) {
        const std::size_t count =
            static_cast<std::size_t>(std::min<uint64_t>(chunk.size(), config.n - start));
        const auto t0 = Clock::now();
        for (std::size_t c = 0; c < count; ++c)
          p.encoder().encode(values[start + c], rng, chunk[c]);
        const auto t1 = Clock::now();
        for (std::size_t c = 0; c < count; ++c) {
          attack_hits[i] += p.attack().guess(chunk[c], attack_rng) == values[start + c];
        }
        const auto t1_wire = Clock::now();
        // Every report crosses the wire: written, measured, and parsed back strictly.
        for (std::size_t c = 0; c < count; ++c) {
          writer.clear();
          codecs[i].write(chunk[c], writer);
          bits_total[i] += static_cast<double>(writer.bit_length());
          r.bits_max = std::max(r.bits_max, writer.bit_length());
          BitReader reader(writer.bytes(), writer.bit_length());
          ParseResult<Report> parsed = codecs[i].read(reader);
          if (!parsed.ok())
            throw Error("simulation: a report failed its own wire round trip: " +
                        parsed.error().message);
          chunk[c] = std::move(parsed).value();
        }
        const auto t2 = Clock::now();
        tally.add(std::span<const Report>(chunk.data(), count));
        const auto t3 = Clock::now();
        encode_ns[i] += elapsed_ns(t0, t1);
        wire_ns[i] += elapsed_ns(t1_wire, t2);
        tally_ns += elapsed_ns(t2, t3);
      }
      const auto d0 = Clock::now();
      Estimate estimate = p.estimator().estimate(tally);
      const auto d1 = Clock::now();
      mse[i].push_back(mean_squared_error(estimate.frequencies, truth));
      r.mse_clip +=
          mean_squared_error(postprocess(estimate.frequencies, Postprocess::kClip), truth);
      r.mse_normsub +=
          mean_squared_error(postprocess(estimate.frequencies, Postprocess::kNormSub), truth);
      r.tally_ms += tally_ns / 1e6;
      r.decode_ms += elapsed_ns(d0, d1) / 1e6;
      r.solver_iterations = estimate.solver_iterations;
      if (t + 1 == config.trials) {
        r.last_truth = truth;
        r.last_estimate = std::move(estimate);
        r.last_tally = std::move(tally);
      }
      if (progress) progress(++done, config.trials * protocols.size());
    }
  }

  const double trials = config.trials;
  const double reports = trials * static_cast<double>(config.n);
  for (std::size_t i = 0; i < protocols.size(); ++i) {
    ProtocolResult& r = results[i];
    r.mse = std::accumulate(mse[i].begin(), mse[i].end(), 0.0) / trials;
    if (config.trials > 1) {
      double ss = 0;
      for (double m : mse[i]) ss += (m - r.mse) * (m - r.mse);
      r.mse_stderr = std::sqrt(ss / (trials - 1) / trials);
    }
    r.bits_mean = bits_total[i] / reports;
    r.encode_ns = encode_ns[i] / reports;
    r.wire_ns = wire_ns[i] / reports;
    r.tally_ms /= trials;
    r.decode_ms /= trials;
    r.mse_clip /= trials;
    r.mse_normsub /= trials;
    r.attack_rate = static_cast<double>(attack_hits[i]) / reports;
  }
  return results;
}

nlohmann::json result_json(const ProtocolResult& r) {
  return {{"protocol", r.protocol.params().protocol},
          {"id", r.protocol.id()},
          {"mse", r.mse},
          {"mse_stderr", r.mse_stderr},
          {"mse_theory", r.mse_theory},
          {"bits_mean", r.bits_mean},
          {"bits_max", r.bits_max},
          {"entropy_bits", r.entropy_bits},
          {"encode_ns", r.encode_ns},
          {"wire_ns", r.wire_ns},
          {"tally_ms", r.tally_ms},
          {"decode_ms", r.decode_ms},
          {"mse_clip", r.mse_clip},
          {"mse_normsub", r.mse_normsub},
          {"attack_rate", r.attack_rate},
          {"attack_rate_theory", r.attack_rate_theory},
          {"solver_iterations", r.solver_iterations},
          {"subset_sizes", r.protocol.params().subset_sizes}};
}

}  // namespace residue

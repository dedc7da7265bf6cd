#include "experiments/memory_experiment.h"

#include <chrono>
#include <cmath>
#include <sstream>
#include <string>

#include "residue/core/error.h"
#include "residue/core/stopwatch.h"
#include "residue/memory/memory_builder.h"
#include "residue/protocols/registry.h"
#include "residue/protocols/tally_sampler.h"
#include "residue/random/binomial.h"
#include "residue/random/seeded_rng.h"

namespace residue {
namespace {

std::vector<double> simulated_estimate(const Protocol& protocol, std::span<const uint64_t> counts,
                                       Rng& rng) {
  return estimated_counts(protocol, sample_tally(protocol, counts, rng));
}

/// The arm of one two-stage variant over the population `counts` (cells x tokens). Random
/// streams `stream` .. `stream` + 2 of `seed`.
MemoryArm two_stage_arm(std::string name, std::span<const uint64_t> counts, uint32_t cells,
                        uint32_t tokens, const SimulationOptions& sim, const TwoStageOptions& o,
                        uint64_t seed, uint64_t stream, ProtocolCache& protocols,
                        nlohmann::json& settings) {
  // Every client joins stage one with probability beta: each value's count splits binomially.
  SeededRng split(seed, stream);
  std::vector<uint64_t> stage1(counts.size()), stage2(counts.size());
  uint64_t stage1_reports = 0;
  for (std::size_t v = 0; v < counts.size(); ++v) {
    stage1[v] = binomial(counts[v], o.share, split);
    stage2[v] = counts[v] - stage1[v];
    stage1_reports += stage1[v];
  }
  SeededRng stage1_noise(seed, stream + 1);
  // Stage one's estimate: the joint one (cells x tokens) for per-cell candidates, the unigram
  // (tokens) for a shortlist, whose stage one reports the token alone.
  const bool shortlist = o.source == CandidateSource::kShortlist;
  const Protocol& stage1_protocol =
      protocols.get(sim.protocol, shortlist ? tokens : cells * tokens, sim.epsilon);
  const ProtocolParams stage1_params = stage1_protocol.params();
  std::vector<uint64_t> stage1_values = stage1;
  if (shortlist) {
    stage1_values.assign(tokens, 0);
    for (std::size_t v = 0; v < stage1.size(); ++v) stage1_values[v % tokens] += stage1[v];
  }
  const std::vector<double> stage1_estimate =
      stage1_reports > 0 ? simulated_estimate(stage1_protocol, stage1_values, stage1_noise)
                         : std::vector<double>(stage1_values.size(), 0.0);
  // Decided before stage two: from stage one and the expected number of stage-two clients.
  const uint32_t candidates =
      o.candidates != 0
          ? o.candidates
          : shortlist_size(sim.protocol, sim.epsilon, stage1_estimate, cells,
                           static_cast<double>(sim.reports) * (1 - o.share), o.significance);
  const TwoStagePlan plan =
      shortlist ? shortlist_plan(shortlist_of(stage1_estimate, candidates), cells, tokens)
                : TwoStagePlan::from_estimate(stage1_estimate, cells, tokens, candidates);
  const std::vector<uint64_t> stage2_counts = plan.map_counts(stage2);
  uint64_t stage2_reports = 0, other = 0;
  for (std::size_t v = 0; v < stage2_counts.size(); ++v) {
    stage2_reports += stage2_counts[v];
    if (v % (candidates + 1) == candidates) other += stage2_counts[v];
  }
  const Protocol& stage2_protocol = protocols.get(sim.protocol, plan.domain(), sim.epsilon);
  SeededRng stage2_noise(seed, stream + 2);
  const std::vector<double> stage2_estimate =
      stage2_reports > 0 ? simulated_estimate(stage2_protocol, stage2_counts, stage2_noise)
                         : std::vector<double>(plan.domain(), 0.0);
  settings = {
      {"candidate_source", candidate_source_name(o.source)},
      {"stage_one_share", o.share},
      {"stage_one_reports", stage1_reports},
      {"stage_one_params", to_json(stage1_params)},
      {"candidates", candidates},
      {"candidates_rule", o.candidates == 0 ? "adaptive" : "fixed"},
      {"significance", o.significance},
      {"stage_two_params", to_json(stage2_protocol.params())},
      {"stage_two_postprocess", o.stage_two == CellPostprocess::kClip ? "clip" : "project"},
      {"other_mass", other_mass_name(o.other)},
      // The share of stage-two clients whose token was among their cell's candidates.
      {"candidate_coverage",
       stage2_reports > 0 ? 1.0 - static_cast<double>(other) / static_cast<double>(stage2_reports)
                          : 0.0}};
  std::ostringstream description;
  description << "cell memory, two stages: " << o.share << " of clients find "
              << (o.source == CandidateSource::kCells ? "each cell's " : "a shortlist of ")
              << candidates << " candidates, the rest report over C(L+1)";
  return make_arm(
      std::move(name), ArmKind::kCells, description.str(),
      shortlist ? assemble_shortlist(plan, stage2_estimate, stage1_estimate, o.stage_two, o.other)
                : plan.assemble(stage2_estimate, o.stage_two, o.other, stage1_estimate));
}

}  // namespace

std::string_view candidate_source_name(CandidateSource source) {
  return source == CandidateSource::kCells ? "cells" : "shortlist";
}

const Protocol& ProtocolCache::get(const std::string& name, uint32_t k, double epsilon) {
  const auto key = std::make_tuple(name, k, epsilon);
  auto it = protocols_.find(key);
  if (it != protocols_.end()) return it->second;
  ProtocolParams params;
  params.protocol = name;
  params.k = k;
  params.epsilon = epsilon;
  const Clock::time_point start = Clock::now();
  const Protocol& p = protocols_.emplace(key, make_protocol(complete_params(params))).first->second;
  seconds_ += seconds_since(start);
  return p;
}

std::vector<MemoryArm> simulate_arms(std::span<const uint64_t> joint, uint32_t cells,
                                     uint32_t tokens, const SimulationOptions& options,
                                     uint64_t split_seed, ProtocolCache& protocols,
                                     nlohmann::json& settings, const BuildProgress& progress) {
  const MemoryBuilder builder(cells, tokens);
  if (joint.size() != builder.domain()) {
    throw Error("memory: " + std::to_string(joint.size()) + " joint counts, but " +
                std::to_string(cells) + " cells x " + std::to_string(tokens) + " tokens need " +
                std::to_string(builder.domain()) + ".");
  }
  if (options.reports == 0) throw Error("memory: reports (n) must be at least 1, but is 0.");
  for (const TwoStageOptions* t : {&options.cells_two_stage, &options.shortlist_two_stage}) {
    if (!(t->share > 0 && t->share < 1)) {
      throw Error("memory: a stage-one share must be in (0, 1), but is " +
                  std::to_string(t->share) + ".");
    }
    if (t->candidates >= tokens || (t->candidates == 0 && t->source == CandidateSource::kCells)) {
      throw Error("memory: candidates must be in [1, " + std::to_string(tokens) + ")" +
                  (t->source == CandidateSource::kShortlist ? " or 0 (adaptive)" : "") +
                  ", but is " + std::to_string(t->candidates) + ".");
    }
    if (!(t->significance > 0)) {
      throw Error("memory: the shortlist significance must be positive.");
    }
  }
  uint64_t positions = 0;
  for (uint64_t c : joint) positions += c;
  if (positions == 0) throw Error("memory: the client text has no position.");
  const auto step = [&](std::string_view label, int done) {
    if (progress) progress(label, done, 6);
  };
  // One seed for the whole simulation; each random stage draws from its own stream, so
  // changing one stage (say, the two-stage share) leaves the others' draws as they were.
  const uint64_t seed = options.noise_seed * 0x9e3779b97f4a7c15ULL + split_seed;

  step("population", 0);
  SeededRng draw(seed, 0);
  const std::vector<double> empirical(joint.begin(), joint.end());
  const std::vector<uint64_t> counts = multinomial(empirical, options.reports, draw);
  std::vector<uint64_t> unigram(tokens, 0);
  for (std::size_t v = 0; v < counts.size(); ++v) unigram[v % tokens] += counts[v];

  std::vector<MemoryArm> arms = control_arms();
  arms.push_back(make_arm("nonprivate", ArmKind::kCells,
                          "cell memory, exact counts of the same reports (not private)",
                          builder.from_counts(counts)));
  arms.push_back(make_arm("unigram_nonprivate", ArmKind::kUnigram,
                          "context-free unigram, exact counts (not private)",
                          std::vector<double>(unigram.begin(), unigram.end())));

  step("joint LDP report", 1);
  const Protocol& joint_protocol = protocols.get(options.protocol, cells * tokens, options.epsilon);
  SeededRng joint_noise(seed, 1);
  const std::vector<double> joint_estimate =
      simulated_estimate(joint_protocol, counts, joint_noise);
  for (MemoryArm& a : joint_arms(builder, joint_estimate, ", one report over C(V+1)")) {
    arms.push_back(std::move(a));
  }

  step("unigram LDP report", 2);
  const Protocol& unigram_protocol = protocols.get(options.protocol, tokens, options.epsilon);
  SeededRng unigram_noise(seed, 2);
  std::vector<double> unigram_estimate =
      simulated_estimate(unigram_protocol, unigram, unigram_noise);
  for (double& v : unigram_estimate) v = std::max(v, 0.0);
  arms.push_back(make_arm("unigram_ldp", ArmKind::kUnigram,
                          "control: context-free unigram, one report over V+1, clipped",
                          std::move(unigram_estimate)));

  settings["simulation"] = {{"noise_seed", options.noise_seed},
                            {"protocol", options.protocol},
                            {"client_positions", positions},
                            {"joint_params", to_json(joint_protocol.params())},
                            {"unigram_params", to_json(unigram_protocol.params())}};
  step("two-stage, candidates per cell", 3);
  arms.push_back(two_stage_arm("ldp_2stage_cells", counts, cells, tokens, options,
                               options.cells_two_stage, seed, 10, protocols,
                               settings["simulation"]["ldp_2stage_cells"]));
  step("two-stage, shortlist", 4);
  arms.push_back(two_stage_arm("ldp_2stage_shortlist", counts, cells, tokens, options,
                               options.shortlist_two_stage, seed, 20, protocols,
                               settings["simulation"]["ldp_2stage_shortlist"]));
  step("estimates done", 5);
  return arms;
}

Memory simulate_memory(const Corpus& corpus, const PublicModel& pub,
                       const MemoryBuildOptions& options, const SimulationOptions& simulation,
                       ProtocolCache& protocols, const BuildProgress& progress) {
  check_public_model(pub, options);
  const Clock::time_point start = Clock::now();
  const double protocol_seconds_before = protocols.seconds();
  const DomainSplit split = corpus.split_domain(options.split_seed);
  const Positions client = positions_of(split.client, pub.vocab, pub.encoder, pub.codebook);
  const std::vector<uint64_t> joint = joint_counts(client, pub.codebook.cells(), pub.vocab.size());
  MemoryInfo info = build_info(corpus, pub, options);
  info.source = "simulated";
  info.epsilon = simulation.epsilon;
  info.reports = simulation.reports;
  std::vector<MemoryArm> arms =
      simulate_arms(joint, pub.codebook.cells(), pub.vocab.size(), simulation, options.split_seed,
                    protocols, info.settings, progress);
  ProtocolParams id_params;
  id_params.protocol = simulation.protocol;
  info.protocol_id = protocol_id(id_params);
  const double simulate_seconds = seconds_since(start);
  const double protocol_seconds = protocols.seconds() - protocol_seconds_before;
  if (progress) progress("tuning", 6, 7);
  const Clock::time_point tuning_start = Clock::now();
  tune_arms(arms, pub, options, split);
  info.settings["seconds"] = {{"simulate", simulate_seconds},
                              {"protocol_parameters", protocol_seconds},
                              {"tune", seconds_since(tuning_start)}};
  info.default_arm = std::string(kDefaultLdpArm);
  if (progress) progress("done", 7, 7);
  return Memory(std::move(info), pub.vocab.words(), pub.encoder.embeddings(), pub.codebook,
                std::move(arms));
}

}  // namespace residue

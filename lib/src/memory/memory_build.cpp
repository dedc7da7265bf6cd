#include "residue/memory/memory_build.h"

#include <algorithm>
#include <string>

#include "residue/core/error.h"
#include "residue/core/stopwatch.h"
#include "residue/memory/memory_decoder.h"

namespace residue {

std::vector<double> estimated_counts(const Protocol& protocol, const Tally& tally) {
  const Estimate e = protocol.estimator().estimate(tally);
  std::vector<double> out(e.frequencies.size());
  for (uint32_t v = 0; v < out.size(); ++v) out[v] = e.count(v);
  return out;
}

MemoryArm make_arm(std::string name, ArmKind kind, std::string description,
                   std::vector<double> counts) {
  MemoryArm a;
  a.name = std::move(name);
  a.kind = kind;
  a.description = std::move(description);
  a.counts = std::move(counts);
  return a;
}

std::vector<MemoryArm> control_arms() {
  std::vector<MemoryArm> arms;
  arms.push_back(make_arm("base", ArmKind::kBase, "base LM alone (KN trigram, general corpus)"));
  arms.push_back(make_arm("uniform", ArmKind::kUniform, "control: uniform p_mem (no data)"));
  return arms;
}

std::vector<MemoryArm> joint_arms(const MemoryBuilder& builder, std::span<const double> estimate,
                                  std::string_view source) {
  const std::string memory = "cell memory" + std::string(source);
  std::vector<MemoryArm> arms;
  arms.push_back(make_arm("ldp_clip", ArmKind::kCells, memory + ", negatives clipped (plain)",
                          builder.from_estimate(estimate, CellPostprocess::kClip)));
  arms.push_back(make_arm("ldp_project", ArmKind::kCells, memory + ", Norm-Sub per cell",
                          builder.from_estimate(estimate, CellPostprocess::kProject)));
  return arms;
}

void check_public_model(const PublicModel& pub, const MemoryBuildOptions& options) {
  if (pub.codebook.cells() != options.public_options.cells ||
      pub.encoder.dimension() != options.public_options.dimension ||
      pub.vocab.size() != options.public_options.vocab_words + 1) {
    throw Error("memory: the public model (" + std::to_string(pub.vocab.size() - 1) + " words, " +
                std::to_string(pub.codebook.cells()) + " cells, dimension " +
                std::to_string(pub.encoder.dimension()) + ") does not match the build options.");
  }
}

MemoryInfo build_info(const Corpus& corpus, const PublicModel& pub,
                      const MemoryBuildOptions& options) {
  MemoryInfo info;
  info.data_dir = options.data_dir;
  info.split_seed = options.split_seed;
  info.key_options = pub.encoder.options();
  info.general_tokens = token_count(corpus.general());
  info.domain_tokens = token_count(corpus.domain());
  const PublicOptions& p = options.public_options;
  info.settings["public"] = {{"vocab_words", p.vocab_words},
                             {"cells", pub.codebook.cells()},
                             {"dimension", pub.encoder.dimension()},
                             {"codebook_iterations", p.codebook.iterations},
                             {"codebook_restarts", p.codebook.restarts},
                             {"codebook_seed", p.codebook.seed}};
  return info;
}

void tune_arms(std::vector<MemoryArm>& arms, const PublicModel& pub,
               const MemoryBuildOptions& options, const DomainSplit& split) {
  const Positions tuning = positions_of(split.tuning, pub.vocab, pub.encoder, pub.codebook);
  uint32_t neighbours = 1;
  for (uint32_t k : options.grid.neighbours) neighbours = std::max(neighbours, k);
  neighbours = std::min(neighbours, pub.codebook.cells());
  const MemoryDecoder index(pub.codebook, make_arm("index", ArmKind::kUniform, ""),
                            pub.vocab.size());
  const ScoredPositions scored = score_positions(tuning, pub.lm, index, neighbours);
  for (MemoryArm& arm : arms) tune_arm(arm, scored, options.grid, options.threads);
}

namespace {

// A store memory: `arms` (decoded since `start`) tuned, served by `default_arm`, with the
// served task's protocol and reports and `store` (what it was built from) in its settings.
Memory store_memory(std::vector<MemoryArm> arms, Clock::time_point start, const Corpus& corpus,
                    const PublicModel& pub, const MemoryBuildOptions& options,
                    const StageTally& served, std::string default_arm, nlohmann::json store,
                    const BuildProgress& progress) {
  const double decode_seconds = seconds_since(start);
  if (progress) progress("tuning", 1, 3);
  const Clock::time_point tuning_start = Clock::now();
  tune_arms(arms, pub, options, corpus.split_domain(options.split_seed));
  MemoryInfo info = build_info(corpus, pub, options);
  info.source = "store";
  info.epsilon = served.protocol.params().epsilon;
  info.reports = served.tally.total_reports();
  info.protocol_id = served.protocol.id();
  info.default_arm = std::move(default_arm);
  store["task"] = served.task;
  store["params"] = to_json(served.protocol.params());
  info.settings["store"] = std::move(store);
  info.settings["seconds"] = {{"decode", decode_seconds}, {"tune", seconds_since(tuning_start)}};
  if (progress) progress("done", 3, 3);
  return Memory(std::move(info), pub.vocab.words(), pub.encoder.embeddings(), pub.codebook,
                std::move(arms));
}

}  // namespace

Memory memory_from_tally(const Corpus& corpus, const PublicModel& pub,
                         const MemoryBuildOptions& options, const Protocol& protocol,
                         const Tally& tally, const std::string& task,
                         const BuildProgress& progress) {
  check_public_model(pub, options);
  const MemoryBuilder builder(pub.codebook.cells(), pub.vocab.size());
  if (protocol.params().k != builder.domain()) {
    throw Error("memory: task \"" + task + "\" has k = " + std::to_string(protocol.params().k) +
                ", but a memory of " + std::to_string(builder.cells()) + " cells x " +
                std::to_string(builder.tokens()) +
                " tokens needs k = " + std::to_string(builder.domain()) + " (value = cell * " +
                std::to_string(builder.tokens()) + " + token).");
  }
  if (tally.total_reports() == 0) throw Error("memory: task \"" + task + "\" has no reports.");
  const Clock::time_point start = Clock::now();
  if (progress) progress("decode", 0, 3);
  std::vector<MemoryArm> arms = control_arms();
  for (MemoryArm& a : joint_arms(builder, estimated_counts(protocol, tally), " from the task")) {
    arms.push_back(std::move(a));
  }
  return store_memory(std::move(arms), start, corpus, pub, options, {task, protocol, tally},
                      "ldp_project", nlohmann::json::object(), progress);
}

Memory memory_from_two_stage_tallies(const Corpus& corpus, const PublicModel& pub,
                                     const MemoryBuildOptions& options,
                                     std::span<const uint32_t> shortlist,
                                     const StageTally& stage_one, const StageTally& stage_two,
                                     const BuildProgress& progress) {
  check_public_model(pub, options);
  const uint32_t cells = pub.codebook.cells(), tokens = pub.vocab.size();
  const TwoStagePlan plan = shortlist_plan(shortlist, cells, tokens);
  const auto check_k = [](const StageTally& s, uint32_t k, const std::string& what) {
    if (s.protocol.params().k != k) {
      throw Error("memory: task \"" + s.task +
                  "\" has k = " + std::to_string(s.protocol.params().k) + ", but " + what +
                  " needs k = " + std::to_string(k) + ".");
    }
    if (s.tally.total_reports() == 0)
      throw Error("memory: task \"" + s.task + "\" has no reports.");
  };
  check_k(stage_one, tokens, "stage one (the token alone)");
  check_k(stage_two, plan.domain(),
          "stage two over " + std::to_string(cells) + " cells x (a shortlist of " +
              std::to_string(plan.candidates()) + " + other)");
  const Clock::time_point start = Clock::now();
  if (progress) progress("decode", 0, 3);
  std::vector<MemoryArm> arms = control_arms();
  arms.push_back(
      make_arm("ldp_2stage_shortlist", ArmKind::kCells,
               "cell memory, two stages from the tasks: a shortlist of " +
                   std::to_string(plan.candidates()) + " tokens from \"" + stage_one.task +
                   "\", the rest reported over C(L+1) to \"" + stage_two.task + "\"",
               assemble_shortlist(plan, estimated_counts(stage_two.protocol, stage_two.tally),
                                  estimated_counts(stage_one.protocol, stage_one.tally),
                                  CellPostprocess::kProject, OtherMass::kStageOne)));
  return store_memory(std::move(arms), start, corpus, pub, options, stage_two,
                      "ldp_2stage_shortlist",
                      {{"stage_one",
                        {{"task", stage_one.task},
                         {"params", to_json(stage_one.protocol.params())},
                         {"reports", stage_one.tally.total_reports()}}},
                       {"shortlist", std::vector<uint32_t>(shortlist.begin(), shortlist.end())},
                       {"stage_two_postprocess", "project"},
                       {"other_mass", other_mass_name(OtherMass::kStageOne)}},
                      progress);
}

}  // namespace residue

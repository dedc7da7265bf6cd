// `residue memory shortlist`: between the two tasks of a deployed two-stage memory (docs/memory.md,
// "Deployment: the two-stage shortlist"). Reads stage one's tally (devices reported the next
// token alone), estimates the unigram, chooses the shortlist's size L as the simulation's
// ldp_2stage_shortlist arm does (or takes --size), and writes the artifact of stage two: the
// same public pieces with the L most frequent tokens, over which devices then report
// cell * (L + 1) + index (or L for "other").
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "commands.h"
#include "memory_stages.h"
#include "output.h"
#include "residue/core/error.h"
#include "residue/memory/memory_build.h"
#include "residue/memory/memory_two_stage.h"

namespace residue {
namespace {

// The simulation's default share of stage one (docs/memory.md): stage two is expected to get
// the rest of the population, (1 - 0.3) / 0.3 times stage one's reports.
constexpr double kStageOneShare = 0.3;

struct ShortlistOptions {
  std::string data, task, artifact, out;
  std::optional<uint32_t> size;
  std::optional<double> expected_reports;
  double significance = 0.5;
  bool json = false;
};

void shortlist(const ShortlistOptions& o) {
  if (!(o.significance > 0)) throw Error("--significance must be positive.");
  if (o.size && *o.size == 0) throw Error("--size must be at least 1.");
  const ArtifactFile artifact = read_artifact_file(o.artifact);
  if (!artifact.artifact.shortlist().empty()) {
    throw Error("--artifact " + o.artifact +
                " already has a shortlist: give the artifact stage one was collected over.");
  }
  const uint32_t tokens = artifact.artifact.vocab().size();
  if (o.size && *o.size >= tokens) {
    throw Error("--size must be below the artifact's " + std::to_string(tokens) +
                " tokens (one value of stage two is \"other\"), but is " + std::to_string(*o.size) +
                ".");
  }
  const TaskTally stored = read_task_tally(o.data, o.task);
  const Task task = stage_task(stored, artifact, MemoryStage::kTokens);
  const uint64_t reports = stored.tally.total_reports();
  if (reports == 0) throw Error("task \"" + o.task + "\" has no reports yet.");
  const std::vector<double> unigram = estimated_counts(task.protocol, stored.tally);
  const double expected = o.expected_reports.value_or(static_cast<double>(reports) *
                                                      (1 - kStageOneShare) / kStageOneShare);
  if (!(expected > 0)) throw Error("--expected-reports must be positive.");
  const ProtocolParams& p = task.protocol.params();
  const uint32_t cells = artifact.artifact.codebook().cells();
  const uint32_t size =
      o.size ? *o.size
             : shortlist_size(p.protocol, p.epsilon, unigram, cells, expected, o.significance);
  const MemoryArtifact out(artifact.artifact.vocab(), artifact.artifact.encoder(),
                           artifact.artifact.codebook(), shortlist_of(unigram, size));
  out.write(o.out);

  // The share of stage one's estimated mass (negatives clipped) the shortlist holds.
  double total = 0, kept = 0;
  for (double x : unigram) total += std::max(x, 0.0);
  for (uint32_t t : out.shortlist()) kept += std::max(unigram[t], 0.0);
  const double coverage = total > 0 ? kept / total : 0;
  if (o.json) {
    std::cout << nlohmann::json{{"out", o.out},
                                {"stage_one", o.task},
                                {"stage_one_reports", reports},
                                {"size", size},
                                {"size_rule", o.size ? "fixed" : "adaptive"},
                                {"expected_reports", expected},
                                {"significance", o.significance},
                                {"estimated_coverage", coverage},
                                {"k", out.domain()}}
                     .dump(2)
              << "\n";
    return;
  }
  std::cout << "shortlist " << o.out << ": " << size << " tokens ("
            << (o.size ? "fixed" : "adaptive") << ") from " << reports << " reports of task "
            << o.task << ", " << format_number(100 * coverage, 3)
            << "% of its estimated tokens\n(stage two: "
            << "kind = \"memory\", stage = \"shortlist\", stage_one = \"" << o.task
            << "\", mss with k = cells x (L + 1) = " << out.domain() << ")\n";
}

}  // namespace

void add_memory_shortlist_command(CLI::App& memory) {
  auto s = std::make_shared<ShortlistOptions>();
  CLI::App* cmd = memory.add_subcommand(
      "shortlist", "Stage two's artifact: the shortlist of a two-stage memory from stage one");
  cmd->add_option("--data", s->data,
                  "The store: the daemon's data directory, postgres:<conninfo>, or a tally file")
      ->required();
  cmd->add_option("--task", s->task, "Stage one: a memory task with stage = \"tokens\"")
      ->required();
  cmd->add_option("--artifact", s->artifact, "The artifact stage one was collected over")
      ->required();
  cmd->add_option("--out", s->out, "The artifact of stage two to write")->required();
  cmd->add_option("--size", s->size, "Tokens on the shortlist (L); default: adaptive");
  cmd->add_option("--expected-reports", s->expected_reports,
                  "Adaptive L: stage two's expected reports (default: stage one's x 0.7 / 0.3)");
  cmd->add_option("--significance", s->significance,
                  "Adaptive L: keep tokens whose expected count per cell exceeds this many noise "
                  "standard deviations")
      ->capture_default_str();
  cmd->add_flag("--json", s->json, "One JSON object on stdout");
  cmd->callback([s] { shortlist(*s); });
}

}  // namespace residue

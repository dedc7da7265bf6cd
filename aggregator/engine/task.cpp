#include "task.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "residue/core/error.h"
#include "residue/core/sha256.h"
#include "residue/protocols/registry.h"
#include "residue/retrieval/task_artifact.h"

namespace residue {

Domain load_dictionary(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    throw Error("dictionary \"" + path.string() + "\": cannot read: " + std::strerror(errno) + ".");
  }
  std::vector<std::string> values;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      throw Error("dictionary \"" + path.string() + "\": line " +
                  std::to_string(values.size() + 1) + " is empty.");
    }
    values.push_back(std::move(line));
  }
  try {
    return Domain::dictionary(std::move(values));
  } catch (const Error& e) {
    throw Error("dictionary \"" + path.string() + "\": " + e.what());
  }
}

Task task_from_params(std::string name, const ProtocolParams& params, std::string domain_id,
                      std::optional<Domain> dictionary) {
  Protocol protocol = make_protocol(params);
  if (dictionary && dictionary->size() != protocol.params().k) {
    throw Error("task " + name + ": the dictionary has " + std::to_string(dictionary->size()) +
                " values but k is " + std::to_string(protocol.params().k) + ".");
  }
  if (dictionary && !domain_id.empty() && dictionary->id() != domain_id) {
    throw Error("task " + name + ": the dictionary given is not the one the task's data was " +
                "counted under (its id is " + dictionary->id() + ", the task's " + domain_id +
                "); its values would be shown against the wrong counts.");
  }
  const ParamsHash hash = task_hash(protocol.params(), domain_id);
  ReportCodec codec(protocol.shape());
  return Task{std::move(name),       std::move(protocol), std::move(domain_id), hash,
              std::move(dictionary), std::move(codec)};
}

Task make_task(const TaskConfig& config, const std::optional<ProtocolParams>& stored) {
  const std::string context = "task " + config.name + ": ";
  try {
    std::optional<Domain> domain;
    ProtocolParams params = config.params;
    if (config.dictionary) {
      domain = load_dictionary(*config.dictionary);
      params.k = domain->size();
    }
    std::shared_ptr<const Artifact> artifact;
    if (config.artifact) {
      artifact = load_artifact(*config.artifact, config.kind);
      const uint64_t values = artifact->domain(config.stage);
      if (values != params.k) {
        const char* what = config.kind == TaskKind::kVocab        ? " values (candidate units)"
                           : config.stage == MemoryStage::kTokens ? " values (tokens)"
                           : config.stage == MemoryStage::kShortlist
                               ? " values (cells x (shortlist + other))"
                               : " values (cells x tokens)";
        throw Error("k is " + std::to_string(params.k) + " but the artifact \"" +
                    config.artifact->string() + "\" has " + std::to_string(values) + what +
                    ": its devices report those.");
      }
    }
    const bool reuse = stored && stored->protocol == params.protocol && stored->k == params.k &&
                       stored->epsilon == params.epsilon &&
                       (params.moduli.empty() || stored->moduli == params.moduli);
    if (reuse) {
      params = *stored;
    } else {
      ModuliOptions options;
      options.max_inflation = config.max_inflation;
      params = complete_params(params, options);
    }
    std::string domain_id = domain     ? domain->id()
                            : artifact ? artifact->domain_id(config.stage)
                                       : "";
    Task task = task_from_params(config.name, params, std::move(domain_id), std::move(domain));
    task.kind = config.kind;
    task.artifact = std::move(artifact);
    task.stage = config.stage;
    task.stage_one = config.stage_one;
    return task;
  } catch (const Error& e) {
    throw Error(context + e.what());
  }
}

void check_stage_artifacts(const std::vector<Task>& tasks) {
  for (const Task& two : tasks) {
    if (two.stage != MemoryStage::kShortlist) continue;
    const auto one = std::find_if(tasks.begin(), tasks.end(),
                                  [&](const Task& t) { return t.name == two.stage_one; });
    if (one == tasks.end() || !one->artifact || !two.artifact) {
      throw Error("task " + two.name + ": its stage_one task \"" + two.stage_one +
                  "\" has no artifact.");
    }
    const std::string sha = sha256_hex(two.artifact->memory->without_shortlist().serialize());
    if (sha != one->artifact->sha256) {
      throw Error("task " + two.name + ": its artifact's public pieces (SHA-256 " + sha +
                  " without the shortlist) are not those of its stage_one task " + one->name +
                  " (SHA-256 " + one->artifact->sha256 +
                  "): the shortlist's token ids would be read in another vocabulary. Make the "
                  "shortlist with `residue memory shortlist --artifact` of the stage-one task's "
                  "artifact.");
    }
  }
}

}  // namespace residue

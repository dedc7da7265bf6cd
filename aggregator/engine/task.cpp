#include "task.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "residue/core/error.h"
#include "residue/protocols/registry.h"

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

Task task_from_params(std::string name, const ProtocolParams& params,
                      std::optional<Domain> domain) {
  Protocol protocol = make_protocol(params);
  if (domain && domain->size() != protocol.params().k) {
    throw Error("task " + name + ": the dictionary has " + std::to_string(domain->size()) +
                " values but k is " + std::to_string(protocol.params().k) + ".");
  }
  const ParamsHash hash = params_hash(protocol.params());
  ReportCodec codec(protocol.shape());
  return Task{std::move(name), std::move(protocol), hash, std::move(domain), std::move(codec)};
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
    return task_from_params(config.name, params, std::move(domain));
  } catch (const Error& e) {
    throw Error(context + e.what());
  }
}

}  // namespace residue

#include "residue/protocols/registry.h"

#include <array>
#include <string>

#include "residue/core/error.h"
#include "residue/protocols/grr.h"
#include "residue/protocols/hadamard.h"
#include "residue/protocols/local_hash.h"
#include "residue/protocols/mss.h"
#include "residue/protocols/projective_geometry.h"
#include "residue/protocols/subset_selection.h"
#include "residue/protocols/unary.h"

namespace residue {
namespace {

// One row per protocol. Bump `version` whenever the protocol's report bits change
// (version 2 of ss and mss: a single position is sent in ceil(log2 m) bits, no flag).
const std::array<ProtocolInfo, 8> kProtocols = {{
    {"mss", 2, "ModularSubsetSelection: a residue per report, least-squares decode", "mss",
     &make_mss},
    {"ss", 2, "Subset Selection: the accuracy-optimal baseline", "subset_selection",
     &make_subset_selection},
    {"grr", 1, "k-ary randomized response: the value or a uniform other one", "grr", &make_grr},
    {"sue", 1, "symmetric unary encoding (basic one-time RAPPOR)", "unary", &make_sue},
    {"oue", 1, "optimized unary encoding", "unary", &make_oue},
    {"olh", 1, "optimal local hashing over a public seed pool", "local_hash", &make_olh},
    {"hr", 1, "Hadamard response, multi-block", "hadamard", &make_hadamard_response},
    {"pgr", 1, "projective geometry response", "projective_geometry", &make_projective_geometry},
}};

}  // namespace

std::span<const ProtocolInfo> registered_protocols() {
  return kProtocols;
}

const ProtocolInfo& find_protocol(std::string_view name) {
  for (const ProtocolInfo& info : kProtocols) {
    if (info.name == name) return info;
  }
  std::string known;
  for (const ProtocolInfo& info : kProtocols)
    known += (known.empty() ? "" : ", ") + std::string(info.name);
  throw Error("unknown protocol \"" + std::string(name) + "\" (known: " + known + ").");
}

ProtocolParams complete_params(ProtocolParams params, const ModuliOptions& options) {
  find_protocol(params.protocol);
  check_k_and_epsilon(params);
  if (params.protocol == "mss" && params.moduli.empty()) {
    ModuliChoice choice = select_moduli(params.k, params.epsilon, options);
    params.moduli = choice.chosen.moduli;
    params.subset_sizes = choice.chosen.subset_sizes;
  }
  // The factories fill the optimal subset sizes; building once returns the completed params.
  return find_protocol(params.protocol).make(params).params();
}

Protocol make_protocol(const ProtocolParams& params) {
  return find_protocol(params.protocol).make(params);
}

}  // namespace residue

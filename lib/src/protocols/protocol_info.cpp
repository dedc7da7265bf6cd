// The table of protocol names and wire versions. It references no factory, so protocol_id()
// and find_protocol() link no encoder, estimator or attack (registry_internal.h).
#include <string>

#include "residue/core/error.h"
#include "residue/protocols/registry.h"

namespace residue {
namespace {

// One row per protocol. Bump `version` whenever the protocol's report bits change
// (version 2 of ss and mss: a single position is sent in ceil(log2 m) bits, no flag; version 3:
// a subset of 1/16 to 15/16 of the universe is drawn from a random bitmap, not Floyd's
// algorithm, so a given random stream draws another subset).
constexpr ProtocolInfo kProtocols[] = {
    {"mss", 3, "ModularSubsetSelection: a residue per report, least-squares decode", "mss"},
    {"ss", 3, "Subset Selection: the accuracy-optimal baseline", "subset_selection"},
    {"grr", 1, "k-ary randomized response: the value or a uniform other one", "grr"},
    {"sue", 1, "symmetric unary encoding (basic one-time RAPPOR)", "unary"},
    {"oue", 1, "optimized unary encoding", "unary"},
    {"olh", 1, "optimal local hashing over a public seed pool", "local_hash"},
    {"hr", 1, "Hadamard response, multi-block", "hadamard"},
    {"pgr", 1, "projective geometry response", "projective_geometry"},
};

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

}  // namespace residue

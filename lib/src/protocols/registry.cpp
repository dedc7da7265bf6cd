#include "residue/protocols/registry.h"

#include "protocols/registry_internal.h"
#include "residue/protocols/grr.h"
#include "residue/protocols/hadamard.h"
#include "residue/protocols/local_hash.h"
#include "residue/protocols/mss.h"
#include "residue/protocols/projective_geometry.h"
#include "residue/protocols/subset_selection.h"
#include "residue/protocols/unary.h"

namespace residue {
namespace {

// The full factory of each registered protocol.
constexpr FactoryRow<ProtocolFactory> kFactories[] = {
    {"mss", &make_mss}, {"ss", &make_ss},   {"grr", &make_grr}, {"sue", &make_sue},
    {"oue", &make_oue}, {"olh", &make_olh}, {"hr", &make_hr},   {"pgr", &make_pgr},
};

}  // namespace

std::span<const FactoryRow<ProtocolFactory>> protocol_factories() {
  return kFactories;
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
  return make_protocol(params).params();
}

Protocol make_protocol(const ProtocolParams& params) {
  return find_factory(protocol_factories(), params.protocol)(params);
}

}  // namespace residue

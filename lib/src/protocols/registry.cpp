#include "residue/protocols/registry.h"

#include <iterator>

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

// The full factory of each protocol, in the order of registered_protocols().
constexpr Protocol (*const kFactories[])(const ProtocolParams&) = {
    &make_mss,
    &make_subset_selection,
    &make_grr,
    &make_sue,
    &make_oue,
    &make_olh,
    &make_hadamard_response,
    &make_projective_geometry,
};
static_assert(std::size(kFactories) == kProtocolCount);

}  // namespace

ProtocolParams complete_params(ProtocolParams params, const ModuliOptions& options) {
  protocol_index(params.protocol);
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
  return kFactories[protocol_index(params.protocol)](params);
}

}  // namespace residue

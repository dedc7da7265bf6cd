#include "residue/protocols/client_protocol.h"

#include <iterator>

#include "protocols/registry_internal.h"

namespace residue {
namespace {

// The encoder-only factory of each protocol, in the order of registered_protocols(). Only
// this table references them, and it references no estimator, attack or solver.
constexpr ClientProtocol (*const kClientFactories[])(const ProtocolParams&) = {
    &make_mss_client,
    &make_subset_selection_client,
    &make_grr_client,
    &make_sue_client,
    &make_oue_client,
    &make_olh_client,
    &make_hadamard_response_client,
    &make_projective_geometry_client,
};
static_assert(std::size(kClientFactories) == kProtocolCount);

}  // namespace

ClientProtocol make_client_protocol(const ProtocolParams& params) {
  return kClientFactories[protocol_index(params.protocol)](params);
}

}  // namespace residue

// What a protocol's two factories share. make_<name> and make_<name>_client (registry_internal.h)
// both start from one setup, so that they validate alike and agree on the completed params,
// the report shape and the encoder. Internal: not installed.
//
//   ProtocolSetup<GrrRates> s = setup_grr(params);        // check_protocol_params first
//   return full_protocol(s.client, estimator, attack);    // make_grr; make_grr_client: s.client
#pragma once

#include <memory>
#include <string_view>

#include "residue/protocols/client_protocol.h"
#include "residue/protocols/params.h"
#include "residue/protocols/protocol.h"

namespace residue {

/// The client half, and the model (rates or shared state) the estimator and attack are built on.
template <typename Model>
struct ProtocolSetup {
  ClientProtocol client;
  Model model;
};

/// Throws Error unless `params` is for protocol `name` ("make_<name>: protocol is ..."), k and
/// epsilon are valid, and no optional field is set but those in `used`.
void check_protocol_params(const ProtocolParams& params, std::string_view name, ParamsUse used);

/// The full protocol: the client half of a setup with the server's estimator and attack.
Protocol full_protocol(const ClientProtocol& client, std::shared_ptr<const Estimator> estimator,
                       std::shared_ptr<const Attack> attack);

}  // namespace residue

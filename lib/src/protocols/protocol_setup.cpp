#include "protocols/protocol_setup.h"

#include <string>
#include <utility>

#include "residue/core/error.h"

namespace residue {

void check_protocol_params(const ProtocolParams& params, std::string_view name, ParamsUse used) {
  if (params.protocol != name) {
    throw Error("make_" + std::string(name) + ": protocol is \"" + params.protocol + "\".");
  }
  check_k_and_epsilon(params);
  check_unused_params(params, used);
}

Protocol full_protocol(const ClientProtocol& client, std::shared_ptr<const Estimator> estimator,
                       std::shared_ptr<const Attack> attack) {
  return Protocol(client.params, client.shape, client.encoder, std::move(estimator),
                  std::move(attack));
}

}  // namespace residue

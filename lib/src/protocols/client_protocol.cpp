#include "residue/protocols/client_protocol.h"

#include "protocols/registry_internal.h"

namespace residue {
namespace {

// The encoder-only factory of each registered protocol. Only this table references them, and
// it references no estimator, attack or solver.
constexpr FactoryRow<ClientProtocolFactory> kClientFactories[] = {
    {"mss", &make_mss_client}, {"ss", &make_ss_client},   {"grr", &make_grr_client},
    {"sue", &make_sue_client}, {"oue", &make_oue_client}, {"olh", &make_olh_client},
    {"hr", &make_hr_client},   {"pgr", &make_pgr_client},
};

}  // namespace

std::span<const FactoryRow<ClientProtocolFactory>> client_protocol_factories() {
  return kClientFactories;
}

ClientProtocol make_client_protocol(const ProtocolParams& params) {
  return find_factory(client_protocol_factories(), params.protocol)(params);
}

}  // namespace residue

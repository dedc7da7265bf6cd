// Registry internals (not installed). The registry is three tables in three translation units,
// so that a device links only what encodes:
//   protocol_info.cpp    names and wire versions (find_protocol, protocol_id): no factory;
//   registry.cpp         the full factories (make_protocol): encoder, estimator and attack;
//   client_protocol.cpp  the encoder-only factories (make_client_protocol).
// Every row names its protocol, and lookups go by that name; registry_test checks that the
// three tables hold the same names.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "residue/core/error.h"
#include "residue/protocols/client_protocol.h"
#include "residue/protocols/params.h"
#include "residue/protocols/protocol.h"
#include "residue/protocols/registry.h"

namespace residue {

/// One row of a factory table: the registered name and its factory.
template <typename Factory>
struct FactoryRow {
  std::string_view protocol;
  Factory* make;
};

using ProtocolFactory = Protocol(const ProtocolParams&);
using ClientProtocolFactory = ClientProtocol(const ProtocolParams&);

/// The rows of registry.cpp and of client_protocol.cpp.
std::span<const FactoryRow<ProtocolFactory>> protocol_factories();
std::span<const FactoryRow<ClientProtocolFactory>> client_protocol_factories();

/// The factory of `name` in `rows`. Throws Error like find_protocol() for an unknown name.
template <typename Factory>
Factory& find_factory(std::span<const FactoryRow<Factory>> rows, std::string_view name) {
  for (const FactoryRow<Factory>& row : rows) {
    if (row.protocol == name) return *row.make;
  }
  find_protocol(name);  // throws, listing the known names
  throw Error("protocol \"" + std::string(name) + "\" is registered without a factory (a bug).");
}

/// The encoder-only factories, each defined next to its protocol's full factory make_<name>
/// and sharing its setup: same validation and errors, same completed params, shape and encoder.
ClientProtocol make_mss_client(const ProtocolParams& params);
ClientProtocol make_ss_client(const ProtocolParams& params);
ClientProtocol make_grr_client(const ProtocolParams& params);
ClientProtocol make_sue_client(const ProtocolParams& params);
ClientProtocol make_oue_client(const ProtocolParams& params);
ClientProtocol make_olh_client(const ProtocolParams& params);
ClientProtocol make_hr_client(const ProtocolParams& params);
ClientProtocol make_pgr_client(const ProtocolParams& params);

}  // namespace residue

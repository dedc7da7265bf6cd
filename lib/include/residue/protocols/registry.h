// The protocol registry: one row per protocol, keyed by name, with its wire version.
//
// Adding a protocol means two factories in protocols/<file>.{h,cpp} from one setup function,
// make_<name> (the full one) and make_<name>_client (the encoder-only one make_client_protocol()
// uses); a row naming it in each of the tables of protocol_info.cpp, registry.cpp and
// client_protocol.cpp (registry_internal.h says why three); a test under tests/unit/protocols/
// and a page under docs/protocols/. CTest checks fail when a registered protocol lacks the
// test or the page, or the three tables do not name the same protocols.
//
//   for (const ProtocolInfo& info : registered_protocols()) std::cout << info.name;
//   Protocol p = make_protocol(complete_params({.protocol = "ss", .k = 64, .epsilon = 2}));
#pragma once

#include <span>
#include <string_view>

#include "residue/protocols/mss_moduli.h"
#include "residue/protocols/params.h"
#include "residue/protocols/protocol.h"

namespace residue {

struct ProtocolInfo {
  std::string_view name;     ///< "mss"
  int version;               ///< bumped when the report bits change
  std::string_view summary;  ///< one line for --help
  std::string_view file;  ///< file stem: protocols/<file>.cpp, tests/unit/protocols/<file>_test.cpp
};

std::span<const ProtocolInfo> registered_protocols();

/// Throws Error listing the known names when `name` is unknown.
const ProtocolInfo& find_protocol(std::string_view name);

/// Fills what `params` leaves open: MSS moduli (select_moduli with `options`) and the
/// optimal subset sizes. Validates k and epsilon first.
ProtocolParams complete_params(ProtocolParams params, const ModuliOptions& options = {});

/// Validates `params` and builds the protocol. Throws Error naming the bad field.
Protocol make_protocol(const ProtocolParams& params);

}  // namespace residue

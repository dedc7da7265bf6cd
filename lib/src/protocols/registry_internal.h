// Registry internals (not installed). The registry is three tables in three translation units,
// so that a device links only what encodes:
//   protocol_info.cpp    names and wire versions (find_protocol, protocol_id): no factory;
//   registry.cpp         the full factories (make_protocol): encoder, estimator and attack;
//   client_protocol.cpp  the encoder-only factories (make_client_protocol).
// Both factory tables list their rows in the order of registered_protocols().
#pragma once

#include <cstddef>
#include <string_view>

#include "residue/protocols/client_protocol.h"
#include "residue/protocols/params.h"

namespace residue {

inline constexpr std::size_t kProtocolCount = 8;

/// Position of `name` in registered_protocols(). Throws Error like find_protocol().
std::size_t protocol_index(std::string_view name);

/// The encoder-only factories, each defined next to its protocol's full factory and sharing
/// its setup: same validation and errors, same completed params, shape and encoder.
ClientProtocol make_mss_client(const ProtocolParams& params);
ClientProtocol make_subset_selection_client(const ProtocolParams& params);
ClientProtocol make_grr_client(const ProtocolParams& params);
ClientProtocol make_sue_client(const ProtocolParams& params);
ClientProtocol make_oue_client(const ProtocolParams& params);
ClientProtocol make_olh_client(const ProtocolParams& params);
ClientProtocol make_hadamard_response_client(const ProtocolParams& params);
ClientProtocol make_projective_geometry_client(const ProtocolParams& params);

}  // namespace residue

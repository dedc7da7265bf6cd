// ProtocolParams: everything a client needs to randomize for a task, and the aggregator
// needs to decode it. Serializable to JSON because the daemon publishes it to clients.
//
// `protocol` names a registered protocol ("mss", "ss"); its versioned id, such as
// "residue.mss.1", changes whenever the report bits change and is written into every
// batch and stored tally. complete_params() fills in what was left out (moduli for MSS,
// subset sizes), make_protocol() validates and builds.
//
//   ProtocolParams p{.protocol = "mss", .k = 1024, .epsilon = 1.0};
//   p = complete_params(p);          // picks moduli and subset sizes
//   Protocol mss = make_protocol(p);
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace residue {

struct ProtocolParams {
  /// Registered protocol name (protocols/registry.h): "mss", "ss", "grr", "sue", "oue",
  /// "olh", "hr", "pgr".
  std::string protocol;
  /// Domain size: values are indices in [0, k).
  uint32_t k = 0;
  /// Privacy budget of one report (epsilon-LDP).
  double epsilon = 0;
  /// MSS only: pairwise-coprime moduli m_0..m_{l-1}. Empty means "choose" (complete_params).
  std::vector<uint32_t> moduli;
  /// Subset size omega of each block (MSS: one per modulus; SS: one). Empty means "optimal".
  std::vector<uint32_t> subset_sizes;
  /// OLH only: the number of hash functions in its public pool. Fixed by (k, epsilon)
  /// (protocols/local_hash.h); 0 lets the factory fill it, any other value must match.
  uint32_t seeds = 0;

  bool operator==(const ProtocolParams&) const = default;
};

/// Throws Error unless k >= 2 and epsilon is finite in (0, 50]; every factory calls it.
void check_k_and_epsilon(const ProtocolParams& params);

/// The optional fields of ProtocolParams a protocol reads.
struct ParamsUse {
  bool moduli = false;
  bool subset_sizes = false;
  bool seeds = false;
};

/// Throws Error naming the first optional field `params` sets that its protocol does not read
/// ("grr: moduli do not apply to grr (they are MSS's); leave them empty, but there are 3.").
void check_unused_params(const ProtocolParams& params, ParamsUse used);

/// Versioned id of the report encoding, e.g. "residue.mss.1". Throws Error for an unknown name.
std::string protocol_id(const ProtocolParams& params);

/// The canonical JSON of `params` (sorted keys, no spaces) and its fingerprint: the first 16
/// bytes of SHA-256 over it. Clients echo the fingerprint in every batch; a mismatch means
/// they encode for other parameters.
std::string canonical_json(const ProtocolParams& params);
std::array<uint8_t, 16> params_hash(const ProtocolParams& params);

/// The fingerprint of a task: of its parameters and of the identity of its domain
/// (Domain::id(); "" for a task of bare indices, whose hash is params_hash(params)). This is
/// the hash clients echo: a dictionary reordered under the same parameters is another task,
/// so reports encoded against one order are never counted under another. The first 16 bytes
/// of SHA-256 over canonical_json(params), a newline and the domain id.
std::array<uint8_t, 16> task_hash(const ProtocolParams& params, std::string_view domain_id);

nlohmann::json to_json(const ProtocolParams& params);
/// Throws Error naming the missing or ill-typed field.
ProtocolParams params_from_json(const nlohmann::json& json);

}  // namespace residue

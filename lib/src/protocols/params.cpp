#include "residue/protocols/params.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "residue/core/error.h"
#include "residue/protocols/registry.h"

namespace residue {

void check_k_and_epsilon(const ProtocolParams& params) {
  if (params.k < 2) throw Error("k must be at least 2, but is " + std::to_string(params.k) + ".");
  if (!(params.epsilon > 0) || !std::isfinite(params.epsilon) || params.epsilon > 50) {
    throw Error("epsilon must be in (0, 50], but is " + std::to_string(params.epsilon) + ".");
  }
}

void check_unused_params(const ProtocolParams& params, ParamsUse used) {
  const std::string& p = params.protocol;
  if (!used.moduli && !params.moduli.empty()) {
    throw Error(p + ": moduli do not apply to " + p + " (they are MSS's); leave them empty, but " +
                "there are " + std::to_string(params.moduli.size()) + ".");
  }
  if (!used.subset_sizes && !params.subset_sizes.empty()) {
    throw Error(p + ": subset_sizes do not apply to " + p + " (SS and MSS use them); leave them " +
                "empty, but there are " + std::to_string(params.subset_sizes.size()) + ".");
  }
  if (!used.seeds && params.seeds != 0) {
    throw Error(p + ": seeds do not apply to " + p +
                " (they size OLH's hash pool); leave them 0, " + "but they are " +
                std::to_string(params.seeds) + ".");
  }
}

std::string protocol_id(const ProtocolParams& params) {
  const ProtocolInfo& info = find_protocol(params.protocol);
  return "residue." + std::string(info.name) + "." + std::to_string(info.version);
}

std::string canonical_json(const ProtocolParams& params) {
  return to_json(params).dump();
}

namespace {

std::array<uint8_t, 16> truncated_sha256(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  std::array<uint8_t, 16> out{};
  std::copy_n(digest, out.size(), out.begin());
  return out;
}

}  // namespace

std::array<uint8_t, 16> params_hash(const ProtocolParams& params) {
  return truncated_sha256(canonical_json(params));
}

std::array<uint8_t, 16> task_hash(const ProtocolParams& params, std::string_view domain_id) {
  if (domain_id.empty()) return params_hash(params);
  return truncated_sha256(canonical_json(params) + "\n" + std::string(domain_id));
}

nlohmann::json to_json(const ProtocolParams& params) {
  return {{"protocol", params.protocol},
          {"id", protocol_id(params)},
          {"k", params.k},
          {"epsilon", params.epsilon},
          {"moduli", params.moduli},
          {"subset_sizes", params.subset_sizes},
          {"seeds", params.seeds}};
}

namespace {

template <typename T>
T field(const nlohmann::json& json, const char* name) {
  if (!json.contains(name))
    throw Error(std::string("protocol params: missing field \"") + name + "\".");
  try {
    return json.at(name).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(std::string("protocol params: field \"") + name +
                "\" has the wrong type: " + json.at(name).dump() + ".");
  }
}

}  // namespace

ProtocolParams params_from_json(const nlohmann::json& json) {
  if (!json.is_object())
    throw Error("protocol params: expected a JSON object, got " + json.dump() + ".");
  ProtocolParams p;
  p.protocol = field<std::string>(json, "protocol");
  p.k = field<uint32_t>(json, "k");
  p.epsilon = field<double>(json, "epsilon");
  if (json.contains("moduli")) p.moduli = field<std::vector<uint32_t>>(json, "moduli");
  if (json.contains("subset_sizes"))
    p.subset_sizes = field<std::vector<uint32_t>>(json, "subset_sizes");
  if (json.contains("seeds")) p.seeds = field<uint32_t>(json, "seeds");
  if (json.contains("id") && field<std::string>(json, "id") != protocol_id(p)) {
    throw Error("protocol params: id \"" + field<std::string>(json, "id") +
                "\" is not the id this library uses for that protocol, \"" + protocol_id(p) +
                "\".");
  }
  return p;
}

}  // namespace residue

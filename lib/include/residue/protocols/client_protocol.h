// ClientProtocol: the half of a protocol a device needs — validated parameters, the report
// shape and the encoder — without estimators, solvers or attacks, so that an app embedding
// the client SDK links none of them (docs/results.md records the client library's size).
//
//   ClientProtocol p = make_client_protocol(params_from_json(task["params"]));
//   p.encoder->encode(index, rng, report);
#pragma once

#include <memory>
#include <string>

#include "residue/protocols/params.h"
#include "residue/protocols/protocol.h"
#include "residue/protocols/report.h"

namespace residue {

struct ClientProtocol {
  ProtocolParams params;
  std::string id;  ///< versioned, e.g. "residue.mss.3"
  ReportShape shape;
  std::shared_ptr<const Encoder> encoder;
};

/// Validates complete parameters (as the daemon publishes them) and builds the client half.
/// Throws Error naming the bad field, or the unknown protocol.
ClientProtocol make_client_protocol(const ProtocolParams& params);

}  // namespace residue

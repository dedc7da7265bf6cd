// Hadamard response (placeholder: being implemented).
#pragma once

#include "residue/protocols/params.h"
#include "residue/protocols/protocol.h"

namespace residue {

Protocol make_hadamard_response(const ProtocolParams& params);

}  // namespace residue

// k-ary randomized response (placeholder: being implemented).
#pragma once

#include "residue/protocols/params.h"
#include "residue/protocols/protocol.h"

namespace residue {

Protocol make_grr(const ProtocolParams& params);

}  // namespace residue

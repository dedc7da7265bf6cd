// unary encodings (placeholder: being implemented).
#pragma once

#include "residue/protocols/params.h"
#include "residue/protocols/protocol.h"

namespace residue {

Protocol make_sue(const ProtocolParams& params);
Protocol make_oue(const ProtocolParams& params);

}  // namespace residue

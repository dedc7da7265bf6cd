// optimal local hashing (placeholder: being implemented).
#pragma once

#include "residue/protocols/params.h"
#include "residue/protocols/protocol.h"

namespace residue {

Protocol make_olh(const ProtocolParams& params);

}  // namespace residue

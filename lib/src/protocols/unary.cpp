#include "residue/protocols/unary.h"

#include "residue/core/error.h"

namespace residue {

Protocol make_sue(const ProtocolParams& params) {
  throw Error(params.protocol + ": not implemented yet.");
}

Protocol make_oue(const ProtocolParams& params) {
  throw Error(params.protocol + ": not implemented yet.");
}

}  // namespace residue

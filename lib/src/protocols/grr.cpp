#include "residue/protocols/grr.h"

#include "residue/core/error.h"

namespace residue {

Protocol make_grr(const ProtocolParams& params) {
  throw Error(params.protocol + ": not implemented yet.");
}

}  // namespace residue

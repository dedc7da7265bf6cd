#include "residue/protocols/hadamard.h"

#include "residue/core/error.h"

namespace residue {

Protocol make_hadamard_response(const ProtocolParams& params) {
  throw Error(params.protocol + ": not implemented yet.");
}

}  // namespace residue

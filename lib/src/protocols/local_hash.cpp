#include "residue/protocols/local_hash.h"

#include "residue/core/error.h"

namespace residue {

Protocol make_olh(const ProtocolParams& params) {
  throw Error(params.protocol + ": not implemented yet.");
}

}  // namespace residue

#include "residue/protocols/projective_geometry.h"

#include "residue/core/error.h"

namespace residue {

Protocol make_projective_geometry(const ProtocolParams& params) {
  throw Error(params.protocol + ": not implemented yet.");
}

}  // namespace residue

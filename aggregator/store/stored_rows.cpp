#include "stored_rows.h"

#include "residue/core/error.h"

namespace residue {

void throw_wrong_size(const std::string& where, const std::string& what, std::size_t size,
                      std::size_t expected) {
  throw Error(where + ": " + what + " of " + std::to_string(size) + " bytes, not " +
              std::to_string(expected) + ".");
}

}  // namespace residue

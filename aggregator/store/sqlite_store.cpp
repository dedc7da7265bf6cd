#include "sqlite_store.h"

#include "residue/core/error.h"

namespace residue {

std::unique_ptr<Store> open_sqlite_store(const std::filesystem::path& dir) {
  throw Error("sqlite store: not implemented yet (" + dir.string() + ").");
}

}  // namespace residue

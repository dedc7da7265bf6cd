// The embedded Store: one SQLite database in a data directory, WAL journal with
// synchronous=FULL, so a commit() that returned survives a process or machine crash.
//
//   std::unique_ptr<Store> store = open_sqlite_store("residue-data");
#pragma once

#include <filesystem>
#include <memory>

#include "store.h"

namespace residue {

/// Opens (creating if needed, mode 0700) `dir` and its database `dir/residue.db`. Throws
/// Error naming the path if it cannot, or if the database's schema version is newer than this
/// program's.
std::unique_ptr<Store> open_sqlite_store(const std::filesystem::path& dir);

}  // namespace residue

// A task's tally read from wherever it is kept, and the exported tally file: what `residue
// decode`, `verify` and `export-tally` open, and what each rank of `residue reduce` reads.
// docs/deployment.md describes the inputs and the file.
//
//   TaskTally eu = read_task_tally("/var/lib/residue", "words");           // a SQLite data_dir
//   TaskTally all = read_task_tally("postgres:host=db1 dbname=residue", "words");  // every shard
//   write_tally_file("words-eu.tally", eu);                  // read_task_tally reads it back
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "estimates.h"
#include "residue/core/domain.h"
#include "residue/protocols/tally.h"
#include "store.h"

namespace residue {

/// A task's parameters, counters and committed tally, as one store (or file) holds them.
struct TaskTally {
  TaskRecord record;
  Tally tally;
};

/// The store `input` names, for reading: a daemon's data directory (SQLite; it must hold
/// residue.db), "postgres:<libpq connection string>", or a "postgresql://" / "postgres://" URI.
/// A PostgreSQL store must have exactly this program's schema version. Throws Error naming it.
std::unique_ptr<Store> open_input_store(const std::string& input);

/// The tally of `task` in `input`: a store as above, or a file written by write_tally_file.
/// Throws Error naming the input (and the tasks it has, when `task` is not one of them).
TaskTally read_task_tally(const std::string& input, const std::string& task);

/// The estimates of `task` in `input` (read as read_task_tally reads it), through the daemon's
/// decode (estimates.h): what `residue decode` prints and the Python module's read_store
/// returns. `dictionary`, when given, must be the task's (task_from_record). Throws Error.
TaskEstimates estimate_input(const std::string& input, const std::string& task,
                             std::optional<Domain> dictionary, std::size_t top,
                             Postprocess postprocess);

/// Writes `t` as JSON: {"format": "residue.tally.2", "task", "params" (ProtocolParams JSON),
/// "domain" (Domain::id(), "" for bare indices), "params_hash" (hex, task_hash), "batches",
/// "reports", "last_batch", "tally" (base64 of encode_tally, docs/wire_format.md)}. Version 1
/// files (no "domain") are still read. Throws Error naming the path.
void write_tally_file(const std::filesystem::path& path, const TaskTally& t);

}  // namespace residue

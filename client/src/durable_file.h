// Durable files: how every client state file (budget, cached task, secrets, memoization
// versions, the queue's compaction) reaches the disk so that a crash can neither tear it nor
// roll it back. A replacement is written to a temporary file next to it, fsync'ed, renamed
// over it, and then the directory is fsync'ed: without that last step the rename itself may
// be lost in a crash, and an old budget file would come back with reports already spent.
// Every file is created with mode 0600. Errors are residue::Error naming the file.
//
//   write_durable_file(state_dir / "budget-words", bytes);    // replaced whole, or not at all
//   if (!create_durable_file(state_dir / "queue.key", key))   // someone else created it first
//     key = *read_file(state_dir / "queue.key");
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

namespace residue {

/// Replaces `path` with `bytes` atomically and durably: temporary file, fsync, rename, fsync
/// of the directory.
void write_durable_file(const std::filesystem::path& path, std::span<const uint8_t> bytes);

/// Creates `path` holding `bytes`, durably, unless a file of that name exists: returns false
/// then and leaves it alone (link() of a fsync'ed temporary file, fsync of the directory), so
/// of two processes creating the same file at once exactly one wins.
bool create_durable_file(const std::filesystem::path& path, std::span<const uint8_t> bytes);

/// The bytes of `path`; nullopt if it does not exist. Any other failure is an Error: state
/// that exists but cannot be read must not be silently replaced.
std::optional<std::vector<uint8_t>> read_file(const std::filesystem::path& path);

/// fsyncs the directory holding `path`, so that a rename or creation of `path` survives a
/// crash.
void sync_parent_directory(const std::filesystem::path& path);

}  // namespace residue

// What every Store checks when a task is declared (register_task): the tally it is given is
// empty, and a task already stored keeps the parameters and the domain its data was counted
// under. Shared by the SQLite and PostgreSQL stores, so both refuse the same things in the
// same words.
#pragma once

#include <span>
#include <string>

#include "residue/protocols/tally.h"
#include "store.h"

namespace residue {

/// True when no block of `tally` holds a count or a report.
bool is_empty(const Tally& tally);

/// Throws Error (prefixed by `where`) unless `empty` holds no counts.
void check_empty_for_registration(const std::string& where, const std::string& task,
                                  const Tally& empty);

/// Throws Error (prefixed by `where`) unless the task stored as (stored_hash, stored_domain)
/// is the one declared as (hash, domain). A changed dictionary or artifact gets its own
/// message: the stored counts are indexed by position, so a reordered or edited dictionary would
/// relabel them, and reports made against one artifact mean nothing under another.
void check_same_task(const std::string& where, const std::string& task,
                     std::span<const uint8_t> stored_hash, const std::string& stored_domain,
                     const ParamsHash& hash, const std::string& domain);

}  // namespace residue

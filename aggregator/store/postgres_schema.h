// The PostgreSQL store's schema `residue`. Its version is the largest in
// residue.schema_migrations; the migrations of postgres_schema.cpp are applied in order, in one
// transaction, under an advisory lock, by whichever program connects first with `migrate`; a
// database with a version this program does not know is refused.
//   tasks(name PK, params_json, params_hash bytea(16), empty_tally bytea, domain)
//       empty_tally is encode_tally of the task's empty tally: its protocol id and shape;
//       domain is Domain::id() of its dictionary, '' for bare indices (migration 2; tasks
//       registered before it get '', which is what their parameter hashes were computed with).
//   batches(id bytea(16) PK, sequence identity, task, shard, received, received_day, reports)
//       The ledger. Not partitioned, so its primary key holds across days and daemons.
//   batch_bodies(received_day, id, body) PARTITION BY RANGE (received_day)
//       The raw batches, one partition per UTC day (batch_bodies_YYYY_MM_DD, made a day ahead
//       by ensure_day_partition()), so that retention drops whole days.
//   tally(task, shard, block, reports, counts bytea) PK (task, shard, block)
//       One shard's counts of one block, 8 bytes big-endian per position (unpack_counts());
//       a task's tally is the sum over its shards (view task_counts).
//   shard_totals(task, shard, batches, reports, last_batch, version) PK (task, shard)
//       version counts the commits that changed the shard's rows.
// Nothing identifies a client: no address, token or user agent is stored.
#pragma once

#include "pg_connection.h"

namespace residue::pg {

/// Brings the schema to this program's version (postgres_schema_version()) with `migrate`,
/// or only checks that it is at that version without. Throws Error prefixed by db.where()
/// when the schema is newer than this program's, or, without `migrate`, missing or older.
void migrate_schema(Connection& db, bool migrate);

}  // namespace residue::pg

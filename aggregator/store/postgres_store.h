// The Store for many daemons: PostgreSQL 15 through libpq. Every residued of a deployment
// points at the same database; each writes its own shard of tally rows, and the batch-id
// primary key, written in the same transaction as the raw batch and the tally update, makes a
// batch count once whichever daemon took it, also when a client retries it against another.
// The schema (`residue`) is created and migrated by the first program that connects; one newer
// than this program's is refused. docs/deployment.md is the operator's guide; the schema is
// described in postgres_schema.h, the commit path at the top of postgres_store.cpp.
//
//   std::unique_ptr<Store> store =
//       open_postgres_store({.conninfo = "host=db1 dbname=residue user=residued", .shard = 2});
//   store->register_task("words", params_json, hash, protocol.new_tally());
//   store->commit(batches);   // committed (synchronous_commit on) when it returns
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "store.h"

namespace residue {

struct PostgresStoreOptions {
  /// A libpq connection string ("host=db1 port=5432 dbname=residue user=residued") or URI
  /// ("postgresql://residued@db1/residue"). Keep the password out of it: libpq reads
  /// ~/.pgpass, PGPASSFILE or `passfile=`.
  std::string conninfo;
  /// The tally rows this program writes, in [0, 2^31). Give every daemon its own: its rows then
  /// never wait on another daemon's. Daemons sharing a shard still count correctly, only slower.
  uint32_t shard = 0;
  /// Create or migrate the schema (the daemon). False (offline tools): the schema must exist at
  /// exactly this program's version, and nothing is written but what the caller commits.
  bool migrate = true;
  /// After the connection is lost, the first reconnect is immediate; then the waits between
  /// attempts double from `reconnect_min` up to `reconnect_max`, and commits fail at once
  /// (the daemon answers 503) until the next attempt.
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
};

/// Connects, then creates, migrates or checks the schema. Throws Error naming the server (host,
/// port, database and user; never the password) when it cannot connect, when the schema is newer
/// than this program's, or, with `migrate` false, when it is missing or older.
std::unique_ptr<Store> open_postgres_store(const PostgresStoreOptions& options);

/// The schema version this program creates and expects (residue.schema_migrations).
int postgres_schema_version();

/// "host=db1 port=5432 dbname=residue user=residued": the parts of a connection string that
/// say where it leads, for messages and logs; never its password.
std::string describe_conninfo(const std::string& conninfo);

}  // namespace residue

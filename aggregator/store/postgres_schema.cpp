#include "postgres_schema.h"

#include <cstdlib>
#include <iterator>

#include "postgres_store.h"

namespace residue {
namespace pg {
namespace {

// Serializes schema migrations and partition creation between programs ("residue\0").
constexpr int64_t kSchemaLockKey = 0x7265736964756500;
constexpr int64_t kPartitionLockKey = 0x7265736964756501;

struct Migration {
  int version;
  const char* description;
  const char* sql;
};

// Append only: a released migration never changes; a new one gets the next version.
constexpr Migration kMigrations[] = {
    {1, "tasks, batch ledger, raw batches by day, per-shard tallies", R"sql(
CREATE TABLE residue.tasks(
  name text PRIMARY KEY,
  params_json text NOT NULL,
  params_hash bytea NOT NULL CHECK (length(params_hash) = 16),
  empty_tally bytea NOT NULL,
  registered timestamptz NOT NULL DEFAULT now());

CREATE TABLE residue.batches(
  id bytea PRIMARY KEY CHECK (length(id) = 16),
  sequence bigint GENERATED ALWAYS AS IDENTITY,
  task text NOT NULL,
  shard integer NOT NULL,
  received bigint NOT NULL,
  received_day integer NOT NULL,
  reports integer NOT NULL);
CREATE INDEX batches_by_task ON residue.batches(task, sequence);

CREATE TABLE residue.batch_bodies(
  received_day integer NOT NULL,
  id bytea NOT NULL,
  body bytea NOT NULL,
  PRIMARY KEY (received_day, id)) PARTITION BY RANGE (received_day);
-- Batch bodies are random bits: compressing them only costs time. Partitions inherit this.
ALTER TABLE residue.batch_bodies ALTER COLUMN body SET STORAGE EXTERNAL;

-- Rewritten by every commit of their shard: room on the page keeps updates HOT. counts holds
-- 8 bytes big-endian per position: a bigint[] cost the server 1 ms per commit at k = 1024 to
-- receive and slice (array_recv per element); bytes are copied.
CREATE TABLE residue.tally(
  task text NOT NULL,
  shard integer NOT NULL,
  block integer NOT NULL,
  reports bigint NOT NULL,
  counts bytea NOT NULL CHECK (length(counts) % 8 = 0),
  PRIMARY KEY (task, shard, block)) WITH (fillfactor = 50);
-- Compressed in the row (no TOAST table), with lz4: pglz took 2.8 ms of each commit at k = 1024.
ALTER TABLE residue.tally ALTER COLUMN counts SET STORAGE MAIN;
DO $$ BEGIN
  ALTER TABLE residue.tally ALTER COLUMN counts SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN NULL;  -- a server built without lz4 keeps pglz
END $$;

CREATE TABLE residue.shard_totals(
  task text NOT NULL,
  shard integer NOT NULL,
  batches bigint NOT NULL DEFAULT 0,
  reports bigint NOT NULL DEFAULT 0,
  last_batch bigint NOT NULL DEFAULT 0,
  version bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (task, shard)) WITH (fillfactor = 50);

-- The partition of batch_bodies for one UTC day (days since 1970-01-01), made if missing.
CREATE FUNCTION residue.ensure_day_partition(day integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  part text := 'batch_bodies_' || to_char(date '1970-01-01' + day, 'YYYY_MM_DD');
BEGIN
  IF to_regclass('residue.' || part) IS NOT NULL THEN RETURN; END IF;
  PERFORM pg_advisory_xact_lock(8243121589465736449);
  BEGIN
    EXECUTE format('CREATE TABLE residue.%I PARTITION OF residue.batch_bodies '
                   'FOR VALUES FROM (%s) TO (%s)', part, day, day + 1);
  EXCEPTION WHEN duplicate_table OR unique_violation THEN
    NULL;  -- another program made it while this one waited for the lock
  END;
END $$;

-- The (position, count) pairs of a tally row's counts (pos: "position" is a keyword here).
CREATE FUNCTION residue.unpack_counts(counts bytea) RETURNS TABLE(pos integer, count bigint)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT i, ('x' || encode(substring(counts FROM 8 * i + 1 FOR 8), 'hex'))::bit(64)::bigint
  FROM generate_series(0, length(counts) / 8 - 1) AS i
$$;

-- Sums over the shards, for people and scripts; the program sums the shards itself.
CREATE VIEW residue.task_counts AS
  SELECT t.task, t.block, u.pos AS position, sum(u.count)::bigint AS count
  FROM residue.tally t, residue.unpack_counts(t.counts) AS u
  GROUP BY t.task, t.block, u.pos;
CREATE VIEW residue.task_totals AS
  SELECT task, sum(batches)::bigint AS batches, sum(reports)::bigint AS reports,
         max(last_batch) AS last_batch
  FROM residue.shard_totals GROUP BY task;
)sql"},
    {2, "tasks.domain: the identity of a task's dictionary", R"sql(
ALTER TABLE residue.tasks ADD COLUMN domain text NOT NULL DEFAULT '';
)sql"},
};
static_assert(kPartitionLockKey == 8243121589465736449, "the key in ensure_day_partition()");

constexpr int kLatestVersion = kMigrations[std::size(kMigrations) - 1].version;

}  // namespace

void migrate_schema(Connection& db, bool migrate) {
  const std::string& where = db.where();
  Transaction tx(db);
  db.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kSchemaLockKey) + ")");
  Result exists = db.exec("SELECT to_regclass('residue.schema_migrations') IS NOT NULL");
  const bool has_table = PQgetvalue(exists.get(), 0, 0)[0] == 't';
  if (!has_table && !migrate) {
    throw Error(where + ": the database has no Residue schema; start residued with store = " +
                "\"postgres\" on it first.");
  }
  int version = 0;
  if (has_table) {
    Result r = db.exec("SELECT coalesce(max(version), 0) FROM residue.schema_migrations");
    version = std::atoi(PQgetvalue(r.get(), 0, 0));
  }
  if (version > kLatestVersion) {
    throw Error(where + ": the schema has version " + std::to_string(version) +
                ", newer than this program's " + std::to_string(kLatestVersion) +
                "; use the newer Residue that migrated it.");
  }
  if (version < kLatestVersion && !migrate) {
    throw Error(where + ": the schema has version " + std::to_string(version) +
                ", older than this program's " + std::to_string(kLatestVersion) +
                "; start a residued of this version on it once to migrate it.");
  }
  if (version == kLatestVersion) return;  // nothing written: the transaction rolls back
  db.exec("CREATE SCHEMA IF NOT EXISTS residue");
  db.exec(
      "CREATE TABLE IF NOT EXISTS residue.schema_migrations(version integer PRIMARY KEY, "
      "description text NOT NULL, applied timestamptz NOT NULL DEFAULT now())");
  for (const Migration& m : kMigrations) {
    if (m.version <= version) continue;
    db.exec(m.sql);
    Params p;
    p.int4(m.version).bytes(std::string(m.description));
    db.exec(Statement{"residue_record_migration",
                      "INSERT INTO residue.schema_migrations(version, description) "
                      "VALUES ($1::integer, $2::text)"},
            p);
  }
  tx.commit();
}

}  // namespace pg

int postgres_schema_version() {
  return pg::kLatestVersion;
}

}  // namespace residue

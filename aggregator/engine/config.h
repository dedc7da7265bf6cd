// The daemon's configuration: a TOML file (docs/operators.md has the reference), validated
// whole at start-up so that a bad file stops the daemon with a message naming the field.
//
//   DaemonConfig c = load_config("residued.toml");
//   for (const TaskConfig& t : c.tasks) ...
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "residue/protocols/params.h"
#include "residue/retrieval/memory_stage.h"

namespace residue {

/// What a bearer token may do (docs/operators.md, "Tokens and roles").
enum class Role {
  kReport,  ///< upload batches; read the tasks' public parameters
  kRead,    ///< read estimates (and /metrics on the main listener); the tasks' parameters
  kAdmin,   ///< operator endpoints; implies kRead
};

/// "report", "read", "admin".
const char* role_name(Role role);

struct TokenConfig {
  std::string name;
  /// SHA-256 of the bearer token (the token itself is never in the file).
  std::array<uint8_t, 32> sha256{};
  /// The least privilege by default: a device's upload token reads nothing but parameters.
  std::vector<Role> roles = {Role::kReport};
  /// Sustained reports per second the token may upload (burst: one second's worth); 0: no limit.
  double reports_per_second = 0;
  /// Accepted reports per UTC day; 0: no quota.
  uint64_t daily_quota = 0;
};

/// What a task collects (docs/operators.md, "Task kinds").
enum class TaskKind {
  kFrequency,  ///< value frequencies (the default)
  kMemory,     ///< (cell, next token) reports of a private retrieval memory (docs/memory.md)
  kVocab,      ///< candidate units of a dynamic vocabulary (docs/vocab.md)
};

/// "frequency", "memory", "vocab".
const char* task_kind_name(TaskKind kind);

/// How residued builds a memory or vocab task from its stored reports (docs/operators.md,
/// "Builds"). The vocab fields are `residue vocab build`'s flags of the same names.
struct BuildConfig {
  /// The public corpus (a directory of sentences.tsv) the artifact was prepared from.
  std::filesystem::path corpus;
  /// Its category that is the private domain's stand-in (the tuning and test text); the other
  /// categories are the general corpus. Brown's "learned", as the tool's builds use.
  std::string corpus_domain = "learned";
  /// Seconds between scheduled builds; 0: only on POST /v1/tasks/{task}/build.
  uint64_t every_seconds = 3600;
  /// FAISS and tuning threads of a build (the daemon's other threads keep serving).
  unsigned threads = 1;
  /// Corpus::split_domain seed of the tuning split (memory) or test split (vocab).
  uint64_t split_seed = 1;
  uint32_t dimension = 64;          ///< vocab: unit embedding dimension
  std::size_t public_units = 2048;  ///< vocab: public units the embedder trains on
  std::size_t max_units = 1000;     ///< vocab: U, most units admitted
  double z = 0;                     ///< vocab: significance in standard errors (0: Bonferroni)
};

struct TaskConfig {
  std::string name;
  TaskKind kind = TaskKind::kFrequency;
  /// protocol, k, epsilon, optional moduli; the rest is completed at start-up.
  ProtocolParams params;
  /// A dictionary domain: one value per line (k is then the number of lines).
  std::optional<std::filesystem::path> dictionary;
  /// A memory or vocab task's public pieces, as devices download them; set exactly for those.
  std::optional<std::filesystem::path> artifact;
  /// A memory task's report (docs/operators.md, "Task kinds"): joint, or a stage of the
  /// two-stage shortlist protocol.
  MemoryStage stage = MemoryStage::kJoint;
  /// Stage two (kShortlist): the name of its stage-one (kTokens) task, whose unigram estimate
  /// its builds read; empty otherwise.
  std::string stage_one;
  /// MSS moduli search bound (used only when moduli are not given).
  double max_inflation = 1.15;
  /// A memory or vocab task's builds; nullopt: it collects only (and is built offline with
  /// `residue memory build --data` / `residue vocab build --data`).
  std::optional<BuildConfig> build;
};

struct TlsConfig {
  std::filesystem::path certificate;
  std::filesystem::path private_key;
  /// When set, clients must present a certificate signed by this CA.
  std::optional<std::filesystem::path> client_ca;
};

/// Where a daemon keeps its state (docs/deployment.md for several daemons).
enum class StoreKind {
  kSqlite,    ///< data_dir/residue.db: one daemon (the default)
  kPostgres,  ///< a PostgreSQL database shared by many daemons
};

struct PostgresConfig {
  /// libpq connection string or URI; passwords belong in a passfile, not here.
  std::string conninfo;
  /// This daemon's tally rows; give every daemon its own.
  uint32_t shard = 0;
};

struct Address {
  std::string host;
  uint16_t port = 0;  ///< 0: any free port
};

struct DaemonConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8750;
  /// When set, GET /metrics is served there (plain HTTP, no token) and not on the main
  /// listener; otherwise the main listener serves it to `read` tokens.
  std::optional<Address> metrics_listen;
  StoreKind store = StoreKind::kSqlite;
  /// kSqlite: the store's directory.
  std::filesystem::path data_dir = "residue-data";
  /// Set exactly when store is kPostgres.
  std::optional<PostgresConfig> postgres;
  std::vector<TokenConfig> tokens;
  std::vector<TaskConfig> tasks;
  std::optional<TlsConfig> tls;
  uint64_t max_body_bytes = 64 << 20;
  uint32_t max_reports_per_batch = 100000;
  /// Most report positions one batch may parse into (4 bytes each): a task's published
  /// max_reports_per_batch is lowered to fit it (docs/operators.md, "Memory").
  uint64_t max_positions_per_batch = uint64_t{1} << 24;
  /// Largest `top` of GET /estimates.
  uint32_t max_top = 1000;
  int read_timeout_seconds = 10;
  int threads = 8;
  /// Most batches committed in one transaction (group commit).
  uint32_t max_commit_group = 512;
};

/// Parses and validates `path`. Throws Error naming the file, and the line or the
/// "tasks[1] (words): epsilon" field, on any problem. Relative paths in the file are resolved
/// against the file's directory.
DaemonConfig load_config(const std::filesystem::path& path);

/// Parses "host:port". Throws Error naming `what` on a bad form.
Address parse_address(const std::string& text, const std::string& what);
/// parse_address into the main listener's host and port.
void parse_listen(const std::string& listen, const std::string& what, DaemonConfig& into);

}  // namespace residue

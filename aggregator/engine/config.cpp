#include "config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <span>
#include <sstream>
#include <string_view>

#include "residue/core/error.h"

namespace residue {
namespace {

std::string where(const toml::source_region& source) {
  return source.begin.line > 0 ? ":" + std::to_string(source.begin.line) : "";
}

// A typed field of a TOML table: absent gives nullopt, the wrong type an Error naming it.
template <typename T>
std::optional<T> get(const toml::table& table, const std::string& key, const std::string& context) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return std::nullopt;
  if constexpr (std::is_same_v<T, double>) {
    if (auto v = node->value<double>()) return *v;  // integers convert too
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (node->is_integer()) return node->as_integer()->get();
  } else {
    if (auto v = node->value<T>()) return *v;
  }
  throw Error(context + key + " has the wrong type (line " +
              std::to_string(node->source().begin.line) + ").");
}

template <typename T>
T require(const toml::table& table, const std::string& key, const std::string& context) {
  std::optional<T> v = get<T>(table, key, context);
  if (!v) throw Error(context + key + " is missing.");
  return *v;
}

uint64_t non_negative(int64_t v, const std::string& name) {
  if (v < 0) throw Error(name + " must not be negative, but is " + std::to_string(v) + ".");
  return static_cast<uint64_t>(v);
}

std::array<uint8_t, 32> parse_sha256_hex(const std::string& hex, const std::string& name) {
  std::array<uint8_t, 32> out{};
  if (hex.size() != 64) {
    throw Error(name + " must be 64 hex digits (SHA-256 of the token), but has " +
                std::to_string(hex.size()) + " characters.");
  }
  for (std::size_t i = 0; i < 32; ++i) {
    int byte = 0;
    for (int half = 0; half < 2; ++half) {
      const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(hex[2 * i + half])));
      const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (digit < 0) throw Error(name + " has a non-hex character '" + std::string(1, c) + "'.");
      byte = byte * 16 + digit;
    }
    out[i] = static_cast<uint8_t>(byte);
  }
  return out;
}

// A table's keys must all be known: a misspelt optional key would otherwise be ignored.
void check_keys(const toml::table& table, std::span<const std::string_view> known,
                const std::string& context) {
  for (const auto& [key, value] : table) {
    if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
      throw Error(context + "unknown key \"" + std::string(key.str()) + "\" (line " +
                  std::to_string(value.source().begin.line) + ").");
    }
  }
}

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& path) {
  const std::filesystem::path p(path);
  return p.is_absolute() ? p : base / p;
}

TaskKind parse_kind(const toml::table& t, const std::string& context) {
  const std::string name = get<std::string>(t, "kind", context).value_or("frequency");
  for (const TaskKind kind : {TaskKind::kFrequency, TaskKind::kMemory, TaskKind::kVocab}) {
    if (name == task_kind_name(kind)) return kind;
  }
  throw Error(context + "kind must be \"frequency\", \"memory\" or \"vocab\", but is \"" + name +
              "\".");
}

// A frequency task counts values (a dictionary's, or bare indices); a memory or vocab task's
// domain is its artifact, which devices download.
void parse_domain_files(const toml::table& t, const std::filesystem::path& base,
                        const std::string& context, TaskConfig& task) {
  if (auto artifact = get<std::string>(t, "artifact", context))
    task.artifact = resolve(base, *artifact);
  const std::string kind = std::string("a ") + task_kind_name(task.kind) + " task";
  if (task.kind == TaskKind::kFrequency) {
    if (task.artifact)
      throw Error(context + "artifact is for memory and vocab tasks, not " + kind + ".");
    return;
  }
  if (!task.artifact) {
    throw Error(context + "artifact is missing: " + kind +
                " names the file of public pieces its devices download.");
  }
  if (t.contains("dictionary")) {
    throw Error(context + "dictionary is for frequency tasks, not " + kind +
                " (its domain is its artifact).");
  }
}

// A memory task's stage; stage two names its stage one (checked against the other tasks in
// check_stage_links once all are read).
void parse_stage(const toml::table& t, const std::string& context, TaskConfig& task) {
  const std::optional<std::string> stage = get<std::string>(t, "stage", context);
  const std::optional<std::string> stage_one = get<std::string>(t, "stage_one", context);
  if (task.kind != TaskKind::kMemory) {
    if (stage) throw Error(context + "stage is for memory tasks.");
    if (stage_one) throw Error(context + "stage_one is for memory tasks (stage = \"shortlist\").");
    return;
  }
  if (stage) {
    const std::optional<MemoryStage> parsed = parse_memory_stage(*stage);
    if (!parsed) {
      throw Error(context + "stage must be \"joint\", \"tokens\" or \"shortlist\", but is \"" +
                  *stage + "\".");
    }
    task.stage = *parsed;
  }
  if (task.stage == MemoryStage::kShortlist) {
    if (!stage_one || stage_one->empty()) {
      throw Error(context +
                  "stage_one is missing: a stage = \"shortlist\" task names its stage-one "
                  "(stage = \"tokens\") task, whose estimate its builds read.");
    }
    task.stage_one = *stage_one;
  } else if (stage_one) {
    throw Error(context + "stage_one is for stage = \"shortlist\" tasks.");
  }
  if (task.stage == MemoryStage::kTokens && task.build) {
    throw Error(context +
                "corpus: a stage = \"tokens\" task is not built (`residue memory shortlist` "
                "reads it; its stage = \"shortlist\" task is built).");
  }
}

// Each stage-two task's stage_one names a stage-one task of the same file.
void check_stage_links(const std::vector<TaskConfig>& tasks, const std::string& file) {
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const TaskConfig& two = tasks[i];
    if (two.stage != MemoryStage::kShortlist) continue;
    const std::string context = file + "tasks[" + std::to_string(i) + "] (" + two.name + "): ";
    const auto one = std::find_if(tasks.begin(), tasks.end(),
                                  [&](const TaskConfig& t) { return t.name == two.stage_one; });
    if (one == tasks.end()) {
      throw Error(context + "stage_one = \"" + two.stage_one + "\" is not a task of this file.");
    }
    if (one->kind != TaskKind::kMemory || one->stage != MemoryStage::kTokens) {
      throw Error(context + "stage_one = \"" + two.stage_one +
                  "\" is not a stage-one task (kind = \"memory\", stage = \"tokens\").");
    }
  }
}

// A memory or vocab task with a `corpus` is built by the daemon; the other build keys need it.
void parse_build(const toml::table& t, const std::filesystem::path& base,
                 const std::string& context, TaskConfig& task) {
  static constexpr std::string_view kBuildKeys[] = {"build_every", "build_threads", "split_seed",
                                                    "corpus_domain"};
  static constexpr std::string_view kVocabKeys[] = {"dimension", "public_units", "max_units", "z"};
  const std::optional<std::string> corpus = get<std::string>(t, "corpus", context);
  const auto present = [&](std::span<const std::string_view> keys) -> std::optional<std::string> {
    for (std::string_view k : keys)
      if (t.contains(k)) return std::string(k);
    return std::nullopt;
  };
  if (task.kind == TaskKind::kFrequency && corpus) {
    throw Error(context +
                "corpus is for memory and vocab tasks (their builds), not a frequency task.");
  }
  if (!corpus) {
    if (auto key = present(kBuildKeys)) throw Error(context + *key + " needs corpus (builds).");
    if (auto key = present(kVocabKeys)) throw Error(context + *key + " needs corpus (builds).");
    return;
  }
  if (task.kind != TaskKind::kVocab) {
    if (auto key = present(kVocabKeys)) throw Error(context + *key + " is for vocab tasks.");
  }
  BuildConfig b;
  b.corpus = resolve(base, *corpus);
  b.corpus_domain = get<std::string>(t, "corpus_domain", context).value_or(b.corpus_domain);
  const auto count = [&](const char* key, uint64_t fallback, uint64_t least) {
    const std::optional<int64_t> v = get<int64_t>(t, key, context);
    if (!v) return fallback;
    if (*v < static_cast<int64_t>(least)) {
      throw Error(context + key + " must be at least " + std::to_string(least) + ", but is " +
                  std::to_string(*v) + ".");
    }
    return static_cast<uint64_t>(*v);
  };
  b.every_seconds = count("build_every", b.every_seconds, 0);
  b.threads = static_cast<unsigned>(std::min<uint64_t>(count("build_threads", b.threads, 1), 256));
  b.split_seed = count("split_seed", b.split_seed, 0);
  b.dimension = static_cast<uint32_t>(std::min<uint64_t>(count("dimension", b.dimension, 1), 4096));
  b.public_units = count("public_units", b.public_units, 0);
  b.max_units = count("max_units", b.max_units, 1);
  b.z = get<double>(t, "z", context).value_or(b.z);
  if (!(b.z >= 0)) throw Error(context + "z must not be negative.");
  task.build = std::move(b);
}

TaskConfig parse_task(const toml::table& t, std::size_t index, const std::filesystem::path& base) {
  TaskConfig task;
  std::string context = "tasks[" + std::to_string(index) + "]: ";
  task.name = require<std::string>(t, "name", context);
  context = "tasks[" + std::to_string(index) + "] (" + task.name + "): ";
  if (task.name.empty() || task.name.find_first_of("/?#% ") != std::string::npos) {
    throw Error(context + "name must be non-empty and free of '/', '?', '#', '%' and spaces.");
  }
  task.kind = parse_kind(t, context);
  parse_domain_files(t, base, context, task);
  parse_build(t, base, context, task);
  parse_stage(t, context, task);
  task.params.protocol = get<std::string>(t, "protocol", context).value_or("mss");
  task.params.epsilon = require<double>(t, "epsilon", context);
  if (auto dictionary = get<std::string>(t, "dictionary", context)) {
    task.dictionary = resolve(base, *dictionary);
    if (t.contains("k")) throw Error(context + "give k or dictionary, not both.");
  } else {
    const int64_t k = require<int64_t>(t, "k", context);
    if (k < 2 || k > (int64_t{1} << 31)) {
      throw Error(context + "k must be in [2, 2^31], but is " + std::to_string(k) + ".");
    }
    task.params.k = static_cast<uint32_t>(k);
  }
  if (const toml::array* moduli = t.get_as<toml::array>("moduli")) {
    for (const toml::node& m : *moduli) {
      const std::optional<int64_t> v = m.value<int64_t>();
      if (!v || *v < 2 || *v > UINT32_MAX) throw Error(context + "moduli must be integers >= 2.");
      task.params.moduli.push_back(static_cast<uint32_t>(*v));
    }
  } else if (t.contains("moduli")) {
    throw Error(context + "moduli must be an array of integers.");
  }
  task.max_inflation = get<double>(t, "max_inflation", context).value_or(task.max_inflation);
  static constexpr std::string_view kKnown[] = {
      "name",         "kind",          "protocol",   "epsilon",       "k",
      "dictionary",   "artifact",      "moduli",     "max_inflation", "corpus",
      "build_every",  "build_threads", "split_seed", "corpus_domain", "dimension",
      "public_units", "max_units",     "z",          "stage",         "stage_one"};
  check_keys(t, kKnown, context);
  return task;
}

std::vector<Role> parse_roles(const toml::table& t, const std::string& context) {
  const toml::node* node = t.get("roles");
  if (node == nullptr) return TokenConfig{}.roles;
  const toml::array* names = node->as_array();
  if (names == nullptr || names->empty()) {
    throw Error(context +
                "roles must be a non-empty array of \"report\", \"read\" and "
                "\"admin\" (line " +
                std::to_string(node->source().begin.line) + ").");
  }
  std::vector<Role> roles;
  for (const toml::node& n : *names) {
    const std::optional<std::string> name = n.value<std::string>();
    std::optional<Role> role;
    for (const Role r : {Role::kReport, Role::kRead, Role::kAdmin}) {
      if (name && *name == role_name(r)) role = r;
    }
    if (!role) {
      throw Error(context + "roles: unknown role " +
                  (name ? "\"" + *name + "\"" : "(not a string)") + " (line " +
                  std::to_string(n.source().begin.line) +
                  "); the roles are \"report\", \"read\" and \"admin\".");
    }
    roles.push_back(*role);
  }
  return roles;
}

TokenConfig parse_token(const toml::table& t, const std::string& context) {
  TokenConfig token;
  token.name = require<std::string>(t, "name", context);
  token.sha256 =
      parse_sha256_hex(require<std::string>(t, "token_sha256", context), context + "token_sha256");
  token.roles = parse_roles(t, context);
  token.reports_per_second = get<double>(t, "reports_per_second", context).value_or(0);
  if (auto q = get<int64_t>(t, "daily_quota", context))
    token.daily_quota = non_negative(*q, context + "daily_quota");
  if (token.reports_per_second < 0)
    throw Error(context + "reports_per_second must not be negative.");
  static constexpr std::string_view kKnown[] = {"name", "token_sha256", "roles",
                                                "reports_per_second", "daily_quota"};
  check_keys(t, kKnown, context);
  return token;
}

// store = "sqlite" (default) | "postgres", the latter with a [postgres] table.
void parse_store(const toml::table& root, const std::string& file, DaemonConfig& c) {
  const std::string kind = get<std::string>(root, "store", file).value_or("sqlite");
  const toml::table* pg = root.get_as<toml::table>("postgres");
  if (root.contains("postgres") && pg == nullptr)
    throw Error(file + "postgres must be a table ([postgres]).");
  if (kind == "sqlite") {
    if (pg != nullptr) {
      throw Error(file +
                  "[postgres] is set but store is \"sqlite\"; set store = \"postgres\" "
                  "to use it, or remove it.");
    }
    return;
  }
  if (kind != "postgres") {
    throw Error(file + "store must be \"sqlite\" or \"postgres\", but is \"" + kind + "\".");
  }
  if (pg == nullptr) {
    throw Error(file +
                "store = \"postgres\" needs a [postgres] table with conninfo (a libpq "
                "connection string) and shard.");
  }
  const std::string context = file + "postgres: ";
  PostgresConfig p;
  p.conninfo = require<std::string>(*pg, "conninfo", context);
  if (p.conninfo.empty()) throw Error(context + "conninfo must not be empty.");
  if (auto shard = get<int64_t>(*pg, "shard", context)) {
    if (*shard < 0 || *shard > INT32_MAX) {
      throw Error(context + "shard must be in [0, 2147483647], but is " + std::to_string(*shard) +
                  ".");
    }
    p.shard = static_cast<uint32_t>(*shard);
  }
  static constexpr std::string_view kKnown[] = {"conninfo", "shard"};
  check_keys(*pg, kKnown, context);
  c.store = StoreKind::kPostgres;
  c.postgres = std::move(p);
}

}  // namespace

const char* role_name(Role role) {
  switch (role) {
    case Role::kReport:
      return "report";
    case Role::kRead:
      return "read";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

const char* task_kind_name(TaskKind kind) {
  static constexpr const char* kNames[] = {"frequency", "memory", "vocab"};  // in enum order
  return kNames[static_cast<std::size_t>(kind)];
}

Address parse_address(const std::string& text, const std::string& what) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw Error(what + " must be host:port, but is \"" + text + "\".");
  }
  const std::string port = text.substr(colon + 1);
  char* end = nullptr;
  const long value = std::strtol(port.c_str(), &end, 10);
  if (*end != '\0' || value < 0 || value > 65535) {
    throw Error(what + ": port must be in [0, 65535], but is \"" + port + "\".");
  }
  return {.host = text.substr(0, colon), .port = static_cast<uint16_t>(value)};
}

void parse_listen(const std::string& listen, const std::string& what, DaemonConfig& into) {
  const Address address = parse_address(listen, what);
  into.host = address.host;
  into.port = address.port;
}

DaemonConfig load_config(const std::filesystem::path& path) {
  toml::table root;
  try {
    root = toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    throw Error(path.string() + where(e.source()) + ": " + std::string(e.description()));
  }
  const std::filesystem::path base = path.has_parent_path() ? path.parent_path() : ".";
  const std::string file = path.string() + ": ";
  DaemonConfig c;
  if (auto listen = get<std::string>(root, "listen", file))
    parse_listen(*listen, file + "listen", c);
  if (auto dir = get<std::string>(root, "data_dir", file)) c.data_dir = resolve(base, *dir);
  parse_store(root, file, c);
  if (auto v = get<int64_t>(root, "max_body_bytes", file))
    c.max_body_bytes = non_negative(*v, file + "max_body_bytes");
  if (auto v = get<int64_t>(root, "max_reports_per_batch", file)) {
    c.max_reports_per_batch = static_cast<uint32_t>(
        std::min<uint64_t>(non_negative(*v, file + "max_reports_per_batch"), UINT32_MAX));
  }
  if (auto v = get<int64_t>(root, "read_timeout_seconds", file))
    c.read_timeout_seconds = static_cast<int>(non_negative(*v, file + "read_timeout_seconds"));
  if (auto v = get<int64_t>(root, "threads", file))
    c.threads = static_cast<int>(std::max<uint64_t>(1, non_negative(*v, file + "threads")));
  if (auto v = get<int64_t>(root, "max_commit_group", file)) {
    c.max_commit_group =
        static_cast<uint32_t>(std::max<uint64_t>(1, non_negative(*v, file + "max_commit_group")));
  }
  if (auto v = get<int64_t>(root, "max_positions_per_batch", file)) {
    c.max_positions_per_batch =
        std::max<uint64_t>(1, non_negative(*v, file + "max_positions_per_batch"));
  }
  if (auto v = get<int64_t>(root, "max_top", file)) {
    c.max_top = static_cast<uint32_t>(
        std::clamp<uint64_t>(non_negative(*v, file + "max_top"), 1, UINT32_MAX));
  }
  if (auto listen = get<std::string>(root, "metrics_listen", file))
    c.metrics_listen = parse_address(*listen, file + "metrics_listen");

  if (const toml::array* tokens = root.get_as<toml::array>("tokens")) {
    for (std::size_t i = 0; i < tokens->size(); ++i) {
      const toml::table* t = (*tokens)[i].as_table();
      const std::string context = file + "tokens[" + std::to_string(i) + "]: ";
      if (t == nullptr) throw Error(context + "must be a table ([[tokens]]).");
      c.tokens.push_back(parse_token(*t, context));
    }
  }
  if (c.tokens.empty()) throw Error(file + "no [[tokens]]: every upload needs a bearer token.");

  if (const toml::array* tasks = root.get_as<toml::array>("tasks")) {
    for (std::size_t i = 0; i < tasks->size(); ++i) {
      const toml::table* t = (*tasks)[i].as_table();
      if (t == nullptr)
        throw Error(file + "tasks[" + std::to_string(i) + "] must be a table ([[tasks]]).");
      c.tasks.push_back(parse_task(*t, i, base));
      for (std::size_t j = 0; j + 1 < c.tasks.size(); ++j) {
        if (c.tasks[j].name == c.tasks.back().name) {
          throw Error(file + "task name \"" + c.tasks[j].name + "\" is used twice.");
        }
      }
    }
  }
  if (c.tasks.empty()) throw Error(file + "no [[tasks]] declared.");
  check_stage_links(c.tasks, file);

  if (const toml::table* tls = root.get_as<toml::table>("tls")) {
    const std::string context = file + "tls: ";
    TlsConfig t;
    t.certificate = resolve(base, require<std::string>(*tls, "certificate", context));
    t.private_key = resolve(base, require<std::string>(*tls, "private_key", context));
    if (auto ca = get<std::string>(*tls, "client_ca", context)) t.client_ca = resolve(base, *ca);
    c.tls = std::move(t);
  }
  return c;
}

}  // namespace residue

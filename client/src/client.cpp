// The Client: parameters, memoization, budget, queue and uploads (client/residue/client.h).
#include "residue/client/client.h"

// Eigen (through task_artifact.h) must come before httplib.h, whose <resolv.h> defines _res,
// a parameter name in Eigen's headers.
// clang-format off
#include "residue/retrieval/task_artifact.h"
#include <httplib.h>
// clang-format on
#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "artifact_cache.h"
#include "durable_file.h"
#include "report_queue.h"
#include "residue/core/domain.h"
#include "residue/core/error.h"
#include "residue/core/hex.h"
#include "residue/protocols/client_protocol.h"
#include "residue/random/csprng.h"
#include "residue/random/hmac_drbg.h"
#include "residue/wire/batch.h"
#include "residue/wire/report_codec.h"

namespace residue {
namespace {

// Personalization labels of memoized streams: the format is part of what makes a memoized
// report stable, so it is versioned like every other encoding. Index tasks keep the first
// format (their reports must not change); a dictionary value's stream follows the value; an
// artifact task's stream follows the artifact's version, which gives an index its meaning.
constexpr std::string_view kMemoIndexLabel = "residue.memo.1";
constexpr std::string_view kMemoValueLabel = "residue.memo.value.1";
constexpr std::string_view kMemoArtifactLabel = "residue.memo.artifact.1";

constexpr std::size_t kSecretBytes = 32;
constexpr const char* kDeviceSecretName = "device.secret";
constexpr const char* kQueueKeyName = "queue.key";

// A secret's bytes, wiped (OPENSSL_cleanse) when destroyed, on error paths too.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  Secret(Secret&& other) noexcept : bytes_(std::move(other.bytes_)) {}
  Secret& operator=(Secret&& other) noexcept {
    wipe();
    bytes_ = std::move(other.bytes_);
    return *this;
  }
  ~Secret() { wipe(); }

  std::span<const uint8_t> bytes() const { return bytes_; }

 private:
  void wipe() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

  std::vector<uint8_t> bytes_;
};

// A secret kept in the state directory (mode 0600), created from the CSPRNG on first use.
// Clients of several tasks may open one state directory at once: the first to create it wins,
// and every other one reads it.
Secret load_or_create_secret(const std::filesystem::path& path) {
  std::optional<std::vector<uint8_t>> stored = read_file(path);
  if (!stored) {
    std::vector<uint8_t> bytes(kSecretBytes);
    Csprng rng;
    for (std::size_t i = 0; i < kSecretBytes; i += 8) {
      const uint64_t word = rng.next_u64();
      std::memcpy(bytes.data() + i, &word, std::min<std::size_t>(8, kSecretBytes - i));
    }
    const Secret fresh(std::move(bytes));
    create_durable_file(path, fresh.bytes());
    stored = read_file(path);  // ours, or the one that won the race
    if (!stored) throw Error("\"" + path.string() + "\" vanished while it was created.");
  }
  Secret secret(std::move(*stored));
  if (secret.bytes().size() != kSecretBytes) {
    throw Error("\"" + path.string() + "\" holds " + std::to_string(secret.bytes().size()) +
                " bytes, expected " + std::to_string(kSecretBytes) + ": corrupt state.");
  }
  return secret;
}

// The secret `name` the app did not pass as bytes: from its provider, or else (unless it
// asked for kAppOnly) from a file of that name in the state directory.
Secret app_or_file_secret(const ClientOptions& o, const std::string& name) {
  if (o.secret_provider) {
    Secret secret;
    try {
      secret = Secret(o.secret_provider(name, kSecretBytes));
    } catch (const std::exception& e) {
      throw Error("client: the secret provider refused \"" + name + "\": " + e.what());
    }
    if (secret.bytes().size() != kSecretBytes) {
      throw Error("client: the secret provider returned " + std::to_string(secret.bytes().size()) +
                  " bytes for \"" + name + "\", expected " + std::to_string(kSecretBytes) + ".");
    }
    return secret;
  }
  if (o.secrets == Secrets::kAppOnly) {
    throw Error("client: secrets = kAppOnly, but the app supplies \"" + name +
                "\" neither as bytes nor through a secret_provider.");
  }
  return load_or_create_secret(o.state_dir / name);
}

// The options a client keeps for its lifetime: without the app's secrets, which it copies
// once (and wipes when done).
ClientOptions without_secrets(ClientOptions o) {
  if (o.device_secret) OPENSSL_cleanse(o.device_secret->data(), o.device_secret->size());
  if (o.queue_key) OPENSSL_cleanse(o.queue_key->data(), o.queue_key->size());
  o.device_secret.reset();
  o.queue_key.reset();
  o.secret_provider = nullptr;
  return o;
}

void put_u32(uint32_t x, std::vector<uint8_t>& out) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<uint8_t>(x >> shift));
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What the client keeps of a task: the parameters as published, their hashes, the domain.
struct TaskInfo {
  ClientProtocol protocol;
  ParamsHash hash{};         // task_hash: parameters and domain; in batches and the queue
  ParamsHash params_hash{};  // of the parameters alone: the nonce of memoized streams
  std::optional<Domain> domain;
  // A memory or vocabulary task's artifact: the published version, and its pieces parsed
  // (by the task's kind) once cached_artifact() has checked the bytes.
  std::optional<ArtifactRef> artifact_ref;
  MemoryStage stage = MemoryStage::kJoint;  // a memory task's: which value its devices report
  std::shared_ptr<const MemoryArtifact> memory;
  std::shared_ptr<const VocabArtifact> vocab;
  std::shared_ptr<const ReportCodec> codec;     // of the protocol's report shape
  uint32_t max_reports_per_batch = UINT32_MAX;  // the daemon refuses larger batches (413)
  nlohmann::json published;                     // the daemon's description, cached as is
};

TaskInfo task_info_or_throw(const nlohmann::json& published, const ClientOptions& o) {
  const std::string hash_text = published.at("params_hash").get<std::string>();
  TaskInfo info{.protocol = make_client_protocol(params_from_json(published.at("params"))),
                .published = published};
  info.codec = std::make_shared<const ReportCodec>(info.protocol.shape);
  if (published.contains("domain") && published["domain"].at("kind") == "dictionary") {
    info.domain =
        Domain::dictionary(published["domain"].at("values").get<std::vector<std::string>>());
    if (info.domain->size() != info.protocol.params.k) {
      throw Error("the dictionary holds " + std::to_string(info.domain->size()) +
                  " values but k = " + std::to_string(info.protocol.params.k) + ".");
    }
  }
  if (published.contains("artifact")) info.artifact_ref = artifact_ref(published["artifact"]);
  // Published for memory tasks; a daemon from before stages publishes none: joint.
  const std::string stage = published.value("stage", "joint");
  const std::optional<MemoryStage> parsed_stage = parse_memory_stage(stage);
  if (!parsed_stage) throw Error("stage \"" + stage + "\" is not one this client knows.");
  info.stage = *parsed_stage;
  // The dictionary or the artifact (and the stage) is part of the task: reports of indices
  // into one order (or one codebook) must never be counted under another.
  info.params_hash = params_hash(info.protocol.params);
  const std::string domain_id = info.domain ? info.domain->id()
                                : info.artifact_ref
                                    ? artifact_domain_id(info.artifact_ref->sha256, info.stage)
                                    : "";
  info.hash = task_hash(info.protocol.params, domain_id);
  if (to_hex(info.hash) != hash_text) {
    throw Error("the daemon's task hash " + hash_text + " is not " + to_hex(info.hash) +
                ", what this client computes from the parameters and the " +
                (info.artifact_ref ? "artifact." : "dictionary."));
  }
  if (info.protocol.params.epsilon > o.max_epsilon) {
    throw Error("epsilon = " + std::to_string(info.protocol.params.epsilon) +
                " is above this app's bound of " + std::to_string(o.max_epsilon) + ".");
  }
  if (published.contains("max_reports_per_batch")) {
    info.max_reports_per_batch = published["max_reports_per_batch"].get<uint32_t>();
    if (info.max_reports_per_batch == 0) throw Error("max_reports_per_batch is 0.");
  }
  return info;
}

// The personalization of the memoized stream of value `index` of `task`: the value's bytes for
// a dictionary task (so a reordered dictionary does not give a value a fresh stream), the index
// for a task of bare indices. Each field has its length or a fixed size: no two inputs share
// one string.
std::vector<uint8_t> memo_personalization(const TaskInfo& task, const std::string& name,
                                          uint32_t index) {
  std::vector<uint8_t> out;
  if (task.domain) {
    const std::string& value = task.domain->value_at(index);
    out.assign(kMemoValueLabel.begin(), kMemoValueLabel.end());
    put_u32(static_cast<uint32_t>(name.size()), out);
    out.insert(out.end(), name.begin(), name.end());
    put_u32(static_cast<uint32_t>(value.size()), out);
    out.insert(out.end(), value.begin(), value.end());
  } else if (task.artifact_ref) {
    out.assign(kMemoArtifactLabel.begin(), kMemoArtifactLabel.end());
    put_u32(static_cast<uint32_t>(name.size()), out);
    out.insert(out.end(), name.begin(), name.end());
    out.insert(out.end(), task.artifact_ref->sha256.begin(), task.artifact_ref->sha256.end());
    put_u32(index, out);
  } else {
    out.assign(kMemoIndexLabel.begin(), kMemoIndexLabel.end());
    out.insert(out.end(), name.begin(), name.end());
    put_u32(index, out);
  }
  return out;
}

// The task's description, checked (known protocol, epsilon within the app's bound, hash), as
// an Error naming the task and `source` whatever is wrong, JSON syntax and types included.
TaskInfo task_info(std::string_view text, const ClientOptions& o, const std::string& source) {
  try {
    return task_info_or_throw(nlohmann::json::parse(text), o);
  } catch (const std::exception& e) {
    throw Error("client: task \"" + o.task + "\" from " + source + ": " + e.what());
  }
}

class ClientImpl final : public Client {
 public:
  explicit ClientImpl(const ClientOptions& o) : options_(without_secrets(o)) {
    if (o.url.empty() || o.token.empty() || o.task.empty() || o.state_dir.empty()) {
      throw Error("client: url, token, task and state_dir are all required.");
    }
    if (o.batch_size == 0) throw Error("client: batch_size must be at least 1.");
    if (o.budget_period.count() <= 0) {
      throw Error("client: budget_period must be positive, but is " +
                  std::to_string(o.budget_period.count()) + " s.");
    }
    if (o.task.find_first_of("/?#% ") != std::string::npos) {
      throw Error("client: task \"" + o.task + "\" is not a valid task name.");
    }
    if (o.device_secret && o.device_secret->size() < kSecretBytes) {
      throw Error("client: device_secret must hold at least 32 bytes.");
    }
    std::error_code ec;
    std::filesystem::create_directories(o.state_dir, ec);
    if (ec)
      throw Error("client: cannot create \"" + o.state_dir.string() + "\": " + ec.message() + ".");
    std::filesystem::permissions(o.state_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
    // The device secret serves memoized reports only: without them, none is made or asked for.
    if (o.memoize == Memoize::kPermanent) {
      secret_ =
          o.device_secret ? Secret(*o.device_secret) : app_or_file_secret(o, kDeviceSecretName);
    }
    QueueKey key{};
    {
      const Secret stored =
          o.queue_key ? Secret(std::vector<uint8_t>(o.queue_key->begin(), o.queue_key->end()))
                      : app_or_file_secret(o, kQueueKeyName);
      std::copy(stored.bytes().begin(), stored.bytes().end(), key.begin());
    }
    try {
      queue_ = std::make_unique<ReportQueue>(o.state_dir / ("queue-" + o.task), key);
    } catch (...) {
      OPENSSL_cleanse(key.data(), key.size());
      throw;
    }
    OPENSSL_cleanse(key.data(), key.size());
    if (std::optional<std::vector<uint8_t>> cached = read_file(params_path())) {
      task_ = with_artifact(
          task_info(std::string_view(reinterpret_cast<const char*>(cached->data()), cached->size()),
                    o, "the cached parameters \"" + params_path().string() + "\""));
    } else {
      task_ = fetch_parameters();
    }
    load_budget();
    load_memo_versions();
  }

  Status record(std::string_view value) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!task_->domain) {
      return fail(Status::kInvalid,
                  "task \"" + options_.task +
                      "\" has no dictionary: record values by index with record_index");
    }
    const std::optional<uint32_t> index = task_->domain->find(value);
    if (!index) {
      return fail(Status::kUnknownValue,
                  "the value is not in the dictionary of task \"" + options_.task + "\"");
    }
    return record_locked(*index);
  }

  Status record_context(std::span<const std::string> words_before,
                        std::string_view next_word) override {
    if (words_before.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      return fail(Status::kInvalid,
                  "record_context: the context is empty (a sentence's first word is "
                  "record_sentence_start)");
    }
    return record_memory("record_context", words_before, next_word);
  }

  Status record_sentence_start(std::string_view first_word) override {
    return record_memory("record_sentence_start", {}, first_word);
  }

  Status record_text(std::string_view text) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!task_->vocab) return not_of_kind("vocab", "record_text");
    const std::optional<uint32_t> unit = pick_unit(*task_->vocab, text, rng_);
    if (!unit) {
      return fail(Status::kUnknownValue,
                  "the text holds no candidate unit of task \"" + options_.task + "\"");
    }
    return record_locked(*unit);
  }

  Status record_index(uint32_t index) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (index >= task_->protocol.params.k) {
      return fail(Status::kInvalid, "index " + std::to_string(index) + " is outside [0, " +
                                        std::to_string(task_->protocol.params.k) + ")");
    }
    return record_locked(index);
  }

  // The network part runs without the client's lock, so records go on during a flush; one
  // flush at a time.
  FlushResult flush() override {
    std::lock_guard<std::mutex> flushing(flush_mu_);
    FlushResult result;
    try {
      std::vector<QueuedBatch> outbox;
      std::shared_ptr<const TaskInfo> task;
      {
        std::lock_guard<std::mutex> lock(mu_);
        task = task_;
        queue_->form_batches(std::min(options_.batch_size, task->max_reports_per_batch), rng_);
        outbox = queue_->outbox();
      }
      const ReportCodec& codec = *task->codec;
      auto http = connect();
      Csprng jitter;
      for (const QueuedBatch& batch : outbox) {
        // A report encoded under other parameters than the task's current ones can never be
        // counted (the daemon refuses them, or worse, would misread them) and cannot be
        // re-encoded (its value was never kept): it is dropped, and said so.
        std::vector<Report> reports;
        uint64_t stale = 0;
        for (const std::vector<uint8_t>& record : batch.reports) {
          if (record.size() < task->hash.size() ||
              !std::equal(task->hash.begin(), task->hash.end(), record.begin())) {
            ++stale;
            continue;
          }
          ParseResult<Report> r = codec.from_bytes(std::span(record).subspan(task->hash.size()));
          if (!r.ok()) throw Error("a queued report does not parse: " + r.error().message);
          reports.push_back(std::move(r).value());
        }
        Upload u{Status::kOk, false, {}};
        if (!reports.empty()) {
          u = upload(*http, encode_batch(codec, batch.id, task->hash, reports), jitter);
        }
        std::lock_guard<std::mutex> lock(mu_);
        if (u.status == Status::kOk) {
          queue_->acknowledge(batch.id);
          result.uploaded_reports += reports.size();
          result.dropped_reports += stale;
        } else if (u.permanent) {
          // Malformed, or encoded for other parameters: no retry can ever succeed.
          queue_->acknowledge(batch.id);
          result.dropped_reports += reports.size() + stale;
        } else {
          result.status = u.status;
          result.message = u.message;
          break;
        }
        if (stale > 0) {
          result.message = std::to_string(stale) +
                           " reports encoded under earlier parameters of the task were dropped";
        }
      }
    } catch (const std::exception& e) {
      result.status = Status::kInvalid;
      result.message = e.what();
    }
    std::lock_guard<std::mutex> lock(mu_);
    result.remaining_reports = queue_->waiting() + queue_->batched_reports();
    if (result.status != Status::kOk) fail(result.status, result.message);
    return result;
  }

  Status refresh_parameters() override {
    try {
      std::shared_ptr<const TaskInfo> task = fetch_parameters();
      std::lock_guard<std::mutex> lock(mu_);
      task_ = std::move(task);
      return Status::kOk;
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mu_);
      return fail(Status::kNetwork, e.what());
    }
  }

  uint64_t queued_reports() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_->waiting() + queue_->batched_reports();
  }

  uint64_t budget_left() const override {
    std::lock_guard<std::mutex> lock(mu_);
    if (options_.budget_reports == 0) return UINT64_MAX;
    const int64_t now = unix_now();
    if (now - period_start_ >= options_.budget_period.count()) return options_.budget_reports;
    return options_.budget_reports - std::min<uint64_t>(used_, options_.budget_reports);
  }

  std::string last_error() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return last_error_;
  }

 private:
  struct Upload {
    Status status;
    bool permanent;  // refused for good (400 malformed, 409 other parameters, 413 too large)
    std::string message;
  };

  std::filesystem::path params_path() const {
    return options_.state_dir / ("task-" + options_.task + ".json");
  }
  std::filesystem::path budget_path() const {
    return options_.state_dir / ("budget-" + options_.task);
  }
  std::filesystem::path memo_path() const { return options_.state_dir / ("memo-" + options_.task); }
  std::filesystem::path artifact_path() const {
    return options_.state_dir / ("artifact-" + options_.task);
  }

  // REQUIRES: mu_ held.
  Status fail(Status s, std::string message) {
    last_error_ = std::move(message);
    return s;
  }

  // A memory task's value of (context, word), recorded; `call` names the caller in errors.
  Status record_memory(const char* call, std::span<const std::string> words_before,
                       std::string_view next_word) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!task_->memory) return not_of_kind("memory", call);
    if (next_word.empty()) return fail(Status::kInvalid, std::string(call) + ": the word is empty");
    for (const std::string& w : words_before) {
      if (w.empty())
        return fail(Status::kInvalid, std::string(call) + ": a word of the context is empty");
    }
    return record_locked(memory_stage_value(*task_->memory, task_->stage, words_before, next_word));
  }

  // REQUIRES: mu_ held.
  Status not_of_kind(const char* kind, const char* call) {
    return fail(Status::kInvalid,
                std::string(call) + ": task \"" + options_.task + "\" is not a " + kind + " task");
  }

  std::unique_ptr<httplib::Client> connect() const {
    auto http = std::make_unique<httplib::Client>(options_.url);
    if (!http->is_valid())
      throw Error("client: url \"" + options_.url + "\" is not http(s)://host:port.");
    http->set_bearer_token_auth(options_.token);
    http->set_tcp_nodelay(true);
    http->set_connection_timeout(5, 0);
    http->set_read_timeout(30, 0);
    if (!options_.ca_cert.empty()) {
      http->set_ca_cert_path(options_.ca_cert.c_str());
      http->enable_server_certificate_verification(true);
    }
    return http;
  }

  // Fetches, checks and caches the task's description. Needs no lock: it touches only the
  // parameters file, which one client per task writes.
  std::shared_ptr<const TaskInfo> fetch_parameters() const {
    auto info = with_artifact(task_info(get("/v1/tasks/" + options_.task), options_, options_.url));
    const std::string text = info->published.dump();
    write_durable_file(params_path(),
                       std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    return info;
  }

  // The body of GET `path`, or an Error saying why not.
  std::string get(const std::string& path) const {
    const httplib::Result r = connect()->Get(path);
    if (!r) {
      throw Error("client: cannot reach " + options_.url + " for " + path + " (task \"" +
                  options_.task + "\"): " + httplib::to_string(r.error()) + ".");
    }
    if (r->status != 200) {
      throw Error("client: GET " + path + " answered " + std::to_string(r->status) + ": " +
                  r->body);
    }
    return r->body;
  }

  // The task with its artifact's checked bytes, from the state directory or the daemon.
  std::shared_ptr<const TaskInfo> with_artifact(TaskInfo info) const {
    if (info.artifact_ref) {
      try {
        parse_artifact(*cached_artifact(*info.artifact_ref, artifact_path(),
                                        [this](const std::string& path) { return get(path); }),
                       info);
      } catch (const std::exception& e) {
        throw Error("client: task \"" + options_.task + "\": " + e.what());
      }
    }
    return std::make_shared<const TaskInfo>(std::move(info));
  }

  // The artifact's pieces by the task's kind; a malformed artifact is an Error with its offset.
  static void parse_artifact(const std::string& artifact, TaskInfo& info) {
    const std::string kind = info.published.value("kind", "frequency");
    const std::span bytes(reinterpret_cast<const uint8_t*>(artifact.data()), artifact.size());
    const auto check = [&](const auto& parsed) {
      if (!parsed.ok()) {
        throw Error("the " + kind + " artifact is malformed at byte " +
                    std::to_string(parsed.error().offset) + ": " + parsed.error().message);
      }
    };
    if (kind == "memory") {
      auto parsed = MemoryArtifact::parse(bytes);
      check(parsed);
      info.memory = std::make_shared<const MemoryArtifact>(std::move(parsed).value());
      const uint32_t domain = memory_stage_domain(*info.memory, info.stage);
      if (domain != info.protocol.params.k) {
        throw Error("the memory artifact's domain (stage \"" +
                    std::string(memory_stage_name(info.stage)) + "\") is " +
                    std::to_string(domain) +
                    " values but k = " + std::to_string(info.protocol.params.k) + ".");
      }
    } else if (kind == "vocab") {
      auto parsed = VocabArtifact::parse(bytes);
      check(parsed);
      info.vocab = std::make_shared<const VocabArtifact>(std::move(parsed).value());
      if (info.vocab->candidates().size() != info.protocol.params.k) {
        throw Error("the vocab artifact holds " + std::to_string(info.vocab->candidates().size()) +
                    " candidate units but k = " + std::to_string(info.protocol.params.k) + ".");
      }
    } else {
      throw Error("a task of kind \"" + kind + "\" has no artifact this client knows.");
    }
  }

  void load_budget() {
    if (std::optional<std::vector<uint8_t>> stored = read_file(budget_path())) {
      std::istringstream in(std::string(stored->begin(), stored->end()));
      in >> period_start_ >> used_;
      if (!in || period_start_ < 0)
        throw Error("client: \"" + budget_path().string() + "\" is corrupt.");
    }
  }

  void save_budget() {
    const std::string text = std::to_string(period_start_) + " " + std::to_string(used_) + "\n";
    write_durable_file(budget_path(),
                       std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }

  // The task hashes memoized reports were made under, one per line in hex.
  void load_memo_versions() {
    std::optional<std::vector<uint8_t>> stored = read_file(memo_path());
    if (!stored) return;
    std::istringstream in(std::string(stored->begin(), stored->end()));
    for (std::string line; std::getline(in, line);) {
      const bool hex = line.size() == 2 * sizeof(ParamsHash) &&
                       std::all_of(line.begin(), line.end(), [](unsigned char c) {
                         return std::isdigit(c) || (c >= 'a' && c <= 'f');
                       });
      if (!hex) {
        throw Error("client: \"" + memo_path().string() + "\" is corrupt (line \"" + line +
                    "\" is not a task hash).");
      }
      memo_versions_.push_back(line);
    }
  }

  // REQUIRES: mu_ held.
  void add_memo_version(const std::string& hash) {
    std::string text;
    for (const std::string& h : memo_versions_) text += h + "\n";
    text += hash + "\n";
    write_durable_file(memo_path(),
                       std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    memo_versions_.push_back(hash);
  }

  // REQUIRES: mu_ held.
  Status record_locked(uint32_t index) {
    try {
      const bool memoize = options_.memoize == Memoize::kPermanent;
      // Each version of the task is one more memoized look at every value: bounded, and the
      // version is remembered before its first report is queued.
      const std::string version = to_hex(task_->hash);
      const bool new_version = memoize && std::find(memo_versions_.begin(), memo_versions_.end(),
                                                    version) == memo_versions_.end();
      if (new_version && options_.max_memo_versions > 0 &&
          memo_versions_.size() >= options_.max_memo_versions) {
        return fail(Status::kInvalid,
                    "memoized reports of task \"" + options_.task + "\" were made under " +
                        std::to_string(memo_versions_.size()) +
                        " versions of its parameters (max_memo_versions = " +
                        std::to_string(options_.max_memo_versions) + "); version " + version +
                        " would be another look at every value: nothing was recorded");
      }
      if (options_.budget_reports > 0) {
        const int64_t now = unix_now();
        if (now - period_start_ >= options_.budget_period.count()) {
          period_start_ = now;
          used_ = 0;
        }
        if (used_ >= options_.budget_reports) {
          return fail(Status::kOverBudget,
                      "the budget of " + std::to_string(options_.budget_reports) +
                          " reports per period is spent; nothing was recorded");
        }
        // Spent before the report is queued: a crash in between costs a report, never
        // allows one more than the budget.
        ++used_;
        save_budget();
      }
      Report report;
      if (memoize) {
        if (new_version) add_memo_version(version);
        // The same (secret, parameters, value) always gives the same stream, so the same
        // report: repeating it reveals nothing new, and nothing about the value is stored.
        HmacDrbg memo(secret_.bytes(), task_->params_hash,
                      memo_personalization(*task_, options_.task, index));
        task_->protocol.encoder->encode(index, memo, report);
      } else {
        task_->protocol.encoder->encode(index, rng_, report);
      }
      // Queued with the hash of the task it was encoded under (flush() drops it if that
      // changes before it is uploaded).
      std::vector<uint8_t> record(task_->hash.begin(), task_->hash.end());
      const std::vector<uint8_t> bytes = task_->codec->to_bytes(report);
      record.insert(record.end(), bytes.begin(), bytes.end());
      queue_->push(record);
      return Status::kOk;
    } catch (const std::exception& e) {
      return fail(Status::kInvalid, e.what());
    }
  }

  // One batch, with retries on transient failures (no answer, 429, 5xx): exponential backoff
  // with jitter, the same bytes (same batch id) every time.
  Upload upload(httplib::Client& http, const std::vector<uint8_t>& body, Rng& jitter) const {
    std::chrono::milliseconds delay = options_.backoff;
    for (int attempt = 1;; ++attempt) {
      const httplib::Result r = http.Post("/v1/tasks/" + options_.task + "/reports",
                                          reinterpret_cast<const char*>(body.data()), body.size(),
                                          "application/octet-stream");
      if (r && r->status == 200) return {Status::kOk, false, {}};
      std::string message =
          r ? "the daemon answered " + std::to_string(r->status) + ": " + r->body
            : "cannot reach " + options_.url + ": " + httplib::to_string(r.error());
      const bool transient = !r || r->status == 429 || r->status >= 500;
      if (!transient) {
        const bool permanent = r->status == 400 || r->status == 409 || r->status == 413;
        return {Status::kRejected, permanent, std::move(message)};
      }
      if (attempt >= options_.max_attempts) return {Status::kNetwork, false, std::move(message)};
      const auto extra =
          std::chrono::milliseconds(jitter.uniform(static_cast<uint64_t>(delay.count()) + 1));
      std::this_thread::sleep_for(delay + extra);
      delay *= 2;
    }
  }

  const ClientOptions options_;
  mutable std::mutex mu_;  // everything below
  std::mutex flush_mu_;    // one flush at a time
  Secret secret_;          // the device secret; empty without memoization
  std::unique_ptr<ReportQueue> queue_;
  std::shared_ptr<const TaskInfo> task_;  // replaced whole by refresh_parameters()
  Csprng rng_;
  int64_t period_start_ = 0;
  uint64_t used_ = 0;
  std::vector<std::string> memo_versions_;  // task hashes (hex) memoized reports were made under
  std::string last_error_;
};

}  // namespace

std::unique_ptr<Client> Client::open(const ClientOptions& options) {
  return std::make_unique<ClientImpl>(options);
}

}  // namespace residue

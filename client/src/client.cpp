// The Client: parameters, memoization, budget, queue and uploads (client/residue/client.h).
#include "residue/client/client.h"

#include <fcntl.h>
#include <httplib.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

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

// Personalization of memoized streams: the format is part of what makes a memoized report
// stable, so it is versioned like every other encoding.
constexpr std::string_view kMemoLabel = "residue.memo.1";

// Writes `bytes` to `path` atomically (temporary file, fsync, rename) with `mode`.
void write_file(const std::filesystem::path& path, std::span<const uint8_t> bytes, mode_t mode) {
  const std::filesystem::path temp = path.string() + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw Error("cannot write \"" + temp.string() + "\": " + std::strerror(errno) + ".");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      throw Error("cannot write \"" + temp.string() + "\": " + std::strerror(errno) + ".");
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || std::rename(temp.c_str(), path.c_str()) != 0) {
    throw Error("cannot replace \"" + path.string() + "\": " + std::strerror(errno) + ".");
  }
}

std::optional<std::vector<uint8_t>> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

// A secret kept in the state directory (mode 0600), created from the CSPRNG on first use.
std::vector<uint8_t> load_or_create_secret(const std::filesystem::path& path, std::size_t size) {
  if (std::optional<std::vector<uint8_t>> existing = read_file(path)) {
    if (existing->size() != size) {
      throw Error("\"" + path.string() + "\" holds " + std::to_string(existing->size()) +
                  " bytes, expected " + std::to_string(size) + ": corrupt state.");
    }
    return *existing;
  }
  std::vector<uint8_t> secret(size);
  Csprng rng;
  for (std::size_t i = 0; i < size; i += 8) {
    const uint64_t word = rng.next_u64();
    std::memcpy(secret.data() + i, &word, std::min<std::size_t>(8, size - i));
  }
  write_file(path, secret, 0600);
  return secret;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What the client keeps of a task: the parameters as published, their hash, the domain.
struct TaskInfo {
  ClientProtocol protocol;
  ParamsHash hash{};
  std::optional<Domain> domain;
  nlohmann::json published;  // the daemon's description, cached as is
};

TaskInfo task_info(const nlohmann::json& published, const ClientOptions& o) {
  if (!published.contains("params") || !published.contains("params_hash")) {
    throw Error("task \"" + o.task + "\": the daemon's description lacks params or params_hash.");
  }
  TaskInfo info{make_client_protocol(params_from_json(published["params"])), {}, {}, published};
  info.hash = params_hash(info.protocol.params);
  if (to_hex(info.hash) != published["params_hash"].get<std::string>()) {
    throw Error("task \"" + o.task + "\": the daemon's parameter hash " +
                published["params_hash"].get<std::string>() + " is not " + to_hex(info.hash) +
                ", what this client computes from the parameters.");
  }
  if (info.protocol.params.epsilon > o.max_epsilon) {
    throw Error("task \"" + o.task +
                "\" uses epsilon = " + std::to_string(info.protocol.params.epsilon) +
                ", above this app's bound of " + std::to_string(o.max_epsilon) + ".");
  }
  if (published.contains("domain") && published["domain"].value("kind", "") == "dictionary") {
    info.domain = Domain::dictionary(published["domain"]["values"].get<std::vector<std::string>>());
  }
  return info;
}

class ClientImpl final : public Client {
 public:
  explicit ClientImpl(const ClientOptions& o) : options_(o) {
    if (o.url.empty() || o.token.empty() || o.task.empty() || o.state_dir.empty()) {
      throw Error("client: url, token, task and state_dir are all required.");
    }
    if (o.batch_size == 0) throw Error("client: batch_size must be at least 1.");
    if (o.task.find_first_of("/?#% ") != std::string::npos) {
      throw Error("client: task \"" + o.task + "\" is not a valid task name.");
    }
    std::error_code ec;
    std::filesystem::create_directories(o.state_dir, ec);
    if (ec)
      throw Error("client: cannot create \"" + o.state_dir.string() + "\": " + ec.message() + ".");
    std::filesystem::permissions(o.state_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
    secret_ = o.device_secret ? *o.device_secret
                              : load_or_create_secret(o.state_dir / "device.secret", 32);
    if (secret_.size() < 32) throw Error("client: device_secret must hold at least 32 bytes.");
    QueueKey key{};
    if (o.queue_key) {
      key = *o.queue_key;
    } else {
      const std::vector<uint8_t> stored = load_or_create_secret(o.state_dir / "queue.key", 32);
      std::copy(stored.begin(), stored.end(), key.begin());
    }
    queue_ = std::make_unique<ReportQueue>(o.state_dir / ("queue-" + o.task), key);
    if (std::optional<std::vector<uint8_t>> cached = read_file(params_path())) {
      try {
        set_task(task_info(nlohmann::json::parse(cached->begin(), cached->end()), o));
      } catch (const std::exception& e) {
        throw Error("client: cached parameters \"" + params_path().string() +
                    "\" are unusable: " + e.what());
      }
    } else {
      fetch_parameters();
    }
    load_budget();
  }

  // The secret should not outlive the client in freed memory.
  ~ClientImpl() override { OPENSSL_cleanse(secret_.data(), secret_.size()); }

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

  Status record_index(uint32_t index) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (index >= task_->protocol.params.k) {
      return fail(Status::kInvalid, "index " + std::to_string(index) + " is outside [0, " +
                                        std::to_string(task_->protocol.params.k) + ")");
    }
    return record_locked(index);
  }

  FlushResult flush() override {
    std::lock_guard<std::mutex> lock(mu_);
    FlushResult result;
    try {
      queue_->form_batches(options_.batch_size, rng_);
      auto http = connect();
      // Work on a copy: acknowledging a batch rewrites the queue's outbox.
      const std::vector<QueuedBatch> outbox = queue_->outbox();
      for (const QueuedBatch& batch : outbox) {
        std::vector<Report> reports;
        for (const std::vector<uint8_t>& bytes : batch.reports) {
          ParseResult<Report> r = codec_->from_bytes(bytes);
          if (!r.ok()) throw Error("a queued report does not parse: " + r.error().message);
          reports.push_back(std::move(r).value());
        }
        const std::vector<uint8_t> body = encode_batch(*codec_, batch.id, task_->hash, reports);
        const Status s = upload(*http, body, result.message);
        if (s == Status::kOk) {
          queue_->acknowledge(batch.id);
          result.uploaded_reports += reports.size();
        } else if (s == Status::kRejected && permanent_refusal_) {
          // Malformed or encoded for other parameters: no retry can ever succeed, and the
          // values cannot be re-encoded (they were never kept). Dropped, and said so.
          queue_->acknowledge(batch.id);
          result.dropped_reports += reports.size();
        } else {
          result.status = s;
          break;
        }
      }
    } catch (const std::exception& e) {
      result.status = Status::kInvalid;
      result.message = e.what();
    }
    result.remaining_reports = queue_->waiting() + queue_->batched_reports();
    if (result.status != Status::kOk) fail(result.status, result.message);
    return result;
  }

  Status refresh_parameters() override {
    std::lock_guard<std::mutex> lock(mu_);
    try {
      fetch_parameters();
      return Status::kOk;
    } catch (const std::exception& e) {
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
    if (now >= period_start_ + options_.budget_period.count()) return options_.budget_reports;
    return options_.budget_reports - std::min<uint64_t>(used_, options_.budget_reports);
  }

  std::string last_error() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return last_error_;
  }

 private:
  std::filesystem::path params_path() const {
    return options_.state_dir / ("task-" + options_.task + ".json");
  }
  std::filesystem::path budget_path() const {
    return options_.state_dir / ("budget-" + options_.task);
  }

  Status fail(Status s, std::string message) {
    last_error_ = std::move(message);
    return s;
  }

  void set_task(TaskInfo info) {
    codec_ = std::make_unique<ReportCodec>(info.protocol.shape);
    task_ = std::make_unique<TaskInfo>(std::move(info));
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

  void fetch_parameters() {
    auto http = connect();
    const httplib::Result r = http->Get("/v1/tasks/" + options_.task);
    if (!r) {
      throw Error("client: cannot reach " + options_.url + " for the parameters of task \"" +
                  options_.task + "\": " + httplib::to_string(r.error()) + ".");
    }
    if (r->status != 200) {
      throw Error("client: GET /v1/tasks/" + options_.task + " answered " +
                  std::to_string(r->status) + ": " + r->body);
    }
    TaskInfo info = task_info(nlohmann::json::parse(r->body), options_);
    const std::string text = info.published.dump();
    write_file(params_path(), std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
               0600);
    set_task(std::move(info));
  }

  void load_budget() {
    if (std::optional<std::vector<uint8_t>> stored = read_file(budget_path())) {
      std::istringstream in(std::string(stored->begin(), stored->end()));
      in >> period_start_ >> used_;
      if (!in) throw Error("client: \"" + budget_path().string() + "\" is corrupt.");
    }
  }

  void save_budget() {
    const std::string text = std::to_string(period_start_) + " " + std::to_string(used_) + "\n";
    write_file(budget_path(), std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
               0600);
  }

  Status record_locked(uint32_t index) {
    try {
      if (options_.budget_reports > 0) {
        const int64_t now = unix_now();
        if (now >= period_start_ + options_.budget_period.count()) {
          period_start_ = now;
          used_ = 0;
        }
        if (used_ >= options_.budget_reports) {
          return fail(Status::kOverBudget,
                      "the budget of " + std::to_string(options_.budget_reports) +
                          " reports per period is spent; nothing was recorded");
        }
      }
      Report report;
      if (options_.memoize == Memoize::kPermanent) {
        // The same (secret, task parameters, value) always gives the same stream, so the same
        // report: repeating it reveals nothing new, and nothing about the value is stored.
        std::vector<uint8_t> personalization(kMemoLabel.begin(), kMemoLabel.end());
        personalization.insert(personalization.end(), options_.task.begin(), options_.task.end());
        for (int shift = 0; shift < 32; shift += 8) {
          personalization.push_back(static_cast<uint8_t>(index >> shift));
        }
        HmacDrbg memo(secret_, task_->hash, personalization);
        task_->protocol.encoder->encode(index, memo, report);
      } else {
        task_->protocol.encoder->encode(index, rng_, report);
      }
      queue_->push(codec_->to_bytes(report));
      if (options_.budget_reports > 0) {
        ++used_;
        save_budget();
      }
      return Status::kOk;
    } catch (const std::exception& e) {
      return fail(Status::kInvalid, e.what());
    }
  }

  // One batch, with retries on transient failures (no answer, 429, 5xx): exponential backoff
  // with jitter, the same bytes (same batch id) every time.
  Status upload(httplib::Client& http, const std::vector<uint8_t>& body, std::string& message) {
    permanent_refusal_ = false;
    std::chrono::milliseconds delay = options_.backoff;
    for (int attempt = 1;; ++attempt) {
      const httplib::Result r = http.Post("/v1/tasks/" + options_.task + "/reports",
                                          reinterpret_cast<const char*>(body.data()), body.size(),
                                          "application/octet-stream");
      if (r && r->status == 200) return Status::kOk;
      const bool transient = !r || r->status == 429 || r->status >= 500;
      message = r ? "the daemon answered " + std::to_string(r->status) + ": " + r->body
                  : "cannot reach " + options_.url + ": " + httplib::to_string(r.error());
      if (!transient) {
        permanent_refusal_ = r->status == 400 || r->status == 409;
        return Status::kRejected;
      }
      if (attempt >= options_.max_attempts) return Status::kNetwork;
      const auto jitter =
          std::chrono::milliseconds(rng_.uniform(static_cast<uint64_t>(delay.count()) + 1));
      std::this_thread::sleep_for(delay + jitter);
      delay *= 2;
    }
  }

  const ClientOptions options_;
  mutable std::mutex mu_;
  std::vector<uint8_t> secret_;
  std::unique_ptr<ReportQueue> queue_;
  std::unique_ptr<TaskInfo> task_;
  std::unique_ptr<ReportCodec> codec_;
  Csprng rng_;
  int64_t period_start_ = 0;
  uint64_t used_ = 0;
  bool permanent_refusal_ = false;
  std::string last_error_;
};

}  // namespace

std::unique_ptr<Client> Client::open(const ClientOptions& options) {
  return std::make_unique<ClientImpl>(options);
}

}  // namespace residue

// Fixture of the integration tests: a real residued on loopback, in a temporary directory of
// its own, and a client that uploads batches to it the way a device would.
//
//   TempDir dir;
//   DaemonProcess daemon(dir, {.tasks = {{.name = "words"}}});
//   daemon.start();                                   // port 0: a free port, read from stdout
//   auto http = daemon.client();
//   TaskClient words(*http, "words");
//   SeededRng rng(1);                                 // tests only: not private
//   httplib::Result r = post_batch(*http, "words", words.batch(200, rng));
//   REQUIRE(daemon.stop() == 0);                      // SIGTERM; the destructor SIGKILLs
//
// Every wait is bounded, and every process is killed and reaped by its owner's destructor,
// also when a REQUIRE throws. Nothing here kills anything but the pid it started.
#pragma once

#include <fcntl.h>
#include <httplib.h>
#include <openssl/sha.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "residue/core/domain.h"
#include "residue/core/hex.h"
#include "residue/protocols/params.h"
#include "residue/protocols/registry.h"
#include "residue/random/rng.h"
#include "residue/random/seeded_rng.h"
#include "residue/wire/batch.h"
#include "residue/wire/report_codec.h"
#include "sqlite_store.h"
#include "support/temp_dir.h"
#include "verify.h"

#ifndef RESIDUED_PATH
#error "RESIDUED_PATH must give the path of the residued binary"
#endif
#ifndef RESIDUE_CLI_PATH
#error "RESIDUE_CLI_PATH must give the path of the residue CLI binary"
#endif

namespace residue::integration {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// The bearer token of the default client application.
inline constexpr const char* kToken = "integration-test-token";

using testing::TempDir;

inline std::string sha256_hex(const std::string& text) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return to_hex(digest);
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

/// A child process: stdin from /dev/null, stdout into a pipe this object reads, stderr appended
/// to a file. It dies with the test process (PR_SET_PDEATHSIG), and the destructor SIGKILLs
/// and reaps it if it still runs.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& stderr_path) {
    // Everything the child needs is built before fork: only async-signal-safe calls after it.
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const std::string err = stderr_path.string();
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0)
      throw std::runtime_error(std::string("pipe2: ") + strerror(errno));
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) {
      close(out[0]);
      close(out[1]);
      throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(126);
      sigset_t none;
      sigemptyset(&none);
      pthread_sigmask(SIG_SETMASK, &none, nullptr);
      ::signal(SIGPIPE, SIG_DFL);
      const int in = open("/dev/null", O_RDONLY);
      const int errfd = open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (in < 0 || errfd < 0 || dup2(in, 0) < 0 || dup2(out[1], 1) < 0 || dup2(errfd, 2) < 0)
        _exit(126);
      execvp(args[0], args.data());  // a bare name is looked up in PATH (openssl)
      _exit(127);
    }
    close(out[1]);
    out_ = out[0];
  }
  ~ChildProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  /// The next line of stdout, waiting at most `timeout`; nullopt on end of file or timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
      if (const std::size_t newline = buffer_.find('\n'); newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      if (!fill(deadline)) return std::nullopt;
    }
  }
  /// Everything on stdout until end of file, waiting at most `timeout`.
  std::string read_all(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (fill(deadline)) {
    }
    return std::exchange(buffer_, {});
  }

  /// Waits at most `timeout` for the process to end and reaps it. Returns its exit code, or
  /// 128 + the signal that ended it; nullopt if it still runs.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (pid_ > 0) {
      int status = 0;
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (r < 0 && errno != EINTR) {  // not our child any more: nothing to reap
        pid_ = -1;
        exit_code_ = -1;
        break;
      }
      if (Clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(5ms);
    }
    return exit_code_;
  }

 private:
  // Appends what stdout has to buffer_; false at end of file or the deadline.
  bool fill(Clock::time_point deadline) {
    if (out_ < 0) return false;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{.fd = out_, .events = POLLIN, .revents = 0};
    const int ready = poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) return true;
    if (ready <= 0) return false;
    char chunk[4096];
    const ssize_t n = read(out_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) {
      close(out_);
      out_ = -1;
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
  std::optional<int> exit_code_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  ///< stdout
  std::string err;  ///< stderr
};

/// Runs `argv` to its end, at most `timeout` (then SIGKILL: exit code 128 + 9).
inline CommandResult run_command(const std::vector<std::string>& argv,
                                 const std::filesystem::path& scratch_dir,
                                 std::chrono::milliseconds timeout = 30s) {
  static int serial = 0;
  const std::filesystem::path err = scratch_dir / ("command-" + std::to_string(++serial) + ".err");
  CommandResult result;
  {
    ChildProcess child(argv, err);
    result.out = child.read_all(timeout);
    std::optional<int> code = child.wait(1s);
    if (!code) {
      child.signal(SIGKILL);
      code = child.wait(10s);
    }
    result.exit_code = code.value_or(-1);
  }
  result.err = read_text(err);
  return result;
}

struct TokenSpec {
  std::string name = "app1";
  std::string token = kToken;
  double reports_per_second = 0;  ///< 0: no limit
  uint64_t daily_quota = 0;       ///< 0: no quota
  /// The tests upload and read with the default token; empty: no roles line (the daemon's
  /// default, report only).
  std::vector<std::string> roles = {"report", "read"};
};

struct TaskSpec {
  std::string name = "words";
  std::string protocol = "mss";
  uint32_t k = 64;  ///< ignored when `dictionary` is set
  /// The task's values, one per line in a file (k is their number).
  std::optional<std::filesystem::path> dictionary;
  double epsilon = 2.0;
  std::string extra_toml;  ///< more lines of the [[tasks]] table, e.g. "moduli = [5, 7]"
};

/// The server's TLS files, and what the daemon's own clients use to talk to it.
struct TlsSpec {
  std::filesystem::path certificate, private_key;
  std::optional<std::filesystem::path> client_ca;
  std::filesystem::path trusted_ca;  ///< what clients trust (the self-signed certificate)
  std::optional<std::filesystem::path> client_certificate, client_key;
};

struct DaemonSpec {
  std::vector<TokenSpec> tokens = {TokenSpec{}};
  std::vector<TaskSpec> tasks = {TaskSpec{}};
  std::optional<uint64_t> max_body_bytes;
  std::optional<uint32_t> max_reports_per_batch;
  /// More top-level lines, e.g. "max_top = 10".
  std::string extra_toml;
  /// Serve /metrics on a listener of its own, on a free loopback port (metrics_port()).
  bool metrics_listener = false;
  int threads = 4;
  std::optional<TlsSpec> tls;
  /// The store's top-level lines (default: SQLite in the data directory), e.g.
  /// postgres_store_toml() of postgres_fixture.h.
  std::string store_toml;
};

inline std::string toml_string(const std::string& s) {
  return nlohmann::json(s).dump();
}

/// The TOML the daemon reads: tokens by their SHA-256 only, as an operator writes them.
inline std::string config_toml(const DaemonSpec& spec, const std::filesystem::path& data_dir) {
  std::ostringstream out;
  out << "listen = \"127.0.0.1:0\"\n"
      << "data_dir = " << toml_string(data_dir.string()) << "\n"
      << "threads = " << spec.threads << "\n";
  if (spec.max_body_bytes) out << "max_body_bytes = " << *spec.max_body_bytes << "\n";
  if (spec.max_reports_per_batch)
    out << "max_reports_per_batch = " << *spec.max_reports_per_batch << "\n";
  if (spec.metrics_listener) out << "metrics_listen = \"127.0.0.1:0\"\n";
  out << spec.extra_toml;
  out << spec.store_toml;  // may open a table: after every top-level key
  for (const TokenSpec& t : spec.tokens) {
    out << "\n[[tokens]]\nname = " << toml_string(t.name) << "\ntoken_sha256 = \""
        << sha256_hex(t.token) << "\"\n";
    if (t.reports_per_second > 0) out << "reports_per_second = " << t.reports_per_second << "\n";
    if (t.daily_quota > 0) out << "daily_quota = " << t.daily_quota << "\n";
    if (!t.roles.empty()) out << "roles = " << nlohmann::json(t.roles).dump() << "\n";
  }
  for (const TaskSpec& t : spec.tasks) {
    out << "\n[[tasks]]\nname = " << toml_string(t.name)
        << "\nprotocol = " << toml_string(t.protocol) << "\n"
        << (t.dictionary ? "dictionary = " + toml_string(t.dictionary->string())
                         : "k = " + std::to_string(t.k))
        << "\nepsilon = " << t.epsilon << "\n"
        << t.extra_toml << "\n";
  }
  if (spec.tls) {
    out << "\n[tls]\ncertificate = " << toml_string(spec.tls->certificate.string())
        << "\nprivate_key = " << toml_string(spec.tls->private_key.string()) << "\n";
    if (spec.tls->client_ca)
      out << "client_ca = " << toml_string(spec.tls->client_ca->string()) << "\n";
  }
  return out.str();
}

/// One residued: its config file, data directory and stderr log live in `dir`. start() runs
/// it on 127.0.0.1 with port 0 and waits (bounded) until /healthz answers; it can be stopped
/// (SIGTERM), killed (SIGKILL) and started again on the same data directory, on a new port.
class DaemonProcess {
 public:
  explicit DaemonProcess(const TempDir& dir, DaemonSpec spec = {})
      : spec_(std::move(spec)),
        config_(dir / "residued.toml"),
        data_dir_(dir / "data"),
        stderr_(dir / "residued.stderr") {
    write_text(config_, config_toml(spec_, data_dir_));
  }
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  /// Starts the daemon; returns false if it exited (or said nothing) instead of listening,
  /// with exit_code() and stderr_text() telling why.
  bool try_start(std::chrono::milliseconds timeout = 20s) {
    if (process_ && process_->running()) throw std::logic_error("residued is already running");
    process_.reset();
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{RESIDUED_PATH, "--config", config_.string(), "--listen",
                                 "127.0.0.1:0"},
        stderr_);
    const std::optional<std::string> line = process_->read_line(timeout);
    static const std::regex kListening(R"(^residued: listening on https?://127\.0\.0\.1:(\d+), )");
    std::smatch m;
    if (!line || !std::regex_search(*line, m, kListening)) {
      exit_code_ = process_->wait(10s);
      if (!exit_code_) {  // alive but silent, or it printed something else: give up on it
        process_->signal(SIGKILL);
        exit_code_ = process_->wait(10s);
      }
      return false;
    }
    port_ = static_cast<uint16_t>(std::stoi(m[1]));
    if (spec_.metrics_listener) {
      static const std::regex kMetrics(
          R"(^residued: metrics on http://127\.0\.0\.1:(\d+)/metrics)");
      const std::optional<std::string> next = process_->read_line(timeout);
      if (!next || !std::regex_search(*next, m, kMetrics)) {
        process_->signal(SIGKILL);
        exit_code_ = process_->wait(10s);
        return false;
      }
      metrics_port_ = static_cast<uint16_t>(std::stoi(m[1]));
    }
    exit_code_.reset();
    return true;
  }

  /// Starts the daemon and waits until /healthz answers 200. Throws with its stderr if not.
  void start() {
    if (!try_start())
      throw std::runtime_error("residued did not start (exit " +
                               std::to_string(exit_code_.value_or(-1)) + "): " + stderr_text());
    const auto deadline = Clock::now() + 10s;
    while (true) {
      auto http = client();
      http->set_connection_timeout(1, 0);
      http->set_read_timeout(2, 0);
      const httplib::Result r = http->Get("/healthz");
      if (r && r->status == 200) return;
      if (Clock::now() >= deadline)
        throw std::runtime_error("residued on port " + std::to_string(port_) +
                                 " did not answer /healthz: " + stderr_text());
      std::this_thread::sleep_for(50ms);
    }
  }

  /// SIGTERM, then waits (at most 30 s) for the exit; returns the exit code (128 + signal
  /// when killed by one). After 30 s it SIGKILLs and returns -1.
  int stop() {
    process_->signal(SIGTERM);
    return wait_for_exit();
  }
  /// SIGKILL and reap. Returns 128 + 9 unless the daemon had already ended otherwise.
  int kill() {
    process_->signal(SIGKILL);
    return wait_for_exit();
  }
  /// Reaps a daemon sent a signal elsewhere (signal()), waiting at most 30 s.
  int wait_for_exit() {
    std::optional<int> code = process_->wait(30s);
    if (!code) {
      process_->signal(SIGKILL);
      process_->wait(10s);
      return -1;
    }
    return *code;
  }
  /// Sends `sig` to the daemon's pid: safe from any thread while the daemon has not been
  /// reaped.
  void signal(int sig) const { process_->signal(sig); }

  std::optional<int> exit_code() const { return exit_code_; }
  uint16_t port() const { return port_; }
  /// With DaemonSpec::metrics_listener: the metrics listener's port.
  uint16_t metrics_port() const { return metrics_port_; }
  std::string url() const {
    return std::string(spec_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
  }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  std::string stderr_text() const { return read_text(stderr_); }

  /// A client of the daemon with `token` as its bearer token (none if empty), trusting the
  /// test certificate and presenting the client certificate when TLS is on.
  std::unique_ptr<httplib::Client> client(const std::string& token = kToken) const {
    std::unique_ptr<httplib::Client> c;
    if (spec_.tls && spec_.tls->client_certificate) {
      c = std::make_unique<httplib::Client>(url(), spec_.tls->client_certificate->string(),
                                            spec_.tls->client_key->string());
    } else {
      c = std::make_unique<httplib::Client>(url());
    }
    if (spec_.tls) {
      c->set_ca_cert_path(spec_.tls->trusted_ca.string().c_str());
      c->enable_server_certificate_verification(true);
    }
    if (!token.empty()) c->set_bearer_token_auth(token.c_str());
    c->set_tcp_nodelay(true);  // headers and body are separate writes: no Nagle delay
    c->set_connection_timeout(5, 0);
    c->set_read_timeout(30, 0);
    c->set_write_timeout(30, 0);
    return c;
  }

 private:
  DaemonSpec spec_;
  std::filesystem::path config_, data_dir_, stderr_;
  std::unique_ptr<ChildProcess> process_;
  uint16_t port_ = 0;
  uint16_t metrics_port_ = 0;
  std::optional<int> exit_code_;
};

/// A daemon started in a temporary directory of its own, and a client with the default
/// token: how most daemon tests begin.
///
///   RunningDaemon d({.tasks = {{.name = "words", .protocol = "oue"}}});
///   get_json(*d.http, "/v1/tasks/words/estimates");
struct RunningDaemon {
  explicit RunningDaemon(DaemonSpec spec = {}) : daemon(dir, std::move(spec)) {
    daemon.start();
    http = daemon.client();
  }

  TempDir dir;
  DaemonProcess daemon;
  std::unique_ptr<httplib::Client> http;
};

/// Status and JSON body of a GET; status 0 and a null body when there was no answer.
struct JsonReply {
  int status = 0;
  nlohmann::json body;
};

inline JsonReply get_json(httplib::Client& http, const std::string& path) {
  const httplib::Result r = http.Get(path.c_str());
  if (!r) return {};
  return {r->status, nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false)};
}

inline httplib::Result post_batch(httplib::Client& http, const std::string& task,
                                  std::span<const uint8_t> body) {
  return http.Post(("/v1/tasks/" + task + "/reports").c_str(),
                   reinterpret_cast<const char*>(body.data()), body.size(),
                   "application/octet-stream");
}

/// A device's view of one task: its public parameters from GET /v1/tasks/{task}, the protocol
/// rebuilt from them, and batches encoded with it. Half of the reports are of value 0 (a clear
/// heavy hitter), the rest uniform over the domain.
class TaskClient {
 public:
  TaskClient(httplib::Client& http, const std::string& task)
      : info_(fetch(http, task)),
        protocol_(make_protocol(params_from_json(info_.at("params")))),
        codec_(protocol_.shape()),
        hash_(task_hash(protocol_.params(), domain_id(info_))) {
    if (to_hex(hash_) != info_.at("params_hash").get<std::string>())
      throw std::runtime_error("the daemon's params_hash of " + task + " is not the client's");
  }

  const nlohmann::json& info() const { return info_; }
  const Protocol& protocol() const { return protocol_; }
  const ParamsHash& hash() const { return hash_; }

  /// A batch of `n` reports with a fresh id, both drawn from `rng` (a SeededRng in tests:
  /// reproducible, hence not private).
  std::vector<uint8_t> batch(uint32_t n, Rng& rng) const {
    std::vector<Report> reports(n);
    const uint32_t k = protocol_.params().k;
    for (Report& r : reports) {
      const auto value = static_cast<uint32_t>(rng.bernoulli(0.5) ? 0 : rng.uniform(k));
      protocol_.encoder().encode(value, rng, r);
    }
    return encode_batch(codec_, random_batch_id(rng), hash_, reports);
  }

 private:
  // Domain::id() of the published dictionary, "artifact:" and the SHA-256 of a memory or vocab
  // task's artifact, "" for a task of bare indices.
  static std::string domain_id(const nlohmann::json& info) {
    const nlohmann::json& domain = info.at("domain");
    if (domain.at("kind") == "artifact")
      return "artifact:" + info.at("artifact").at("sha256").get<std::string>();
    if (domain.at("kind") != "dictionary") return "";
    return Domain::dictionary(domain.at("values").get<std::vector<std::string>>()).id();
  }

  static nlohmann::json fetch(httplib::Client& http, const std::string& task) {
    const JsonReply reply = get_json(http, "/v1/tasks/" + task);
    if (reply.status != 200)
      throw std::runtime_error("GET /v1/tasks/" + task + ": status " +
                               std::to_string(reply.status));
    return reply.body;
  }

  nlohmann::json info_;
  Protocol protocol_;
  ReportCodec codec_;
  ParamsHash hash_;
};

/// A RunningDaemon with a client of its task "words" and the seeded rng that the test draws
/// its batches from: how most upload tests begin.
///
///   WordsDaemon d(1);
///   post_batch(*d.http, "words", d.words.batch(200, d.rng));
struct WordsDaemon : RunningDaemon {
  explicit WordsDaemon(uint64_t seed, DaemonSpec spec = {})
      : RunningDaemon(std::move(spec)), words(*http, "words"), rng(seed) {}

  const TaskClient words;
  SeededRng rng;  ///< tests only: reproducible, hence not private
};

/// `count` batches of `reports` reports each for the daemon's task "words", drawn from
/// SeededRng(seed).
inline std::vector<std::vector<uint8_t>> words_batches(const DaemonProcess& daemon,
                                                       std::size_t count, uint32_t reports,
                                                       uint64_t seed) {
  auto http = daemon.client();
  const TaskClient words(*http, "words");
  SeededRng rng(seed);
  std::vector<std::vector<uint8_t>> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back(words.batch(reports, rng));
  return out;
}

/// The batch id of encoded batch bytes (bytes 8..23 of the header).
inline BatchId batch_id(std::span<const uint8_t> batch) {
  BatchId id{};
  std::copy_n(batch.begin() + 8, id.size(), id.begin());
  return id;
}

/// What the store in a data directory holds for one task, read through its own connection
/// (WAL lets it read while the daemon writes), and what verify_store finds wrong there.
struct StoreSnapshot {
  uint64_t batches = 0;
  uint64_t reports = 0;
  std::vector<BatchId> ids;  ///< of the stored batches, in commit order
  std::vector<std::string> problems;
};

inline StoreSnapshot read_store(const std::filesystem::path& data_dir, const std::string& task) {
  StoreSnapshot s;
  const std::unique_ptr<Store> store = open_sqlite_store(data_dir);
  bool found = false;
  for (const TaskRecord& r : store->tasks()) {
    if (r.name != task) continue;
    found = true;
    s.batches = r.batches;
    s.reports = r.reports;
  }
  if (!found) throw std::runtime_error("no task " + task + " in " + data_dir.string());
  store->for_each_batch(task, [&](const StoredBatch& b) { s.ids.push_back(b.id); });
  for (const TaskVerification& v : verify_store(*store)) {
    for (const std::string& p : v.problems) s.problems.push_back(v.task + ": " + p);
  }
  return s;
}

/// The samples of /metrics, by name with labels, e.g. `residue_batches_total{result="accepted"}`.
inline std::map<std::string, double> scrape_metrics(httplib::Client& http) {
  std::map<std::string, double> out;
  const httplib::Result r = http.Get("/metrics");
  if (!r || r->status != 200) throw std::runtime_error("GET /metrics failed");
  std::istringstream lines(r->body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

// The task holds exactly `batches` batches and `reports` reports by the daemon's estimates and
// by the store itself, and verify_store finds nothing wrong.
inline void require_counted(const DaemonProcess& daemon, const std::string& task, uint64_t batches,
                            uint64_t reports) {
  auto http = daemon.client();
  const JsonReply estimates = get_json(*http, "/v1/tasks/" + task + "/estimates");
  REQUIRE(estimates.status == 200);
  CHECK(estimates.body.at("reports") == reports);
  CHECK(estimates.body.at("batches") == batches);
  const StoreSnapshot store = read_store(daemon.data_dir(), task);
  CHECK(store.batches == batches);
  CHECK(store.reports == reports);
  CHECK(store.ids.size() == batches);
  for (const std::string& problem : store.problems) FAIL_CHECK(problem);
}

}  // namespace residue::integration

#include "server.h"

#include <httplib.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>
#include <type_traits>

#include "estimates.h"
#include "residue/core/error.h"
#include "residue/core/hex.h"
#include "residue/memory/memory_query.h"
#include "residue/vocab/vocab_setup.h"
#include "task_json.h"

namespace residue {
namespace {

using Clock = std::chrono::steady_clock;

void reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
  reply(res, status, {{"error", message}});
}

// An answer given before the request's body was read. On a keep-alive connection httplib
// would read that body as the next request; a content provider that reports failure after
// writing the whole answer makes it close the connection instead. The client gets every byte
// (the length is in the headers), then the connection ends.
void reply_and_close(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_header("Connection", "close");
  auto text = std::make_shared<const std::string>(nlohmann::json{{"error", message}}.dump());
  res.set_content_provider(text->size(), "application/json",
                           [text](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                             sink.write(text->data() + offset, length);
                             return false;
                           });
}

// A body follows the headers: announced by its length or by a transfer encoding.
bool has_body(const httplib::Request& req) {
  return req.has_header("Transfer-Encoding") ||
         (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
}

// The routes, as the handlers are registered and as Server::admit classifies requests.
constexpr const char* kTaskRoute = R"(/v1/tasks/([^/]+))";
constexpr const char* kEstimatesRoute = R"(/v1/tasks/([^/]+)/estimates)";
constexpr const char* kReportsRoute = R"(/v1/tasks/([^/]+)/reports)";
constexpr const char* kArtifactRoute = R"(/v1/tasks/([^/]+)/artifact)";
constexpr const char* kBuildRoute = R"(/v1/tasks/([^/]+)/build)";
constexpr const char* kMemoryNextRoute = R"(/v1/tasks/([^/]+)/memory/next)";
constexpr const char* kVocabSearchRoute = R"(/v1/tasks/([^/]+)/vocab/search)";

// Binds `server` to host:port (port 0: any free one); the port, or -1.
int bind_listener(httplib::Server& server, const std::string& host, uint16_t port) {
  if (port == 0) return server.bind_to_any_port(host);
  return server.bind_to_port(host, port) ? port : -1;
}

// httplib's stop() does nothing until its listen loop runs: a SIGTERM that came right after
// bind() was lost, and the daemon never stopped. Wait for the loop to start (or to end).
void stop_listener(httplib::Server& server, const std::atomic<bool>& finished) {
  while (!server.is_running() && !finished)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server.stop();
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The `count` field of a batch header (bytes 40-43), when the body is long enough: an
// oversized batch gets 413 rather than 400, before anything else is parsed.
std::optional<uint32_t> declared_count(const std::string& body) {
  if (body.size() < 44) return std::nullopt;
  uint32_t count = 0;
  for (int i = 3; i >= 0; --i)
    count = count << 8 | static_cast<uint8_t>(body[40 + static_cast<std::size_t>(i)]);
  return count;
}

// The bytes as they are (shared, not copied per request), versioned by their SHA-256: a device
// that has them already gets 304 for If-None-Match.
void serve_artifact(const httplib::Request& req, httplib::Response& res,
                    std::shared_ptr<const Artifact> artifact) {
  const std::string etag = "\"" + artifact->sha256 + "\"";
  res.set_header("ETag", etag);
  if (req.get_header_value("If-None-Match") == etag) {
    res.status = 304;
    return;
  }
  res.status = 200;
  const std::size_t size = artifact->bytes.size();
  res.set_content_provider(size, "application/octet-stream",
                           [artifact = std::move(artifact)](std::size_t offset, std::size_t length,
                                                            httplib::DataSink& sink) {
                             return sink.write(artifact->bytes.data() + offset, length);
                           });
}

}  // namespace

Server::Server(const DaemonConfig& config, Store& store, std::vector<Task> tasks)
    : config_(config),
      store_(store),
      metrics_([&] {
        std::vector<std::string> names;
        for (const Task& t : tasks) names.push_back(t.name);
        return names;
      }()),
      access_(config.tokens),
      estimates_(store, metrics_) {
  for (Task& t : tasks) {
    const std::string name = t.name;
    tasks_.emplace(name, std::move(t));
  }
  commits_ = std::make_unique<CommitQueue>(store_, config_.max_commit_group, metrics_);
  builds_ = std::make_unique<TaskBuilds>(tasks_, config_.tasks, store_, metrics_);
  if (config_.tls) {
    const TlsConfig& tls = *config_.tls;
    auto server =
        std::make_unique<httplib::SSLServer>(tls.certificate.c_str(), tls.private_key.c_str(),
                                             tls.client_ca ? tls.client_ca->c_str() : nullptr);
    if (!server->is_valid()) {
      throw Error("tls: cannot load certificate \"" + tls.certificate.string() + "\" and key \"" +
                  tls.private_key.string() + "\"" +
                  (tls.client_ca ? " (client CA \"" + tls.client_ca->string() + "\")" : "") + ".");
    }
    SSL_CTX_set_min_proto_version(server->ssl_context(), TLS1_2_VERSION);
    http_ = std::move(server);
  } else {
    http_ = std::make_unique<httplib::Server>();
  }
  const int threads = config_.threads;
  http_->new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  http_->set_payload_max_length(config_.max_body_bytes);
  http_->set_read_timeout(config_.read_timeout_seconds, 0);
  http_->set_write_timeout(config_.read_timeout_seconds, 0);
  http_->set_keep_alive_max_count(1000);
  http_->set_tcp_nodelay(true);
  // httplib answers oversized bodies itself (413) before any handler runs; count them here.
  http_->set_logger([this](const httplib::Request&, const httplib::Response& res) {
    if (res.status == 413) metrics_.count_batch("too_large");
  });
  // Every refusal that the headers decide is given before the body is read.
  http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    return admit(req, res) ? httplib::Server::HandlerResponse::Unhandled
                           : httplib::Server::HandlerResponse::Handled;
  });
  // Clients that ask before sending a large body (curl does) are refused before they send it.
  http_->set_expect_100_continue_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        return admit(req, res) ? 100 : res.status;
      });
  // The last resort: the known failures have their own 4xx or 503 with a reason.
  http_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr failure) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        std::fprintf(stderr, "residued: internal error: %s\n", what.c_str());
        reply_error(res, 500, "internal error: " + what);
      });
  if (config_.metrics_listen) {
    metrics_http_ = std::make_unique<httplib::Server>();
    metrics_http_->new_task_queue = [] { return new httplib::ThreadPool(1); };
    metrics_http_->set_read_timeout(config_.read_timeout_seconds, 0);
    metrics_http_->set_write_timeout(config_.read_timeout_seconds, 0);
  }
  add_routes();
}

Server::~Server() = default;

const Task* Server::find(const std::string& name) const {
  const auto it = tasks_.find(name);
  return it == tasks_.end() ? nullptr : &it->second;
}

std::optional<std::size_t> Server::top_param(const httplib::Request& req, httplib::Response& res,
                                             std::size_t fallback) const {
  if (!req.has_param("top")) return fallback;
  const std::string text = req.get_param_value("top");
  if (text.empty() || text.size() > 9 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    reply_error(res, 400, "bad query: top must be a count, but is \"" + text + "\"");
    return std::nullopt;
  }
  const std::size_t top = std::stoul(text);
  if (top > config_.max_top) {
    reply_error(res, 400,
                "bad query: top is " + text + "; the limit is " + std::to_string(config_.max_top) +
                    " (max_top)");
    return std::nullopt;
  }
  return top;
}

template <typename Built>
std::shared_ptr<const Built> Server::served(const httplib::Request& req, httplib::Response& res,
                                            TaskKind kind) const {
  const Task* task = find(req.matches[1]);
  if (task == nullptr) {
    reply_error(res, 404, "unknown task \"" + std::string(req.matches[1]) + "\"");
    return nullptr;
  }
  if (task->kind != kind) {
    reply_error(res, 404,
                "task \"" + task->name + "\" is a " + task_kind_name(task->kind) +
                    " task; this endpoint serves " + task_kind_name(kind) + " tasks");
    return nullptr;
  }
  if (!builds_->builds(task->name)) {
    reply_error(res, 503,
                "task \"" + task->name +
                    "\" is not built by this daemon: its configuration names no corpus "
                    "(docs/operators.md, \"Builds\")");
    return nullptr;
  }
  std::shared_ptr<const Built> built;
  if constexpr (std::is_same_v<Built, BuiltMemory>) {
    built = builds_->memory(task->name);
  } else {
    built = builds_->vocab(task->name);
  }
  if (!built) {
    const nlohmann::json status = builds_->status(task->name);
    std::string why = "task \"" + task->name + "\" has no successful build yet";
    if (!status.at("last_error").is_null()) {
      why += "; the last build failed: " + status.at("last_error").at("message").get<std::string>();
    }
    reply(res, 503, {{"error", why}, {"build", status}});
    return nullptr;
  }
  return built;
}

uint32_t Server::max_reports(const Task& task) const {
  const uint64_t fit = config_.max_positions_per_batch / std::max(1u, task.codec.max_items());
  return static_cast<uint32_t>(
      std::min<uint64_t>(config_.max_reports_per_batch, std::max<uint64_t>(fit, 1)));
}

uint16_t Server::bind() {
  const int port = bind_listener(*http_, config_.host, config_.port);
  if (port <= 0) {
    throw Error("cannot listen on " + config_.host + ":" + std::to_string(config_.port) +
                " (in use, or not an address of this machine).");
  }
  if (metrics_http_) {
    const Address& at = *config_.metrics_listen;
    const int metrics = bind_listener(*metrics_http_, at.host, at.port);
    if (metrics <= 0) {
      throw Error("metrics_listen: cannot listen on " + at.host + ":" + std::to_string(at.port) +
                  " (in use, or not an address of this machine).");
    }
    metrics_port_ = static_cast<uint16_t>(metrics);
  }
  return static_cast<uint16_t>(port);
}

void Server::run() {
  std::thread metrics;
  if (metrics_http_) {
    metrics = std::thread([this] {
      metrics_http_->listen_after_bind();
      metrics_finished_ = true;
    });
  }
  http_->listen_after_bind();
  finished_ = true;
  if (metrics.joinable()) {
    stop_listener(*metrics_http_, metrics_finished_);
    metrics.join();
  }
}

void Server::stop() {
  stop_listener(*http_, finished_);
}

bool Server::admit(const httplib::Request& req, httplib::Response& res) {
  static const std::regex kTask(kTaskRoute), kEstimates(kEstimatesRoute), kReports(kReportsRoute),
      kArtifact(kArtifactRoute), kBuild(kBuildRoute), kMemoryNext(kMemoryNextRoute),
      kVocabSearch(kVocabSearchRoute);
  const bool upload = req.method == "POST" && std::regex_match(req.path, kReports);
  const bool build = req.method == "POST" && std::regex_match(req.path, kBuild);
  const bool get = req.method == "GET" || req.method == "HEAD";  // httplib routes HEAD as GET
  std::optional<Role> role;                                      // none: any known token
  if (upload) {
    role = Role::kReport;
  } else if (has_body(req)) {
    reply_and_close(res, 400, "only POST /v1/tasks/{task}/reports takes a body");
    return false;
  } else if (build) {
    role = Role::kAdmin;
  } else if (get &&
             (std::regex_match(req.path, kEstimates) || std::regex_match(req.path, kBuild) ||
              std::regex_match(req.path, kMemoryNext) || std::regex_match(req.path, kVocabSearch) ||
              (req.path == "/metrics" && !metrics_http_))) {
    role = Role::kRead;
  } else if (!get || (req.path != "/v1/tasks" && !std::regex_match(req.path, kTask) &&
                      !std::regex_match(req.path, kArtifact))) {
    return true;  // /healthz, and what the router answers 404 for
  }
  auto refuse = [&](int status, const char* result, const std::string& message) {
    if (result != nullptr) metrics_.count_batch(result);  // the logger counts 413s
    if (has_body(req)) return reply_and_close(res, status, message);
    reply_error(res, status, message);
  };
  const std::optional<std::size_t> token =
      access_.authenticate(req.get_header_value("Authorization"));
  if (!token) {
    refuse(401, upload ? "unauthorized" : nullptr, "missing or unknown bearer token");
    return false;
  }
  if (role && !access_.allows(*token, *role)) {
    refuse(403, upload ? "forbidden" : nullptr,
           std::string("this token lacks the \"") + role_name(*role) +
               "\" role that this endpoint needs; tokens configured without roles have only "
               "\"report\" (docs/operators.md)");
    return false;
  }
  if (!upload) return true;
  // httplib would read a chunked or length-less body without its size limit, and skip (read)
  // an oversized one before answering 413.
  const std::string length = req.get_header_value("Content-Length");
  if (req.has_header("Transfer-Encoding") || length.empty()) {
    refuse(411, "malformed", "a batch needs a Content-Length header (no chunked encoding)");
    return false;
  }
  if (length.size() > 19 || length.find_first_not_of("0123456789") != std::string::npos) {
    refuse(400, "malformed", "Content-Length \"" + length + "\" is not a byte count");
    return false;
  }
  if (const uint64_t bytes = std::stoull(length); bytes > config_.max_body_bytes) {
    refuse(413, nullptr,
           "the body is " + length + " bytes; the limit is " +
               std::to_string(config_.max_body_bytes) + " (max_body_bytes)");
    return false;
  }
  return true;
}

void Server::add_routes() {
  http_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, {{"status", "ok"}});
  });
  // admit() asks for a read token here when the main listener serves it.
  (metrics_http_ ? *metrics_http_ : *http_)
      .Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(metrics_.render(), "text/plain; version=0.0.4");
      });

  // Authentication and roles: admit(), before any of these runs.
  http_->Get("/v1/tasks", [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [name, task] : tasks_) list.push_back(task_json(task, max_reports(task)));
    reply(res, 200, {{"tasks", list}});
  });

  http_->Get(kTaskRoute, [this](const httplib::Request& req, httplib::Response& res) {
    const Task* task = find(req.matches[1]);
    if (task == nullptr)
      return reply_error(res, 404, "unknown task \"" + std::string(req.matches[1]) + "\"");
    reply(res, 200, task_json(*task, max_reports(*task)));
  });

  http_->Get(kArtifactRoute, [this](const httplib::Request& req, httplib::Response& res) {
    const Task* task = find(req.matches[1]);
    if (task == nullptr)
      return reply_error(res, 404, "unknown task \"" + std::string(req.matches[1]) + "\"");
    if (!task->artifact) {
      return reply_error(res, 404,
                         "task \"" + task->name + "\" is a " + task_kind_name(task->kind) +
                             " task: it has no artifact (only memory and vocab tasks do)");
    }
    serve_artifact(req, res, task->artifact);
  });

  http_->Post(kBuildRoute, [this](const httplib::Request& req, httplib::Response& res) {
    const Task* task = find(req.matches[1]);
    if (task == nullptr)
      return reply_error(res, 404, "unknown task \"" + std::string(req.matches[1]) + "\"");
    if (!builds_->builds(task->name)) {
      return reply_error(
          res, 409,
          "task \"" + task->name +
              "\" is not built by this daemon: only memory "
              "and vocab tasks that name a corpus are (docs/operators.md, \"Builds\")");
    }
    builds_->request(task->name);
    reply(res, 202, {{"queued", true}, {"build", builds_->status(task->name)}});
  });

  http_->Get(kBuildRoute, [this](const httplib::Request& req, httplib::Response& res) {
    const Task* task = find(req.matches[1]);
    if (task == nullptr)
      return reply_error(res, 404, "unknown task \"" + std::string(req.matches[1]) + "\"");
    if (!builds_->builds(task->name)) {
      return reply_error(res, 404, "task \"" + task->name + "\" is not built by this daemon");
    }
    reply(res, 200, builds_->status(task->name));
  });

  http_->Get(kMemoryNextRoute, [this](const httplib::Request& req, httplib::Response& res) {
    const std::optional<std::size_t> top = top_param(req, res, 10);
    if (!top) return;
    const std::shared_ptr<const BuiltMemory> built =
        served<BuiltMemory>(req, res, TaskKind::kMemory);
    if (!built) return;
    const NextTokens next =
        next_tokens(built->memory, built->pub->model.lm, req.get_param_value("context"), *top);
    nlohmann::json body = to_json(next, built->pub->model.vocab);
    body["build"] = {{"reports", built->stamp.reports}, {"finished_at", built->stamp.finished_at}};
    reply(res, 200, body);
  });

  http_->Get(kVocabSearchRoute, [this](const httplib::Request& req, httplib::Response& res) {
    const std::optional<std::size_t> top = top_param(req, res, 10);
    if (!top) return;
    const std::shared_ptr<const BuiltVocab> built = served<BuiltVocab>(req, res, TaskKind::kVocab);
    if (!built) return;
    try {
      nlohmann::json body =
          to_json(search_units(built->file, req.get_param_value("text"), *top), built->file);
      body["build"] = {{"reports", built->stamp.reports},
                       {"finished_at", built->stamp.finished_at}};
      reply(res, 200, body);
    } catch (const Error& e) {
      reply_error(res, 400, std::string("bad query: ") + e.what());
    }
  });

  http_->Get(kEstimatesRoute, [this](const httplib::Request& req, httplib::Response& res) {
    const Task* task = find(req.matches[1]);
    if (task == nullptr)
      return reply_error(res, 404, "unknown task \"" + std::string(req.matches[1]) + "\"");
    const std::optional<std::size_t> top = top_param(req, res, 20);
    if (!top) return;
    Postprocess postprocess = Postprocess::kNone;
    try {
      if (req.has_param("postprocess")) {
        const std::string name = req.get_param_value("postprocess");
        if (name != "none" && name != "normsub")
          throw Error("postprocess must be none or normsub.");
        postprocess = parse_postprocess(name);
      }
    } catch (const std::exception& e) {
      return reply_error(res, 400, std::string("bad query: ") + e.what());
    }
    try {
      reply(res, 200, to_json(estimates_.estimates(*task, *top, postprocess)));
    } catch (const Error& e) {
      // The store is unreachable, or the tally cannot be decoded yet: both pass with time.
      reply_error(res, 503, e.what());
    }
  });

  http_->Post(kReportsRoute, [this](const httplib::Request& req, httplib::Response& res) {
    const auto start = Clock::now();
    // admit() has checked the token and its role.
    const std::size_t token = *access_.authenticate(req.get_header_value("Authorization"));
    auto refuse = [&](int status, const char* result, const std::string& message) {
      metrics_.count_batch(result);
      reply_error(res, status, message);
    };
    const Task* task = find(req.matches[1]);
    if (task == nullptr) {
      return refuse(404, "unknown_task", "unknown task \"" + std::string(req.matches[1]) + "\"");
    }
    const uint32_t limit = max_reports(*task);
    const std::span<const uint8_t> body(reinterpret_cast<const uint8_t*>(req.body.data()),
                                        req.body.size());
    if (const std::optional<uint32_t> count = declared_count(req.body); count && *count > limit) {
      // Not refuse(): the logger counts every 413 as too_large, this one included.
      return reply_error(res, 413,
                         "the batch holds " + std::to_string(*count) +
                             " reports; the limit of task \"" + task->name + "\" is " +
                             std::to_string(limit) + " (GET /v1/tasks/" + task->name +
                             ": max_reports_per_batch)");
    }
    const ParseResult<BatchHeader> header = parse_batch_header(body, limit);
    if (!header.ok()) {
      metrics_.count_batch("malformed");
      return reply(res, 400,
                   {{"error", header.error().message}, {"offset", header.error().offset}});
    }
    if (header.value().params_hash != task->hash) {
      return refuse(409, "params_mismatch",
                    "the batch was encoded for parameters " + to_hex(header.value().params_hash) +
                        ", task \"" + task->name + "\" has " + to_hex(task->hash) +
                        "; fetch GET /v1/tasks/" + task->name);
    }
    const QuotaDecision admission = access_.admit(token, header.value().count);
    if (!admission.ok) {
      res.set_header("Retry-After", std::to_string(admission.retry_after));
      return refuse(429, "rate_limited", admission.reason);
    }
    PendingBatch batch{.task = task->name, .id = header.value().id, .received = unix_now()};
    const ParseResult<BatchHeader> parsed = parse_batch(task->codec, body, batch.reports, limit);
    if (!parsed.ok()) {
      access_.refund(token, header.value().count);
      metrics_.count_batch("malformed");
      return reply(res, 400,
                   {{"error", parsed.error().message}, {"offset", parsed.error().offset}});
    }
    batch.raw.assign(body.begin(), body.end());  // only once it parsed
    const std::size_t reports = batch.reports.size();
    CommitOutcome outcome;
    try {
      outcome = commits_->submit(std::move(batch));
    } catch (const std::exception& e) {
      access_.refund(token, reports);
      return refuse(503, "store_error", std::string("the batch could not be stored: ") + e.what());
    }
    if (outcome == CommitOutcome::kDuplicate) {
      access_.refund(token, reports);
      metrics_.count_batch("duplicate");
      reply(res, 200, {{"accepted", 0}, {"duplicate", true}});
    } else {
      metrics_.count_batch("accepted");
      metrics_.count_reports(task->name, reports);
      reply(res, 200, {{"accepted", reports}, {"duplicate", false}});
    }
    metrics_.observe_request(std::chrono::duration<double>(Clock::now() - start).count());
  });
}

}  // namespace residue

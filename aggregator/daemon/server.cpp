#include "server.h"

#include <httplib.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "estimates.h"
#include "residue/core/error.h"
#include "residue/core/hex.h"

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

}  // namespace

Server::Server(const DaemonConfig& config, Store& store, std::vector<Task> tasks)
    : config_(config),
      store_(store),
      metrics_([&] {
        std::vector<std::string> names;
        for (const Task& t : tasks) names.push_back(t.name);
        return names;
      }()),
      access_(config.tokens) {
  for (Task& t : tasks) {
    const std::string name = t.name;
    tasks_.emplace(name, std::move(t));
  }
  commits_ = std::make_unique<CommitQueue>(store_, config_.max_commit_group, metrics_);
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
  add_routes();
}

Server::~Server() = default;

const Task* Server::find(const std::string& name) const {
  const auto it = tasks_.find(name);
  return it == tasks_.end() ? nullptr : &it->second;
}

uint16_t Server::bind() {
  int port = config_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(config_.host);
  } else if (!http_->bind_to_port(config_.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    throw Error("cannot listen on " + config_.host + ":" + std::to_string(config_.port) +
                " (in use, or not an address of this machine).");
  }
  return static_cast<uint16_t>(port);
}

void Server::run() {
  http_->listen_after_bind();
  finished_ = true;
}

void Server::stop() {
  // httplib's stop() does nothing until its listen loop runs: a SIGTERM that came right after
  // bind() was lost, and the daemon never stopped. Wait for the loop to start (or to end).
  while (!http_->is_running() && !finished_)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  http_->stop();
}

void Server::add_routes() {
  http_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, {{"status", "ok"}});
  });
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(), "text/plain; version=0.0.4");
  });

  auto authorized = [this](const httplib::Request& req, httplib::Response& res) {
    if (access_.authenticate(req.get_header_value("Authorization"))) return true;
    reply_error(res, 401, "missing or unknown bearer token");  // a read, not a batch: not counted
    return false;
  };
  auto describe = [this](const Task& t) {
    nlohmann::json domain = {{"kind", "size"}};
    if (t.domain) {
      std::vector<std::string> values;
      for (uint32_t i = 0; i < t.domain->size(); ++i) values.push_back(t.domain->value_at(i));
      domain = {{"kind", "dictionary"}, {"values", values}};
    }
    return nlohmann::json{{"name", t.name},
                          {"params", to_json(t.protocol.params())},
                          {"params_hash", to_hex(t.hash)},
                          {"batch_format_version", kBatchFormatVersion},
                          {"max_reports_per_batch", config_.max_reports_per_batch},
                          {"domain", domain}};
  };

  http_->Get("/v1/tasks",
             [this, authorized, describe](const httplib::Request& req, httplib::Response& res) {
               if (!authorized(req, res)) return;
               nlohmann::json list = nlohmann::json::array();
               for (const auto& [name, task] : tasks_) list.push_back(describe(task));
               reply(res, 200, {{"tasks", list}});
             });

  http_->Get(R"(/v1/tasks/([^/]+))", [this, authorized, describe](const httplib::Request& req,
                                                                  httplib::Response& res) {
    if (!authorized(req, res)) return;
    const Task* task = find(req.matches[1]);
    if (task == nullptr)
      return reply_error(res, 404, "unknown task \"" + std::string(req.matches[1]) + "\"");
    reply(res, 200, describe(*task));
  });

  http_->Get(R"(/v1/tasks/([^/]+)/estimates)", [this, authorized](const httplib::Request& req,
                                                                  httplib::Response& res) {
    if (!authorized(req, res)) return;
    const Task* task = find(req.matches[1]);
    if (task == nullptr)
      return reply_error(res, 404, "unknown task \"" + std::string(req.matches[1]) + "\"");
    std::size_t top = 20;
    Postprocess postprocess = Postprocess::kNone;
    try {
      if (req.has_param("top")) top = std::stoul(req.get_param_value("top"));
      if (req.has_param("postprocess")) {
        const std::string name = req.get_param_value("postprocess");
        if (name != "none" && name != "normsub")
          throw Error("postprocess must be none or normsub.");
        postprocess = parse_postprocess(name);
      }
    } catch (const std::exception& e) {
      return reply_error(res, 400, std::string("bad query: ") + e.what());
    }
    TaskRecord record;
    Tally tally = task->protocol.new_tally();
    try {
      for (TaskRecord& r : store_.tasks()) {
        if (r.name == task->name) record = std::move(r);
      }
      tally = store_.tally(task->name);
    } catch (const Error& e) {
      // A store shared over the network (PostgreSQL) may be unreachable for a while.
      return reply_error(res, 503, std::string("the store cannot be read: ") + e.what());
    }
    reply(res, 200, to_json(estimate_task(*task, tally, record, top, postprocess)));
  });

  http_->Post(R"(/v1/tasks/([^/]+)/reports)", [this](const httplib::Request& req,
                                                     httplib::Response& res) {
    const auto start = Clock::now();
    const std::optional<std::size_t> token =
        access_.authenticate(req.get_header_value("Authorization"));
    auto refuse = [&](int status, const char* result, const std::string& message) {
      metrics_.count_batch(result);
      reply_error(res, status, message);
    };
    if (!token) return refuse(401, "unauthorized", "missing or unknown bearer token");
    const Task* task = find(req.matches[1]);
    if (task == nullptr) {
      return refuse(404, "unknown_task", "unknown task \"" + std::string(req.matches[1]) + "\"");
    }
    const std::span<const uint8_t> body(reinterpret_cast<const uint8_t*>(req.body.data()),
                                        req.body.size());
    if (const std::optional<uint32_t> count = declared_count(req.body);
        count && *count > config_.max_reports_per_batch) {
      // Not refuse(): the logger counts every 413 as too_large, this one included.
      return reply_error(res, 413,
                         "the batch holds " + std::to_string(*count) + " reports; the limit is " +
                             std::to_string(config_.max_reports_per_batch));
    }
    const ParseResult<BatchHeader> header = parse_batch_header(body, config_.max_reports_per_batch);
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
    const Admission admission = access_.admit(*token, header.value().count);
    if (!admission.ok) {
      res.set_header("Retry-After", std::to_string(admission.retry_after));
      return refuse(429, "rate_limited", admission.reason);
    }
    PendingBatch batch{.task = task->name,
                       .id = header.value().id,
                       .raw = {body.begin(), body.end()},
                       .reports = {},
                       .received = unix_now()};
    const ParseResult<BatchHeader> parsed =
        parse_batch(task->codec, body, batch.reports, config_.max_reports_per_batch);
    if (!parsed.ok()) {
      access_.refund(*token, header.value().count);
      metrics_.count_batch("malformed");
      return reply(res, 400,
                   {{"error", parsed.error().message}, {"offset", parsed.error().offset}});
    }
    const std::size_t reports = batch.reports.size();
    CommitOutcome outcome;
    try {
      outcome = commits_->submit(std::move(batch));
    } catch (const std::exception& e) {
      access_.refund(*token, reports);
      return refuse(503, "store_error", std::string("the batch could not be stored: ") + e.what());
    }
    if (outcome == CommitOutcome::kDuplicate) {
      access_.refund(*token, reports);
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

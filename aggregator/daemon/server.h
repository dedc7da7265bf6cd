// Server: residued's HTTP(S) front (docs/api.md): routes, authentication and roles (checked
// from the headers, before any body is read), admission, batch parsing, the hand-off to the
// CommitQueue, and cached estimates. /metrics is served on its own plain-HTTP listener when
// the configuration has metrics_listen. Everything it knows about storage is the Store
// interface.
//
//   Server server(config, *store, tasks);
//   uint16_t port = server.bind();      // the actual port when the config says 0
//   server.run();                       // until stop()
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "access.h"
#include "commit_queue.h"
#include "config.h"
#include "estimate_cache.h"
#include "metrics.h"
#include "store.h"
#include "task.h"
#include "task_builds.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace residue {

class Server {
 public:
  /// Throws Error if TLS files cannot be loaded.
  Server(const DaemonConfig& config, Store& store, std::vector<Task> tasks);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds the configured address, and metrics_listen when set; returns the main port (the
  /// chosen one for port 0). Throws Error naming the address when it cannot.
  uint16_t bind();
  /// The metrics listener's port once bound; nullopt without metrics_listen.
  std::optional<uint16_t> metrics_port() const { return metrics_port_; }
  /// Serves until stop(); then finishes in-flight requests and their commits.
  void run();
  /// Safe from any thread, once; also before run() has started listening (it then waits).
  void stop();

 private:
  void add_routes();
  /// The pre-routing check of every request: a token with the role its route needs, and for
  /// uploads a declared length within max_body_bytes. Answers and returns false if refused.
  bool admit(const httplib::Request& req, httplib::Response& res);
  const Task* find(const std::string& name) const;
  /// The `top` query parameter (default `fallback`), within max_top; nullopt after answering 400.
  std::optional<std::size_t> top_param(const httplib::Request& req, httplib::Response& res,
                                       std::size_t fallback) const;
  /// The last good build of memory or vocab task `req.matches[1]`; null after answering 404
  /// (unknown task, another kind) or 503 (not built here, or not built yet).
  template <typename Built>
  std::shared_ptr<const Built> served(const httplib::Request& req, httplib::Response& res,
                                      TaskKind kind) const;
  /// The task's max_reports_per_batch: the configured one, lowered so that a batch parses into
  /// at most max_positions_per_batch positions.
  uint32_t max_reports(const Task& task) const;

  const DaemonConfig config_;
  Store& store_;
  std::map<std::string, Task> tasks_;
  Metrics metrics_;
  Access access_;
  EstimateCache estimates_;
  std::unique_ptr<CommitQueue> commits_;
  std::unique_ptr<TaskBuilds> builds_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<httplib::Server> metrics_http_;  // with metrics_listen only
  std::optional<uint16_t> metrics_port_;
  std::atomic<bool> finished_{false};          // run()'s main listener has returned
  std::atomic<bool> metrics_finished_{false};  // the metrics listener has returned
};

}  // namespace residue

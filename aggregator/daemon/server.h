// Server: residued's HTTP(S) front (docs/api.md): routes, authentication, admission, batch
// parsing, and the hand-off to the CommitQueue. Everything it knows about storage is the
// Store interface.
//
//   Server server(config, *store, tasks);
//   uint16_t port = server.bind();      // the actual port when the config says 0
//   server.run();                       // until stop()
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "access.h"
#include "commit_queue.h"
#include "config.h"
#include "metrics.h"
#include "store.h"
#include "task.h"

namespace httplib {
class Server;
}

namespace residue {

class Server {
 public:
  /// Throws Error if TLS files cannot be loaded.
  Server(const DaemonConfig& config, Store& store, std::vector<Task> tasks);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds the configured address; returns the port (the chosen one for port 0).
  /// Throws Error naming the address when it cannot.
  uint16_t bind();
  /// Serves until stop(); then finishes in-flight requests and their commits.
  void run();
  /// Safe from any thread, once; also before run() has started listening (it then waits).
  void stop();

 private:
  void add_routes();
  const Task* find(const std::string& name) const;

  const DaemonConfig config_;
  Store& store_;
  std::map<std::string, Task> tasks_;
  Metrics metrics_;
  Access access_;
  std::unique_ptr<CommitQueue> commits_;
  std::unique_ptr<httplib::Server> http_;
  std::atomic<bool> finished_{false};  // run() has returned
};

}  // namespace residue

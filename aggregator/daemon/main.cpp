// residued: the aggregation daemon. Reads its TOML configuration, opens the store (SQLite in
// data_dir, or a PostgreSQL database shared with other daemons), declares the tasks, serves the
// HTTP API until SIGTERM or SIGINT, then finishes the requests in flight and exits 0.
// docs/operators.md is the operator's guide; docs/deployment.md covers several daemons.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "config.h"
#include "postgres_store.h"
#include "residue/core/error.h"
#include "server.h"
#include "sqlite_store.h"
#include "task.h"

namespace {

int signal_pipe[2] = {-1, -1};

// Async-signal-safe: one byte, the signal's number.
void on_signal(int signal) {
  const unsigned char byte = static_cast<unsigned char>(signal);
  (void)!write(signal_pipe[1], &byte, 1);
}

residue::DaemonConfig configure(int argc, char** argv) {
  CLI::App app{"residued: the Residue aggregation daemon (docs/operators.md)"};
  std::string config_path, listen, data_dir;
  app.add_option("--config", config_path, "TOML configuration file")->required();
  app.add_option("--listen", listen, "host:port, overriding the file (port 0: any free port)");
  app.add_option("--data-dir", data_dir, "Data directory, overriding the file");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::exit(app.exit(e));
  } catch (const CLI::ParseError& e) {
    std::cerr << "residued: error: " << e.what() << " (see --help)\n";
    std::exit(2);
  }
  residue::DaemonConfig config = residue::load_config(config_path);
  if (!listen.empty()) residue::parse_listen(listen, "--listen", config);
  if (!data_dir.empty()) config.data_dir = data_dir;
  return config;
}

std::unique_ptr<residue::Store> open_store(const residue::DaemonConfig& config) {
  if (config.store == residue::StoreKind::kPostgres) {
    return residue::open_postgres_store(
        {.conninfo = config.postgres->conninfo, .shard = config.postgres->shard});
  }
  return residue::open_sqlite_store(config.data_dir);
}

std::string describe_store(const residue::DaemonConfig& config) {
  if (config.store == residue::StoreKind::kPostgres) {
    return "data in postgres (" + residue::describe_conninfo(config.postgres->conninfo) +
           "), shard " + std::to_string(config.postgres->shard);
  }
  return "data in " + config.data_dir.string();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const residue::DaemonConfig config = configure(argc, argv);
    // SIGTERM and SIGINT become a byte on a pipe that one thread waits on. Blocking them and
    // calling sigwait() is not enough: OpenBLAS (under FAISS) starts threads before main()
    // runs, with the signals unblocked, and the default action would kill the daemon there.
    if (pipe2(signal_pipe, O_CLOEXEC) != 0) throw residue::Error("pipe2 failed");
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
    signal(SIGPIPE, SIG_IGN);

    std::unique_ptr<residue::Store> store = open_store(config);
    std::vector<residue::TaskRecord> stored = store->tasks();
    std::vector<residue::Task> tasks;
    for (const residue::TaskConfig& t : config.tasks) {
      std::optional<residue::ProtocolParams> previous;
      for (const residue::TaskRecord& r : stored) {
        if (r.name != t.name) continue;
        try {
          previous = residue::params_from_json(nlohmann::json::parse(r.params_json));
        } catch (const residue::Error& e) {
          // E.g. a task stored by an older release whose encoder drew differently (mss and ss
          // version 2): its reports stay readable by that release's tools, never mixed here.
          throw residue::Error("task " + t.name + ": the store holds it with parameters this " +
                               "release does not use (" + e.what() +
                               ") Keep its data with the release that wrote it (residue decode, "
                               "verify), or collect under a new task name.");
        }
      }
      tasks.push_back(residue::make_task(t, previous));
    }
    // Before any task is registered: a bad pair of stages changes nothing in the store.
    residue::check_stage_artifacts(tasks);
    for (const residue::Task& task : tasks) {
      store->register_task(task.name, residue::canonical_json(task.protocol.params()),
                           task.domain_id, task.hash, task.protocol.new_tally());
      std::cerr << "residued: task " << task.name << ": " << task.protocol.id()
                << " k=" << task.protocol.params().k
                << " epsilon=" << task.protocol.params().epsilon << "\n";
    }

    residue::Server server(config, *store, std::move(tasks));
    const uint16_t port = server.bind();
    std::printf("residued: listening on %s%s:%u, %s\n", config.tls ? "https://" : "http://",
                config.host.c_str(), port, describe_store(config).c_str());
    if (const std::optional<uint16_t> metrics = server.metrics_port()) {
      std::printf("residued: metrics on http://%s:%u/metrics\n",
                  config.metrics_listen->host.c_str(), *metrics);
    }
    std::fflush(stdout);
    std::thread waiter([&server] {
      unsigned char received = 0;
      while (read(signal_pipe[0], &received, 1) < 0 && errno == EINTR) {
      }
      if (received == 0) return;  // run() returned by itself
      std::cerr << "residued: signal " << int{received} << ", finishing requests in flight\n";
      server.stop();
    });
    server.run();
    // listen returned: either stop() ran, or the socket failed; make the waiter return too.
    const unsigned char done = 0;
    (void)!write(signal_pipe[1], &done, 1);
    waiter.join();
    std::cerr << "residued: stopped\n";
    return 0;
  } catch (const residue::Error& e) {
    std::cerr << "residued: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "residued: error: " << e.what() << "\n";
    return 1;
  }
}

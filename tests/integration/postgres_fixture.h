// Fixture of the PostgreSQL tests: a server of the test's own, in a fresh temporary directory,
// listening on 127.0.0.1 only, on a free port, with trust authentication for the superuser
// "residue". initdb refuses to run as root, so under root (CI containers) the server runs as
// the `postgres` user that Debian's postgresql package creates. Nothing is skipped: when the
// server cannot be made or started, the constructor throws with the reason and the server's log.
//
//   PostgresServer pg;                          // initdb + start, ready for connections
//   auto store = open_postgres_store({.conninfo = pg.conninfo(), .shard = 1});
//   pg.stop(PostgresServer::Stop::kImmediate);  // a crash: WAL recovery at the next start
//   pg.start();                                 // same port, same data
//
// The server is a child of the test process with PR_SET_PDEATHSIG, so it dies with the test
// even when the test is killed; the destructor stops it and removes the directory. The signal
// comes when the *thread* that forked the server ends: construct and start() it from the
// test's main thread.
#pragma once

#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "daemon_fixture.h"

#ifndef RESIDUE_PG_BINDIR
#error "RESIDUE_PG_BINDIR must give the directory of initdb and postgres (pg_config --bindir)"
#endif

namespace residue::integration {

/// A free TCP port on 127.0.0.1 (bound to port 0 and released; used right after).
inline uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error(std::string("bind 127.0.0.1:0: ") + std::strerror(errno));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// One statement on a connection of its own, for what the Store interface does not expose;
/// the text of the first column of every row. Throws with the server's message.
inline std::vector<std::string> psql(const std::string& conninfo, const std::string& sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn(c, PQfinish);
  if (PQstatus(c) != CONNECTION_OK)
    throw std::runtime_error("connect: " + std::string(PQerrorMessage(c)));
  std::unique_ptr<PGresult, void (*)(PGresult*)> r(PQexec(c, sql.c_str()), PQclear);
  const ExecStatusType status = PQresultStatus(r.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
    throw std::runtime_error(sql + ": " + PQresultErrorMessage(r.get()));
  std::vector<std::string> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.emplace_back(PQgetvalue(r.get(), i, 0));
  return out;
}

class PostgresServer {
 public:
  enum class Stop {
    kFast,       ///< SIGINT: active transactions roll back, clients are disconnected
    kImmediate,  ///< SIGQUIT: no checkpoint; the next start recovers from the WAL, as after a crash
  };

  PostgresServer() {
    const std::filesystem::path bin(RESIDUE_PG_BINDIR);
    for (const char* tool : {"initdb", "postgres"}) {
      if (!std::filesystem::exists(bin / tool))
        throw std::runtime_error("PostgreSQL's " + std::string(tool) + " is not in " +
                                 bin.string() +
                                 " (pg_config --bindir when CMake ran): install postgresql-15 "
                                 "(scripts/setup) and re-run cmake.");
    }
    if (::geteuid() == 0) {
      // initdb and postgres refuse root: run them as the postgres package's system user.
      const passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr)
        throw std::runtime_error(
            "the tests run as root, and there is no `postgres` user to run PostgreSQL as "
            "(initdb refuses root): install postgresql-15 (scripts/setup), which creates it.");
      user_ = std::pair<uid_t, gid_t>(pw->pw_uid, pw->pw_gid);
    }
    std::string pattern = (std::filesystem::temp_directory_path() / "residue-pg-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
    dir_ = pattern;
    if (user_ && ::chown(dir_.c_str(), user_->first, user_->second) != 0)
      throw std::runtime_error("chown " + dir_.string() + ": " + std::strerror(errno));
    const int initdb =
        run_to_end({(bin / "initdb").string(), "-D", (dir_ / "data").string(), "-A", "trust", "-U",
                    "residue", "-E", "UTF8", "--locale=C", "--no-sync"},
                   std::chrono::seconds(60));
    if (initdb != 0)
      throw std::runtime_error("initdb exited with " + std::to_string(initdb) + ": " + log());
    // A port that was free a moment ago can be taken by another test meanwhile: try others.
    for (int attempt = 0;; ++attempt) {
      port_ = free_port();
      if (try_start()) break;
      if (attempt == 4 || log().find("could not bind") == std::string::npos)
        throw std::runtime_error("PostgreSQL did not start on 127.0.0.1:" + std::to_string(port_) +
                                 ": " + log());
    }
  }

  ~PostgresServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGQUIT);
      if (!reap(std::chrono::seconds(10))) {
        ::kill(pid_, SIGKILL);
        reap(std::chrono::seconds(10));
      }
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  /// Starts the server again on its port and waits until it accepts connections.
  void start() {
    if (!try_start())
      throw std::runtime_error("PostgreSQL did not restart on 127.0.0.1:" + std::to_string(port_) +
                               ": " + log());
  }

  /// Stops the server and waits (at most 30 s) for it to end.
  void stop(Stop how = Stop::kFast) {
    if (pid_ <= 0) return;
    ::kill(pid_, how == Stop::kFast ? SIGINT : SIGQUIT);
    if (!reap(std::chrono::seconds(30))) {
      ::kill(pid_, SIGKILL);
      reap(std::chrono::seconds(10));
      throw std::runtime_error("PostgreSQL did not stop within 30 s: " + log());
    }
  }

  bool running() const { return pid_ > 0; }
  uint16_t port() const { return port_; }
  /// A libpq connection string for the superuser over TCP on 127.0.0.1.
  std::string conninfo(const std::string& dbname = "postgres") const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=residue dbname=" + dbname +
           " connect_timeout=5";
  }
  /// What initdb and the server wrote.
  std::string log() const { return read_text(dir_ / "server.log"); }

 private:
  // Forks `argv` with stdout and stderr appended to server.log, as the postgres user under root,
  // dying with this process. Returns the pid.
  pid_t spawn(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const std::string log_path = (dir_ / "server.log").string();
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid > 0) return pid;
    const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (log_fd < 0 || null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 ||
        ::dup2(log_fd, 2) < 0)
      _exit(126);
    if (user_ && (::setgroups(0, nullptr) != 0 || ::setgid(user_->second) != 0 ||
                  ::setuid(user_->first) != 0))
      _exit(125);
    // After setuid: a change of credentials clears the parent-death signal.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(124);
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    ::execv(args[0], args.data());
    _exit(127);
  }

  int run_to_end(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
    pid_ = spawn(argv);
    if (!reap(timeout)) {
      ::kill(pid_, SIGKILL);
      reap(std::chrono::seconds(10));
      return -1;
    }
    return exit_code_;
  }

  bool try_start() {
    if (pid_ > 0) throw std::logic_error("PostgreSQL is already running");
    pid_ = spawn({(std::filesystem::path(RESIDUE_PG_BINDIR) / "postgres").string(), "-D",
                  (dir_ / "data").string(), "-c", "listen_addresses=127.0.0.1", "-p",
                  std::to_string(port_), "-c", "unix_socket_directories=" + dir_.string(), "-c",
                  "max_connections=60", "-c", "shared_buffers=32MB", "-c", "fsync=on"});
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      if (PQping(conninfo().c_str()) == PQPING_OK) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // it gave up (the port, say)
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("PostgreSQL did not accept connections within 30 s: " + log());
  }

  // Waits for pid_ to end; false on timeout.
  bool reap(std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || (r < 0 && errno != EINTR)) {
        exit_code_ = r == pid_ && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        pid_ = -1;
        return true;
      }
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  std::filesystem::path dir_;
  std::optional<std::pair<uid_t, gid_t>> user_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

/// The [postgres] lines of a daemon's configuration for `pg` and `shard`.
inline std::string postgres_store_toml(const PostgresServer& pg, uint32_t shard) {
  return "store = \"postgres\"\n[postgres]\nconninfo = " + toml_string(pg.conninfo()) +
         "\nshard = " + std::to_string(shard) + "\n";
}

}  // namespace residue::integration

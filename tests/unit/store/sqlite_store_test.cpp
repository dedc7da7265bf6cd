// SqliteStore: the ledger, the tallies and the raw batches survive reopening and crashes;
// duplicates and failed groups change nothing.
#include "sqlite_store.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "residue/core/domain.h"
#include "residue/core/error.h"
#include "residue/protocols/registry.h"
#include "residue/random/seeded_rng.h"

namespace residue {
namespace {

namespace fs = std::filesystem;

/// A fresh directory path under the system temporary directory (not created), removed with
/// everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("residue-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
             "-" + std::to_string(std::random_device{}()));
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

/// A raw connection to the store's database, for what the Store interface does not expose.
class RawDb {
 public:
  explicit RawDb(const fs::path& dir) {
    REQUIRE(sqlite3_open((dir / "residue.db").c_str(), &db_) == SQLITE_OK);
  }
  ~RawDb() { sqlite3_close(db_); }
  void exec(const std::string& sql) {
    INFO(sqlite3_errmsg(db_));
    REQUIRE(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  /// The first column of every row, as text.
  std::vector<std::string> column(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    std::vector<std::string> out;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

Protocol ss64() {
  return make_protocol(complete_params({.protocol = "ss", .k = 64, .epsilon = 1}));
}

void register_protocol(Store& store, const std::string& task, const Protocol& p) {
  store.register_task(task, canonical_json(p.params()), "", params_hash(p.params()), p.new_tally());
}

BatchId id_of(uint64_t n) {
  BatchId id{};
  for (int i = 0; i < 8; ++i) id[i] = static_cast<uint8_t>(n >> (8 * i));
  id[15] = 0x5a;
  return id;
}

/// Batch `n` of `task`: `count` reports of values drawn from seed n; the raw bytes are a
/// label plus the id (parsing real batches is the wire parser's job, not the store's).
PendingBatch make_batch(const Protocol& p, const std::string& task, uint64_t n,
                        std::size_t count = 20) {
  PendingBatch b{.task = task, .id = id_of(n), .received = 1'700'000'000 + static_cast<int64_t>(n)};
  const std::string label = "raw batch of " + task + ":";
  b.raw.assign(label.begin(), label.end());
  b.raw.insert(b.raw.end(), b.id.begin(), b.id.end());
  SeededRng rng(n);
  for (std::size_t i = 0; i < count; ++i) {
    b.reports.push_back(p.encoder().encode(static_cast<uint32_t>((n * 7 + i) % p.params().k), rng));
  }
  return b;
}

Tally tally_of(const Protocol& p, const std::vector<PendingBatch>& batches) {
  Tally t = p.new_tally();
  for (const PendingBatch& b : batches) t.add(std::span<const Report>(b.reports));
  return t;
}

std::vector<StoredBatch> stored(const Store& store, const std::string& task) {
  std::vector<StoredBatch> out;
  store.for_each_batch(task, [&](const StoredBatch& b) { out.push_back(b); });
  return out;
}

/// A store in a fresh directory with the task "words" of ss64() registered: how most tests
/// begin (TEST_CASE_METHOD).
struct WordsStore {
  WordsStore() : store(open_sqlite_store(dir.path())) { register_protocol(*store, "words", p); }

  TempDir dir;
  const Protocol p = ss64();
  std::unique_ptr<Store> store;
};

TEST_CASE("a reopened store keeps its tasks, tallies and batches", "[store]") {
  TempDir dir;
  const Protocol p = ss64();
  const std::vector<PendingBatch> batches = {make_batch(p, "words", 1), make_batch(p, "words", 2)};
  {
    std::unique_ptr<Store> store = open_sqlite_store(dir.path());
    CHECK(store->tasks().empty());
    register_protocol(*store, "words", p);
    CHECK(store->tally("words") == p.new_tally());
    store->commit(batches);
  }
  std::unique_ptr<Store> store = open_sqlite_store(dir.path());
  const std::vector<TaskRecord> tasks = store->tasks();
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].name == "words");
  CHECK(tasks[0].params_json == canonical_json(p.params()));
  CHECK(tasks[0].params_hash == params_hash(p.params()));
  CHECK(tasks[0].batches == 2);
  CHECK(tasks[0].reports == 40);
  CHECK(tasks[0].last_batch == 1'700'000'002);
  CHECK(store->tally("words") == tally_of(p, batches));
  CHECK(stored(*store, "words").size() == 2);
  register_protocol(*store, "words", p);  // the same parameters again: accepted, no change
  CHECK(store->tally("words") == tally_of(p, batches));
}

TEST_CASE_METHOD(WordsStore,
                 "a batch id is counted once, repeated in a later group or within one group",
                 "[store]") {
  const PendingBatch a = make_batch(p, "words", 1), b = make_batch(p, "words", 2);
  using enum CommitOutcome;
  CHECK(store->commit(std::vector{a}) == std::vector{kAccepted});
  CHECK(store->commit(std::vector{a}) == std::vector{kDuplicate});
  CHECK(store->commit(std::vector{b, a, b}) == std::vector{kAccepted, kDuplicate, kDuplicate});
  CHECK(store->tally("words") == tally_of(p, {a, b}));
  CHECK(store->tasks()[0].batches == 2);
  CHECK(store->tasks()[0].reports == 40);
  CHECK(stored(*store, "words").size() == 2);
}

TEST_CASE("each task's tally is the sum of its accepted batches' reports", "[store]") {
  TempDir dir;
  const Protocol ss = ss64();
  const Protocol mss = make_protocol(complete_params({.protocol = "mss", .k = 1024, .epsilon = 2}));
  std::unique_ptr<Store> store = open_sqlite_store(dir.path());
  register_protocol(*store, "ss", ss);
  register_protocol(*store, "mss", mss);
  std::vector<PendingBatch> ss_batches, mss_batches;
  for (uint64_t group = 0; group < 5; ++group) {
    std::vector<PendingBatch> batches;
    for (uint64_t i = 0; i < 4; ++i) {
      const uint64_t n = group * 4 + i;
      batches.push_back(n % 2 ? make_batch(ss, "ss", n, 30) : make_batch(mss, "mss", n, 100));
      (n % 2 ? ss_batches : mss_batches).push_back(batches.back());
    }
    store->commit(batches);
  }
  CHECK(store->tally("ss") == tally_of(ss, ss_batches));
  CHECK(store->tally("mss") == tally_of(mss, mss_batches));
  store.reset();
  store = open_sqlite_store(dir.path());
  CHECK(store->tally("ss") == tally_of(ss, ss_batches));
  CHECK(store->tally("mss") == tally_of(mss, mss_batches));
}

TEST_CASE("for_each_batch returns exactly the accepted raw bodies in commit order", "[store]") {
  TempDir dir;
  const Protocol p = ss64();
  std::unique_ptr<Store> store = open_sqlite_store(dir.path());
  register_protocol(*store, "a", p);
  register_protocol(*store, "b", p);
  std::vector<PendingBatch> a = {make_batch(p, "a", 5), make_batch(p, "a", 3),
                                 make_batch(p, "a", 9)};
  const PendingBatch b = make_batch(p, "b", 4);
  store->commit(std::vector{a[0], b});
  store->commit(std::vector{a[1], a[0], a[2]});
  const std::vector<StoredBatch> got = stored(*store, "a");
  REQUIRE(got.size() == 3);
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].task == "a");
    CHECK(got[i].id == a[i].id);
    CHECK(got[i].raw == a[i].raw);
    CHECK(got[i].received == a[i].received);
  }
  // Sequences count every accepted batch of the store, from 1, in commit order.
  CHECK(got[0].sequence == 1);
  CHECK(got[1].sequence == 3);
  CHECK(got[2].sequence == 4);
  const std::vector<StoredBatch> got_b = stored(*store, "b");
  REQUIRE(got_b.size() == 1);
  CHECK(got_b[0].raw == b.raw);
  CHECK(got_b[0].sequence == 2);
}

TEST_CASE_METHOD(WordsStore, "register_task refuses changed parameters and a changed tally shape",
                 "[store]") {
  const Protocol other = make_protocol(complete_params({.protocol = "ss", .k = 64, .epsilon = 2}));
  CHECK_THROWS_WITH(register_protocol(*store, "words", other),
                    Catch::Contains("\"words\"") && Catch::Contains("parameter hash"));
  // Same hash, but the protocol now makes another shape (a wrong or changed factory).
  const Protocol wider = make_protocol(complete_params({.protocol = "ss", .k = 65, .epsilon = 1}));
  CHECK_THROWS_WITH(store->register_task("words", canonical_json(p.params()), "",
                                         params_hash(p.params()), wider.new_tally()),
                    Catch::Contains("\"words\"") && Catch::Contains("65"));
  const Protocol grr = make_protocol(complete_params({.protocol = "grr", .k = 64, .epsilon = 1}));
  CHECK_THROWS_WITH(store->register_task("words", canonical_json(p.params()), "",
                                         params_hash(p.params()), grr.new_tally()),
                    Catch::Contains(grr.id()));
  Tally counted = p.new_tally();
  counted.add_counts(0, 1, 1);
  CHECK_THROWS_WITH(store->register_task("fresh", "{}", "", params_hash(p.params()), counted),
                    Catch::Contains("\"fresh\"") && Catch::Contains("empty"));
  CHECK(store->tasks().size() == 1);
}

TEST_CASE("a database of a newer schema version is refused, naming both versions", "[store]") {
  TempDir dir;
  open_sqlite_store(dir.path());
  RawDb(dir.path()).exec("UPDATE meta SET value = 99 WHERE key = 'schema_version'");
  CHECK_THROWS_WITH(open_sqlite_store(dir.path()),
                    Catch::Contains((dir.path() / "residue.db").string()) &&
                        Catch::Contains("schema version 99") &&
                        Catch::Contains("this program's 2"));
}

// Issue 12.1: a reordered dictionary under the same parameters used to start normally with the
// same hash, relabelling every stored count.
TEST_CASE("a task's dictionary cannot change under its stored data", "[store]") {
  TempDir dir;
  const Protocol p = make_protocol(complete_params({.protocol = "grr", .k = 3, .epsilon = 1}));
  const std::string abc = Domain::dictionary({"a", "b", "c"}).id();
  const std::string cab = Domain::dictionary({"c", "a", "b"}).id();
  std::unique_ptr<Store> store = open_sqlite_store(dir.path());
  store->register_task("words", canonical_json(p.params()), abc, task_hash(p.params(), abc),
                       p.new_tally());
  store->register_task("words", canonical_json(p.params()), abc, task_hash(p.params(), abc),
                       p.new_tally());  // the same again: fine
  CHECK_THROWS_WITH(store->register_task("words", canonical_json(p.params()), cab,
                                         task_hash(p.params(), cab), p.new_tally()),
                    Catch::Contains("dictionary of task \"words\" changed") &&
                        Catch::Contains(abc) && Catch::Contains(cab));
  // Declared without its dictionary, it is another task too.
  CHECK_THROWS_WITH(store->register_task("words", canonical_json(p.params()), "",
                                         params_hash(p.params()), p.new_tally()),
                    Catch::Contains("changed"));
  const std::vector<TaskRecord> tasks = open_sqlite_store(dir.path())->tasks();
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].domain_id == abc);
  CHECK(tasks[0].params_hash == task_hash(p.params(), abc));
}

TEST_CASE("a version 1 database is upgraded: its tasks get no domain, as their hashes say",
          "[store]") {
  TempDir dir;
  fs::create_directories(dir.path());
  const Protocol p = ss64();
  {
    RawDb v1(dir.path());
    v1.exec(
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "INSERT INTO meta VALUES('schema_version', 1);"
        "CREATE TABLE tasks(name TEXT PRIMARY KEY, params_json TEXT NOT NULL, params_hash BLOB "
        "NOT NULL, tally BLOB NOT NULL, batches INTEGER NOT NULL DEFAULT 0, reports INTEGER NOT "
        "NULL DEFAULT 0, last_batch INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE batches(sequence INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, task TEXT "
        "NOT NULL REFERENCES tasks(name), received INTEGER NOT NULL, reports INTEGER NOT NULL, "
        "body BLOB NOT NULL);");
  }
  // A task row as version 1 wrote it, through the store of today and a column dropped after.
  register_protocol(*open_sqlite_store(dir.path() / "scratch"), "words", p);
  RawDb(dir.path())
      .exec("ATTACH '" + (dir.path() / "scratch" / "residue.db").string() +
            "' AS s; INSERT INTO tasks SELECT name, params_json, params_hash, tally, "
            "batches, reports, last_batch FROM s.tasks; DETACH s;");
  std::unique_ptr<Store> store = open_sqlite_store(dir.path());
  CHECK(RawDb(dir.path()).column("SELECT value FROM meta WHERE key = 'schema_version'") ==
        std::vector<std::string>{"2"});
  const std::vector<TaskRecord> tasks = store->tasks();
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].domain_id.empty());
  CHECK(tasks[0].params_hash == params_hash(p.params()));
  CHECK_NOTHROW(register_protocol(*store, "words", p));
}

TEST_CASE("a corrupt stored tally is refused, naming its task", "[store]") {
  TempDir dir;
  register_protocol(*open_sqlite_store(dir.path()), "words", ss64());
  RawDb(dir.path()).exec("UPDATE tasks SET tally = x'0102030405' WHERE name = 'words'");
  CHECK_THROWS_WITH(open_sqlite_store(dir.path()),
                    Catch::Contains("\"words\"") && Catch::Contains("corrupt"));
}

TEST_CASE_METHOD(WordsStore, "a failed commit stores and counts nothing of its group", "[store]") {
  const PendingBatch good = make_batch(p, "words", 1);
  PendingBatch bad = make_batch(p, "words", 2);
  bad.reports[3].items.back() = 64;  // outside [0, k)
  const PendingBatch unregistered = make_batch(p, "nobody", 3);

  CHECK_THROWS_WITH(store->commit(std::vector{good, bad}),
                    Catch::Contains("\"words\"") && Catch::Contains("report 3"));
  CHECK_THROWS_WITH(store->commit(std::vector{good, unregistered}), Catch::Contains("\"nobody\""));
  auto nothing_stored = [&](const Store& s) {
    CHECK(s.tally("words") == p.new_tally());
    CHECK(s.tasks()[0].batches == 0);
    CHECK(s.tasks()[0].reports == 0);
    CHECK(stored(s, "words").empty());
  };
  nothing_stored(*store);
  store.reset();
  store = open_sqlite_store(dir.path());
  nothing_stored(*store);
  // The good batch's id was rolled back out of the ledger, so it is new now.
  CHECK(store->commit(std::vector{good}) == std::vector{CommitOutcome::kAccepted});
  CHECK(store->tally("words") == tally_of(p, {good}));
}

TEST_CASE("unknown tasks are errors for tally and for_each_batch", "[store]") {
  TempDir dir;
  std::unique_ptr<Store> store = open_sqlite_store(dir.path());
  CHECK_THROWS_WITH(store->tally("nobody"), Catch::Contains("\"nobody\""));
  CHECK_THROWS_WITH(store->for_each_batch("nobody", [](const StoredBatch&) {}),
                    Catch::Contains("\"nobody\""));
}

TEST_CASE("the data directory is private and no client address, token or agent is stored",
          "[store]") {
  TempDir dir;
  const fs::path nested = dir.path() / "state" / "residue";
  register_protocol(*open_sqlite_store(nested), "words", ss64());
  struct stat st {};
  REQUIRE(::stat(nested.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  RawDb db(nested);
  CHECK(db.column("PRAGMA journal_mode") == std::vector<std::string>{"wal"});
  CHECK(db.column("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") ==
        std::vector<std::string>{"batches", "meta", "tasks"});
  CHECK(db.column("SELECT name FROM pragma_table_info('batches') ORDER BY name") ==
        std::vector<std::string>{"body", "id", "received", "reports", "sequence", "task"});
  CHECK(db.column("SELECT name FROM pragma_table_info('tasks') ORDER BY name") ==
        std::vector<std::string>{"batches", "domain", "last_batch", "name", "params_hash",
                                 "params_json", "reports", "tally"});
}

TEST_CASE("two stores on one database never overwrite each other's counts", "[store]") {
  TempDir dir;
  const Protocol p = ss64();
  std::unique_ptr<Store> a = open_sqlite_store(dir.path());
  std::unique_ptr<Store> b = open_sqlite_store(dir.path());
  register_protocol(*a, "words", p);
  register_protocol(*b, "words", p);  // sees a's registration
  const PendingBatch one = make_batch(p, "words", 1), two = make_batch(p, "words", 2),
                     three = make_batch(p, "words", 3);
  a->commit(std::vector{one});
  CHECK(b->commit(std::vector{two, one}) ==
        std::vector{CommitOutcome::kAccepted, CommitOutcome::kDuplicate});
  a->commit(std::vector{three});
  CHECK(a->tally("words") == tally_of(p, {one, two, three}));
  CHECK(open_sqlite_store(dir.path())->tally("words") == tally_of(p, {one, two, three}));
}

TEST_CASE_METHOD(WordsStore, "readers see only committed state while groups commit", "[store]") {
  std::atomic<bool> done = false;
  std::atomic<int> problems = 0;
  std::thread reader([&] {
    uint64_t last = 0;
    while (!done) {
      const uint64_t reports = store->tally("words").total_reports();
      if (reports < last || reports % 20 != 0) ++problems;
      last = reports;
      uint64_t previous = 0;
      store->for_each_batch("words", [&](const StoredBatch& b) {
        if (b.sequence <= previous) ++problems;
        previous = b.sequence;
      });
      if (store->tasks().size() != 1) ++problems;
    }
  });
  std::vector<PendingBatch> all;
  for (uint64_t group = 0; group < 20; ++group) {
    std::vector<PendingBatch> batches;
    for (uint64_t i = 0; i < 3; ++i) batches.push_back(make_batch(p, "words", group * 3 + i));
    store->commit(batches);
    all.insert(all.end(), batches.begin(), batches.end());
  }
  done = true;
  reader.join();
  CHECK(problems == 0);
  CHECK(store->tally("words") == tally_of(p, all));
}

// The crash test (docs/operators.md, "Durability"). A child process commits groups in a loop and
// reports each batch id down a pipe only after commit() returned; it is SIGKILLed at a random
// moment, several times, each life re-sending everything from the start (so acknowledged
// batches come again as duplicates and unacknowledged ones as new).
constexpr const char* kCrashTask = "crash";

[[noreturn]] void crash_child(const fs::path& dir, int fd) {
  try {
    const Protocol p = ss64();
    std::unique_ptr<Store> store = open_sqlite_store(dir);
    register_protocol(*store, kCrashTask, p);
    std::mt19937_64 pick(static_cast<uint64_t>(::getpid()));
    for (uint64_t next = 0;;) {
      std::vector<PendingBatch> group;
      const uint64_t size = 1 + pick() % 8;
      for (uint64_t i = 0; i < size; ++i) {
        const uint64_t n = next > 0 && pick() % 4 == 0 ? pick() % next : next++;
        group.push_back(make_batch(p, kCrashTask, n));
      }
      store->commit(group);
      for (const PendingBatch& b : group) {
        if (::write(fd, b.id.data(), b.id.size()) != static_cast<ssize_t>(b.id.size())) _exit(4);
      }
    }
  } catch (...) {
    _exit(3);
  }
}

TEST_CASE("a store killed at random moments keeps every acknowledged batch exactly once",
          "[store]") {
  TempDir dir;
  const Protocol p = ss64();
  const uint64_t seed = std::random_device{}();
  CAPTURE(seed);
  std::mt19937_64 pick(seed);
  // Registered up front, so the task exists even if the first life dies while opening.
  register_protocol(*open_sqlite_store(dir.path()), kCrashTask, p);
  std::set<BatchId> acknowledged;
  for (int life = 0; life < 4; ++life) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::close(fds[0]);
      crash_child(dir.path(), fds[1]);
    }
    ::close(fds[1]);
    const std::size_t wait_for = pick() % 40;
    BatchId id;
    std::size_t got = 0;
    auto read_id = [&] {
      std::size_t have = 0;
      while (have < id.size()) {
        const ssize_t n = ::read(fds[0], id.data() + have, id.size() - have);
        if (n <= 0) return false;
        have += static_cast<std::size_t>(n);
      }
      acknowledged.insert(id);
      return true;
    };
    while (got < wait_for && read_id()) ++got;
    std::this_thread::sleep_for(std::chrono::microseconds(pick() % 20'000));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
    while (read_id()) {
    }
    ::close(fds[0]);
  }
  INFO(acknowledged.size() << " batches acknowledged");

  std::unique_ptr<Store> store = open_sqlite_store(dir.path());
  Tally recomputed = p.new_tally();
  std::set<BatchId> ids;
  uint64_t previous = 0, reports = 0;
  store->for_each_batch(kCrashTask, [&](const StoredBatch& b) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = n << 8 | b.id[i];
    const PendingBatch expected = make_batch(p, kCrashTask, n);
    CHECK(b.id == expected.id);
    CHECK(b.raw == expected.raw);
    CHECK(ids.insert(b.id).second);
    CHECK(b.sequence > previous);
    previous = b.sequence;
    recomputed.add(std::span<const Report>(expected.reports));
    reports += expected.reports.size();
  });
  for (const BatchId& a : acknowledged) CHECK(ids.contains(a));
  CHECK(store->tally(kCrashTask) == recomputed);
  CHECK(store->tasks()[0].batches == ids.size());
  CHECK(store->tasks()[0].reports == reports);
  store.reset();
  CHECK(RawDb(dir.path()).column("PRAGMA integrity_check") == std::vector<std::string>{"ok"});
}

}  // namespace
}  // namespace residue

// Integration tests of the PostgreSQL store (issue 8): each test starts its own PostgreSQL
// server on 127.0.0.1 (postgres_fixture.h) and, for the HTTP tests, several residued against it.
// The claims: a batch counts once whichever daemon or shard commits it, also after duplicates,
// retries, a kill -9 of a daemon and a crash of the database; nothing acknowledged is lost;
// estimates sum the shards; the schema is versioned and a newer one is refused.
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <set>
#include <thread>

#include "batch_factory.h"
#include "postgres_fixture.h"
#include "postgres_store.h"
#include "residue/random/seeded_rng.h"

namespace residue::integration {
namespace {

[[maybe_unused]] const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

Tally tally_of(const Task& task, std::initializer_list<const PendingBatch*> batches) {
  Tally t = task.protocol.new_tally();
  for (const PendingBatch* b : batches) t.add(std::span<const Report>(b->reports));
  return t;
}

TEST_CASE("the postgres store counts a batch once whichever shard commits it and sums the shards",
          "[integration][postgres]") {
  PostgresServer pg;
  const Task task = words_task();
  SeededRng rng(81);
  const PendingBatch b1 = make_batch(task, 120, rng), b2 = make_batch(task, 80, rng),
                     b3 = make_batch(task, 50, rng, 1'800'090'000);  // the next UTC day

  const auto one = open_postgres_store({.conninfo = pg.conninfo(), .shard = 1});
  register_task(*one, task);
  // A copy later in the same group is a duplicate of the first.
  const std::vector<PendingBatch> first = {b1, b2, b1};
  CHECK(one->commit(first) == std::vector<CommitOutcome>{CommitOutcome::kAccepted,
                                                         CommitOutcome::kAccepted,
                                                         CommitOutcome::kDuplicate});
  // Another daemon (shard 2) sees the ledger of the first: b2 again counts nothing.
  const auto two = open_postgres_store({.conninfo = pg.conninfo(), .shard = 2});
  register_task(*two, task);
  const std::vector<PendingBatch> second = {b2, b3};
  CHECK(two->commit(second) ==
        std::vector<CommitOutcome>{CommitOutcome::kDuplicate, CommitOutcome::kAccepted});

  const Tally expected = tally_of(task, {&b1, &b2, &b3});
  CHECK(one->tally("words") == expected);
  CHECK(two->tally("words") == expected);
  // Each shard wrote only its own rows.
  CHECK(psql(pg.conninfo(),
             "SELECT shard || ':' || reports FROM residue.shard_totals "
             "ORDER BY shard") == std::vector<std::string>{"1:200", "2:50"});
  CHECK(psql(pg.conninfo(), "SELECT DISTINCT shard FROM residue.tally ORDER BY shard") ==
        std::vector<std::string>{"1", "2"});
  // Raw batches live in one partition per UTC day.
  CHECK(psql(pg.conninfo(), "SELECT count(*) FROM residue.batch_bodies_2027_01_15")[0] == "2");
  CHECK(psql(pg.conninfo(), "SELECT count(*) FROM residue.batch_bodies_2027_01_16")[0] == "1");
  // The SQL view sums the shards like the store does.
  CHECK(psql(pg.conninfo(), "SELECT sum(count) FROM residue.task_counts WHERE task = 'words'")[0] ==
        std::to_string([&] {
          uint64_t sum = 0;
          for (uint32_t j = 0; j < expected.block_count(); ++j)
            for (uint64_t c : expected.counts(j)) sum += c;
          return sum;
        }()));

  const std::vector<TaskRecord> tasks = two->tasks();
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].batches == 3);
  CHECK(tasks[0].reports == 250);
  CHECK(tasks[0].last_batch == 1'800'090'000);
  CHECK(tasks[0].params_hash == task.hash);
  std::vector<BatchId> ids;
  std::vector<uint64_t> sequences;
  one->for_each_batch("words", [&](const StoredBatch& b) {
    ids.push_back(b.id);
    sequences.push_back(b.sequence);
  });
  REQUIRE(ids.size() == 3);
  // In arrival order; within one group, in id order.
  CHECK(std::set<BatchId>(ids.begin(), ids.begin() + 2) == std::set<BatchId>{b1.id, b2.id});
  CHECK(ids[0] < ids[1]);
  CHECK(ids[2] == b3.id);
  CHECK(std::is_sorted(sequences.begin(), sequences.end()));
  for (const TaskVerification& v : verify_store(*one)) {
    for (const std::string& p : v.problems) FAIL_CHECK(p);
  }

  // A second program on shard 1 (a restarted daemon): each picks up what the other committed.
  const auto again = open_postgres_store({.conninfo = pg.conninfo(), .shard = 1});
  register_task(*again, task);
  const PendingBatch b4 = make_batch(task, 30, rng), b5 = make_batch(task, 20, rng);
  CHECK(again->commit(std::vector<PendingBatch>{b4})[0] == CommitOutcome::kAccepted);
  CHECK(one->commit(std::vector<PendingBatch>{b5})[0] == CommitOutcome::kAccepted);
  CHECK(again->tally("words") == tally_of(task, {&b1, &b2, &b3, &b4, &b5}));
  CHECK(psql(pg.conninfo(), "SELECT reports FROM residue.shard_totals WHERE shard = 1")[0] ==
        "250");
  for (const TaskVerification& v : verify_store(*again)) {
    for (const std::string& p : v.problems) FAIL_CHECK(p);
  }

  // A task's parameters cannot change under its data.
  Task other = words_task();
  other.hash[0] ^= 1;
  CHECK_THROWS_WITH(register_task(*two, other),
                    Catch::Contains("task \"words\"") && Catch::Contains("cannot change"));
  // Nor its dictionary (issue 12.1): the same parameters over a dictionary the data was not
  // counted under would relabel it.
  std::vector<std::string> values;
  for (uint32_t i = 0; i < task.protocol.params().k; ++i) values.push_back("w" + std::to_string(i));
  const Task dictionary = task_from_params(
      "words", task.protocol.params(), Domain::dictionary(values).id(), Domain::dictionary(values));
  CHECK_THROWS_WITH(register_task(*two, dictionary),
                    Catch::Contains("dictionary of task \"words\" changed"));
}

TEST_CASE("the postgres store refuses a newer schema and a missing one when it may not migrate",
          "[integration][postgres]") {
  PostgresServer pg;
  psql(pg.conninfo(), "CREATE DATABASE empty");
  CHECK_THROWS_WITH(open_postgres_store({.conninfo = pg.conninfo("empty"), .migrate = false}),
                    Catch::Contains("no Residue schema") && Catch::Contains("dbname=empty"));

  { open_postgres_store({.conninfo = pg.conninfo()}); }  // creates the latest version
  CHECK(psql(pg.conninfo(), "SELECT max(version) FROM residue.schema_migrations")[0] ==
        std::to_string(postgres_schema_version()));
  { open_postgres_store({.conninfo = pg.conninfo()}); }  // nothing to do the second time
  CHECK(psql(pg.conninfo(), "SELECT count(*) FROM residue.schema_migrations")[0] ==
        std::to_string(postgres_schema_version()));
  open_postgres_store({.conninfo = pg.conninfo(), .migrate = false});

  // A database of version 1 (no tasks.domain) with a task in it: a program that may migrate
  // brings it to version 2, and the task keeps its hash with no domain, as version 1 hashed it.
  const Task task = words_task();
  register_task(*open_postgres_store({.conninfo = pg.conninfo()}), task);
  psql(pg.conninfo(),
       "ALTER TABLE residue.tasks DROP COLUMN domain; "
       "DELETE FROM residue.schema_migrations WHERE version = 2");
  CHECK_THROWS_WITH(open_postgres_store({.conninfo = pg.conninfo(), .migrate = false}),
                    Catch::Contains("version 1") && Catch::Contains("older"));
  const auto migrated = open_postgres_store({.conninfo = pg.conninfo()});
  CHECK(psql(pg.conninfo(), "SELECT max(version) FROM residue.schema_migrations")[0] == "2");
  const std::vector<TaskRecord> tasks = migrated->tasks();
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].domain_id.empty());
  CHECK(tasks[0].params_hash == task.hash);
  CHECK_NOTHROW(register_task(*migrated, task));

  const int newer = postgres_schema_version() + 1;
  psql(pg.conninfo(), "INSERT INTO residue.schema_migrations(version, description) VALUES (" +
                          std::to_string(newer) + ", 'from the future')");
  CHECK_THROWS_WITH(open_postgres_store({.conninfo = pg.conninfo(), .shard = 3}),
                    Catch::Contains("version " + std::to_string(newer)) &&
                        Catch::Contains("newer than this program's"));

  // The server's address is in every message; a password never is.
  CHECK_THROWS_WITH(
      open_postgres_store({.conninfo = "host=127.0.0.1 port=1 user=u password=hunter2"}),
      Catch::Contains("host=127.0.0.1 port=1") && !Catch::Contains("hunter2"));
}

TEST_CASE("the postgres store fails commits while the server is down and recovers losing nothing",
          "[integration][postgres]") {
  PostgresServer pg;
  const Task task = words_task();
  SeededRng rng(82);
  const auto store = open_postgres_store({.conninfo = pg.conninfo(),
                                          .shard = 1,
                                          .reconnect_min = std::chrono::milliseconds(50),
                                          .reconnect_max = std::chrono::milliseconds(200)});
  register_task(*store, task);
  const PendingBatch b1 = make_batch(task, 40, rng), b2 = make_batch(task, 60, rng);
  REQUIRE(store->commit(std::vector<PendingBatch>{b1})[0] == CommitOutcome::kAccepted);

  pg.stop(PostgresServer::Stop::kImmediate);
  CHECK_THROWS_AS(store->commit(std::vector<PendingBatch>{b2}), Error);
  // While the next attempt is not due, a commit fails at once instead of waiting.
  const auto t0 = Clock::now();
  CHECK_THROWS_WITH(store->commit(std::vector<PendingBatch>{b2}),
                    Catch::Contains("not connected") || Catch::Contains("cannot connect"));
  CHECK(Clock::now() - t0 < 2s);
  CHECK_THROWS_AS(store->tally("words"), Error);

  pg.start();  // recovers from its WAL: b1 was acknowledged, so it must be there
  std::optional<CommitOutcome> outcome;
  for (const auto deadline = Clock::now() + 10s; !outcome && Clock::now() < deadline;) {
    try {
      outcome = store->commit(std::vector<PendingBatch>{b2})[0];
    } catch (const Error&) {
      std::this_thread::sleep_for(50ms);
    }
  }
  REQUIRE(outcome == CommitOutcome::kAccepted);
  CHECK(store->tally("words") == tally_of(task, {&b1, &b2}));
  CHECK(store->tasks().at(0).reports == 100);

  // A restart while the store is idle: its connection is dead, but the commit failed before
  // COMMIT was sent, so the store retries it on a fresh connection instead of failing.
  pg.stop(PostgresServer::Stop::kFast);
  pg.start();
  const PendingBatch b3 = make_batch(task, 10, rng);
  CHECK(store->commit(std::vector<PendingBatch>{b3, b1}) ==
        std::vector<CommitOutcome>{CommitOutcome::kAccepted, CommitOutcome::kDuplicate});
  CHECK(store->tally("words") == tally_of(task, {&b1, &b2, &b3}));
}

/// Several residued against one PostgreSQL server, each with its own shard and directory. Their
/// URLs change when one restarts; url() may be called from any thread.
class Fleet {
 public:
  Fleet(const PostgresServer& pg, int n) {
    for (int i = 0; i < n; ++i) {
      dirs_.push_back(std::make_unique<TempDir>());
      DaemonSpec spec;
      spec.store_toml = postgres_store_toml(pg, static_cast<uint32_t>(i + 1));
      daemons_.push_back(std::make_unique<DaemonProcess>(*dirs_.back(), spec));
      daemons_.back()->start();
      urls_.push_back(daemons_.back()->url());
    }
  }
  std::size_t size() const { return daemons_.size(); }
  /// Every daemon's stderr, for failure messages.
  std::string logs() const {
    std::string out;
    for (std::size_t i = 0; i < daemons_.size(); ++i)
      out += "--- daemon " + std::to_string(i) + ":\n" + daemons_[i]->stderr_text();
    return out;
  }
  DaemonProcess& daemon(std::size_t i) { return *daemons_[i]; }
  std::string url(std::size_t i) const {
    std::lock_guard lock(mu_);
    return urls_[i];
  }
  /// kill -9, then a start on the same store (a new port). Returns the kill's exit code.
  int kill_and_restart(std::size_t i, std::chrono::milliseconds down) {
    const int killed = daemons_[i]->kill();
    std::this_thread::sleep_for(down);
    daemons_[i]->start();
    std::lock_guard lock(mu_);
    urls_[i] = daemons_[i]->url();
    return killed;
  }

 private:
  std::vector<std::unique_ptr<TempDir>> dirs_;
  std::vector<std::unique_ptr<DaemonProcess>> daemons_;
  mutable std::mutex mu_;
  std::vector<std::string> urls_;
};

/// What one batch got: its first 200 and how many uploads that took, and the re-send's reply.
struct Ack {
  bool acknowledged = false;
  bool duplicate = false;  ///< the first 200 said duplicate (an earlier attempt had committed)
  int attempts = 0;
  std::optional<bool> resend_duplicate;  ///< when re-sent to another daemon after its 200
};

struct FleetRun {
  std::vector<Ack> acks;
  int unavailable = 0;          ///< uploads answered 503 or not at all
  std::vector<int> unexpected;  ///< other statuses (none expected)
};

// Workers upload `batches` (batch i first to daemon i mod n); an upload without an answer or
// with a 503 goes to the next daemon after 20 ms, until a 200 or the 60 s deadline. With
// probability `resend`, an acknowledged batch is sent again to another daemon. `acked(n)` runs
// after each batch's first 200.
template <typename OnAck>
FleetRun upload_across(const Fleet& fleet, const std::vector<std::vector<uint8_t>>& batches,
                       int threads, double resend, OnAck acked) {
  FleetRun run;
  run.acks.resize(batches.size());
  std::atomic<int> count{0}, unavailable{0};
  std::mutex mu;  // Catch2 assertions are not thread-safe: workers only record
  const auto deadline = Clock::now() + 60s;
  auto post = [&](std::size_t daemon, std::span<const uint8_t> body) {
    httplib::Client http(fleet.url(daemon));
    http.set_bearer_token_auth(kToken);
    http.set_connection_timeout(2, 0);
    http.set_read_timeout(10, 0);
    const httplib::Result r = post_batch(http, "words", body);
    if (!r) return std::pair<int, bool>(0, false);
    const nlohmann::json body_json = nlohmann::json::parse(r->body, nullptr, false);
    return std::pair<int, bool>(r->status,
                                body_json.is_object() && body_json.value("duplicate", false));
  };
  // Uploads until a 200; returns {got one, duplicate, attempts, daemon that answered}.
  auto until_200 = [&](std::size_t daemon, std::span<const uint8_t> body) {
    for (int attempt = 1; Clock::now() < deadline; ++attempt) {
      const auto [status, duplicate] = post(daemon, body);
      if (status == 200) return std::tuple(true, duplicate, attempt, daemon);
      if (status != 0 && status != 503) {
        std::lock_guard lock(mu);
        run.unexpected.push_back(status);
      }
      ++unavailable;
      daemon = (daemon + 1) % fleet.size();
      std::this_thread::sleep_for(20ms);
    }
    return std::tuple(false, false, 0, daemon);
  };
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      SeededRng coin(900 + static_cast<uint64_t>(t));  // which batches are re-sent
      for (std::size_t i = static_cast<std::size_t>(t); i < batches.size();
           i += static_cast<std::size_t>(threads)) {
        const auto [ok, duplicate, attempts, daemon] = until_200(i % fleet.size(), batches[i]);
        run.acks[i] = {ok, duplicate, attempts, std::nullopt};
        if (!ok) continue;
        acked(++count);
        if (coin.bernoulli(resend)) {
          const auto [again, again_duplicate, a2, d2] =
              until_200((daemon + 1) % fleet.size(), batches[i]);
          if (again) run.acks[i].resend_duplicate = again_duplicate;
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();
  run.unavailable = unavailable;
  return run;
}

/// Waits (at most 30 s) until `acknowledged` reaches `n`.
void wait_for(const std::atomic<int>& acknowledged, int n) {
  const auto deadline = Clock::now() + 30s;
  while (acknowledged < n && Clock::now() < deadline) std::this_thread::sleep_for(2ms);
}

/// A PostgreSQL server of the test's own, a Fleet on it, and the batches of "words" that the
/// test uploads to the fleet while something goes wrong (upload_during).
struct FleetUnderLoad {
  struct Plan {
    int daemons;
    std::size_t count;  ///< batches
    uint32_t reports;   ///< per batch
    uint64_t seed;
  };

  explicit FleetUnderLoad(const Plan& planned)
      : plan(planned),
        fleet(pg, planned.daemons),
        batches(words_batches(fleet.daemon(0), planned.count, planned.reports, planned.seed)) {}

  const Plan plan;
  PostgresServer pg;
  Fleet fleet;
  const std::vector<std::vector<uint8_t>> batches;
};

/// Runs upload_across on a thread of its own; once `chaos_after` batches are acknowledged,
/// chaos(the count acknowledged so far) runs on this one. The chaos must run here: a child
/// started by a thread gets its PR_SET_PDEATHSIG when that *thread* ends, so servers
/// (re)started by a short-lived thread would die with it.
template <typename Chaos>
FleetRun upload_during(const FleetUnderLoad& load, int threads, double resend, int chaos_after,
                       Chaos chaos) {
  std::atomic<int> acknowledged{0};
  FleetRun run;
  std::exception_ptr error;
  std::thread uploads([&] {
    try {
      run = upload_across(load.fleet, load.batches, threads, resend,
                          [&](int n) { acknowledged = n; });
    } catch (...) {
      error = std::current_exception();
    }
  });
  try {
    wait_for(acknowledged, chaos_after);
    chaos(acknowledged);
  } catch (...) {
    uploads.join();
    throw;
  }
  uploads.join();
  if (error) std::rethrow_exception(error);
  CHECK(run.unexpected.empty());
  return run;
}

// Every batch was acknowledged; the database holds exactly these ids, the tallies sum to their
// reports, and the stored raw batches recompute the tally.
void require_exactly(const PostgresServer& pg, Fleet& fleet,
                     const std::vector<std::vector<uint8_t>>& batches, uint64_t reports_per_batch) {
  const uint64_t reports = batches.size() * reports_per_batch;
  for (std::size_t d = 0; d < fleet.size(); ++d) {
    INFO("daemon " << d);
    const JsonReply e = get_json(*fleet.daemon(d).client(), "/v1/tasks/words/estimates");
    REQUIRE(e.status == 200);
    CHECK(e.body.at("reports") == reports);
    CHECK(e.body.at("batches") == batches.size());
  }
  const auto store = open_postgres_store({.conninfo = pg.conninfo(), .migrate = false});
  std::set<BatchId> stored, sent;
  std::size_t rows = 0;
  store->for_each_batch("words", [&](const StoredBatch& b) {
    stored.insert(b.id);
    ++rows;
  });
  for (const auto& b : batches) sent.insert(batch_id(b));
  CHECK(rows == batches.size());
  CHECK(stored == sent);
  const std::vector<TaskRecord> tasks = store->tasks();
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].batches == batches.size());
  CHECK(tasks[0].reports == reports);
  for (const TaskVerification& v : verify_store(*store)) {
    for (const std::string& p : v.problems) FAIL_CHECK(p);
  }
  CHECK(psql(pg.conninfo(), "SELECT sum(reports) FROM residue.shard_totals")[0] ==
        std::to_string(reports));
}

TEST_CASE("three daemons on postgres count each batch once through re-sends, retries and a kill -9",
          "[integration][postgres]") {
  FleetUnderLoad load({.daemons = 3, .count = 300, .reports = 100, .seed = 83});
  int killed = -1;
  auto kill_one = [&](const std::atomic<int>&) {
    killed = load.fleet.kill_and_restart(1, 300ms);  // uploads to it meanwhile go to the others
  };
  const FleetRun run =
      upload_during(load, /*threads=*/6, /*resend=*/0.25, /*chaos_after=*/80, kill_one);
  CHECK(killed == 128 + SIGKILL);

  INFO(load.fleet.logs());
  std::size_t resent = 0;
  for (std::size_t i = 0; i < load.plan.count; ++i) {
    INFO("batch " << i);
    REQUIRE(run.acks[i].acknowledged);
    // A first 200 saying duplicate means an earlier attempt committed without its reply.
    if (run.acks[i].duplicate) CHECK(run.acks[i].attempts > 1);
    if (run.acks[i].resend_duplicate) {
      ++resent;
      CHECK(*run.acks[i].resend_duplicate);
    }
  }
  CHECK(resent > load.plan.count / 8);  // about a quarter were re-sent to another daemon
  CHECK(run.unavailable > 0);           // the killed daemon was missed
  require_exactly(load.pg, load.fleet, load.batches, load.plan.reports);
  // The three shards all took batches.
  CHECK(psql(load.pg.conninfo(),
             "SELECT count(*) FROM residue.shard_totals WHERE reports > 0")[0] == "3");
  for (std::size_t d = 0; d < load.fleet.size(); ++d) CHECK(load.fleet.daemon(d).stop() == 0);
}

TEST_CASE("postgres stopped and restarted mid-run loses no acknowledged batch and clients recover",
          "[integration][postgres]") {
  constexpr int kStopAfter = 50;
  FleetUnderLoad load({.daemons = 2, .count = 200, .reports = 100, .seed = 84});
  int before_crash = 0;  // batches acknowledged when the database went down
  auto crash_database = [&](const std::atomic<int>& acknowledged) {
    // A crash: no checkpoint, WAL recovery on start.
    load.pg.stop(PostgresServer::Stop::kImmediate);
    before_crash = acknowledged;
    std::this_thread::sleep_for(1s);
    load.pg.start();
  };
  const FleetRun run =
      upload_during(load, /*threads=*/4, /*resend=*/0.0, kStopAfter, crash_database);

  INFO(load.fleet.logs() << "--- postgres:\n" << load.pg.log());
  for (std::size_t i = 0; i < load.plan.count; ++i) {
    INFO("batch " << i);
    REQUIRE(run.acks[i].acknowledged);
    if (run.acks[i].duplicate) CHECK(run.acks[i].attempts > 1);
  }
  CHECK(before_crash >= kStopAfter);
  CHECK(before_crash < static_cast<int>(load.plan.count));  // the crash came mid-run
  CHECK(run.unavailable > 0);  // clients met the outage (503s) and recovered by retrying
  double store_errors = 0;
  for (std::size_t d = 0; d < load.fleet.size(); ++d) {
    store_errors += scrape_metrics(*load.fleet.daemon(d).client())
                        .at("residue_batches_total{result=\"store_error\"}");
  }
  CHECK(store_errors > 0);
  // Everything acknowledged, before the crash or after, is there exactly once.
  require_exactly(load.pg, load.fleet, load.batches, load.plan.reports);
  for (std::size_t d = 0; d < load.fleet.size(); ++d) CHECK(load.fleet.daemon(d).stop() == 0);
}

TEST_CASE("residue loadgen across two daemons on postgres with re-sends counts every report once",
          "[integration][postgres]") {
  PostgresServer pg;
  Fleet fleet(pg, 2);
  TempDir scratch;
  const CommandResult run =
      run_command({RESIDUE_CLI_PATH, "loadgen", "--url", fleet.url(0), "--url", fleet.url(1),
                   "--token", kToken, "--task", "words", "--reports", "20000", "--batch", "200",
                   "--concurrency", "4", "--resend", "0.3", "--json"},
                  scratch.path(), 60s);
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  const nlohmann::json out = nlohmann::json::parse(run.out);
  CHECK(out.at("accepted_reports") == 20000);
  CHECK(out.at("daemons") == 2);
  CHECK(out.at("resent_batches").get<int>() > 10);
  CHECK(out.at("duplicate_batches") == out.at("resent_batches"));
  for (std::size_t d = 0; d < fleet.size(); ++d) {
    const JsonReply e = get_json(*fleet.daemon(d).client(), "/v1/tasks/words/estimates");
    REQUIRE(e.status == 200);
    CHECK(e.body.at("reports") == 20000);
    CHECK(e.body.at("batches") == 100);
  }
  CHECK(psql(pg.conninfo(), "SELECT count(*) FROM residue.shard_totals WHERE reports > 0")[0] ==
        "2");
}

}  // namespace
}  // namespace residue::integration

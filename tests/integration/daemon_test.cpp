// Integration tests of residued (issue 4, "Tests"): the real daemon on loopback, started by
// each test on a free port with a data directory of its own, driven over HTTP(S) the way
// clients drive it. Each rejection is followed by proof that nothing of the batch was counted:
// the estimates' report count, the store read through its own connection, verify_store, and,
// where it applies, the same bytes accepted afterwards as new (so not in the batch-id ledger).
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <thread>

#include "daemon_fixture.h"
#include "residue/random/seeded_rng.h"

namespace residue::integration {
namespace {

// A client write to a socket the daemon closed must fail the call, not kill the test binary.
[[maybe_unused]] const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

struct Upload {
  int status = 0;  ///< 0: no answer (connection error)
  nlohmann::json body;
  std::string retry_after;
};

Upload upload(httplib::Client& http, const std::string& task, std::span<const uint8_t> batch) {
  const httplib::Result r = post_batch(http, task, batch);
  if (!r) return {};
  return {r->status, nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false),
          r->get_header_value("Retry-After")};
}

void require_accepted(const Upload& u, uint64_t reports) {
  INFO(u.body.dump());
  REQUIRE(u.status == 200);
  REQUIRE(u.body.at("duplicate") == false);
  REQUIRE(u.body.at("accepted") == reports);
}

void require_duplicate(const Upload& u) {
  INFO(u.body.dump());
  REQUIRE(u.status == 200);
  REQUIRE(u.body.at("duplicate") == true);
  REQUIRE(u.body.at("accepted") == 0);
}

void require_error(const Upload& u, int status) {
  INFO(u.body.dump());
  REQUIRE(u.status == status);
  REQUIRE(u.body.is_object());
  REQUIRE(u.body.at("error").is_string());
  REQUIRE(!u.body.at("error").get<std::string>().empty());
}

double batches_metric(const DaemonProcess& daemon, const std::string& result) {
  auto http = daemon.client();
  const std::map<std::string, double> m = scrape_metrics(*http);
  const auto it = m.find("residue_batches_total{result=\"" + result + "\"}");
  return it == m.end() ? -1 : it->second;
}

DaemonSpec two_tasks() {
  DaemonSpec spec;
  // Same domain, other epsilon: other parameters, so another parameter hash.
  spec.tasks = {TaskSpec{.name = "words"}, TaskSpec{.name = "other", .epsilon = 1.0}};
  return spec;
}

TEST_CASE("the daemon answers healthz without a token and describes its tasks to a client",
          "[integration]") {
  RunningDaemon d(two_tasks());

  const JsonReply health = get_json(*d.daemon.client(""), "/healthz");
  REQUIRE(health.status == 200);
  CHECK(health.body.at("status") == "ok");

  const JsonReply list = get_json(*d.http, "/v1/tasks");
  REQUIRE(list.status == 200);
  REQUIRE(list.body.at("tasks").size() == 2);
  std::set<std::string> names;
  for (const nlohmann::json& t : list.body.at("tasks"))
    names.insert(t.at("name").get<std::string>());
  CHECK(names == std::set<std::string>{"words", "other"});

  const JsonReply words = get_json(*d.http, "/v1/tasks/words");
  REQUIRE(words.status == 200);
  CHECK(words.body.at("name") == "words");
  CHECK(words.body.at("batch_format_version") == kBatchFormatVersion);
  CHECK(words.body.at("max_reports_per_batch") == 100000);
  CHECK(words.body.at("domain").at("kind") == "size");
  const nlohmann::json& params = words.body.at("params");
  CHECK(params.at("protocol") == "mss");
  CHECK(params.at("k") == 64);
  CHECK(params.at("epsilon") == 2.0);
  CHECK(params.at("id").get<std::string>().rfind("residue.mss.", 0) == 0);
  CHECK(!params.at("moduli").empty());
  CHECK(params.at("subset_sizes").size() == params.at("moduli").size());
  // The hash a client computes from the published parameters is the one the daemon checks.
  CHECK(words.body.at("params_hash") == to_hex(params_hash(params_from_json(params))));
  const JsonReply other = get_json(*d.http, "/v1/tasks/other");
  REQUIRE(other.status == 200);
  CHECK(other.body.at("params").at("epsilon") == 1.0);
  CHECK(other.body.at("params_hash") != words.body.at("params_hash"));

  CHECK(get_json(*d.daemon.client(""), "/v1/tasks").status == 401);
  CHECK(get_json(*d.daemon.client("not-the-token"), "/v1/tasks/words").status == 401);
  const JsonReply unknown = get_json(*d.http, "/v1/tasks/nope");
  CHECK(unknown.status == 404);
  CHECK(unknown.body.at("error").is_string());
  CHECK(get_json(*d.http, "/v1/tasks/nope/estimates").status == 404);
  REQUIRE(d.daemon.stop() == 0);
}

TEST_CASE("an accepted batch is counted once and the same bytes again are a duplicate",
          "[integration]") {
  WordsDaemon d(1);
  const std::vector<uint8_t> batch = d.words.batch(250, d.rng);

  require_counted(d.daemon, "words", 0, 0);
  require_accepted(upload(*d.http, "words", batch), 250);
  require_counted(d.daemon, "words", 1, 250);
  require_duplicate(upload(*d.http, "words", batch));
  require_counted(d.daemon, "words", 1, 250);

  const std::map<std::string, double> m = scrape_metrics(*d.http);
  CHECK(m.at("residue_batches_total{result=\"accepted\"}") == 1);
  CHECK(m.at("residue_batches_total{result=\"duplicate\"}") == 1);
  CHECK(m.at("residue_reports_total{task=\"words\"}") == 250);
  REQUIRE(d.daemon.stop() == 0);
}

TEST_CASE("a truncated or corrupted batch gets 400 with an offset and nothing of it counts",
          "[integration]") {
  WordsDaemon d(2);
  require_accepted(upload(*d.http, "words", d.words.batch(100, d.rng)), 100);
  const std::vector<uint8_t> batch = d.words.batch(200, d.rng);
  REQUIRE(batch.size() > kBatchHeaderBytes + kBatchChecksumBytes + 8);

  std::vector<uint8_t> truncated(batch.begin(), batch.end() - 7);
  std::vector<uint8_t> short_header(batch.begin(), batch.begin() + 20);
  std::vector<uint8_t> flipped = batch;
  flipped[kBatchHeaderBytes + (batch.size() - kBatchHeaderBytes - kBatchChecksumBytes) / 2] ^= 0x5a;
  for (const std::vector<uint8_t>* bad : {&truncated, &short_header, &flipped}) {
    const Upload u = upload(*d.http, "words", *bad);
    require_error(u, 400);
    REQUIRE(u.body.at("offset").is_number_unsigned());
    CHECK(u.body.at("offset").get<uint64_t>() <= bad->size());
    require_counted(d.daemon, "words", 1, 100);
  }
  CHECK(batches_metric(d.daemon, "malformed") == 3);
  // Not in the batch-id ledger either: the intact bytes are new.
  require_accepted(upload(*d.http, "words", batch), 200);
  require_counted(d.daemon, "words", 2, 300);
  REQUIRE(d.daemon.stop() == 0);
}

TEST_CASE("uploads without a valid bearer token get 401 and are not counted", "[integration]") {
  WordsDaemon d(3);
  const std::vector<uint8_t> batch = d.words.batch(200, d.rng);

  require_error(upload(*d.daemon.client(""), "words", batch), 401);
  require_counted(d.daemon, "words", 0, 0);
  require_error(upload(*d.daemon.client("wrong-token"), "words", batch), 401);
  require_counted(d.daemon, "words", 0, 0);
  CHECK(batches_metric(d.daemon, "unauthorized") == 2);
  require_accepted(upload(*d.http, "words", batch), 200);
  require_counted(d.daemon, "words", 1, 200);
  REQUIRE(d.daemon.stop() == 0);
}

TEST_CASE("a batch for an unknown task gets 404 and one for other parameters gets 409",
          "[integration]") {
  WordsDaemon d(4, two_tasks());
  const TaskClient other(*d.http, "other");
  REQUIRE(d.words.hash() != other.hash());
  const std::vector<uint8_t> for_words = d.words.batch(200, d.rng);
  const std::vector<uint8_t> for_other = other.batch(150, d.rng);

  require_error(upload(*d.http, "nope", for_words), 404);
  require_counted(d.daemon, "words", 0, 0);
  require_error(upload(*d.http, "words", for_other), 409);
  require_counted(d.daemon, "words", 0, 0);
  require_counted(d.daemon, "other", 0, 0);
  CHECK(batches_metric(d.daemon, "unknown_task") == 1);
  CHECK(batches_metric(d.daemon, "params_mismatch") == 1);

  require_accepted(upload(*d.http, "other", for_other), 150);
  require_accepted(upload(*d.http, "words", for_words), 200);
  require_counted(d.daemon, "words", 1, 200);
  require_counted(d.daemon, "other", 1, 150);
  REQUIRE(d.daemon.stop() == 0);
}

TEST_CASE("a body over max_body_bytes or a batch over max_reports_per_batch gets 413",
          "[integration]") {
  constexpr uint64_t kMaxBody = 16384;
  constexpr uint32_t kMaxReports = 1000;
  WordsDaemon d(5, {.max_body_bytes = kMaxBody, .max_reports_per_batch = kMaxReports});
  CHECK(d.words.info().at("max_reports_per_batch") == kMaxReports);
  require_accepted(upload(*d.http, "words", d.words.batch(kMaxReports, d.rng)), kMaxReports);

  // Over the report limit, yet under the body limit: refused for its count.
  const std::vector<uint8_t> too_many = d.words.batch(kMaxReports + 1, d.rng);
  REQUIRE(too_many.size() <= kMaxBody);
  const Upload count = upload(*d.http, "words", too_many);
  require_error(count, 413);
  require_counted(d.daemon, "words", 1, kMaxReports);

  // Over the body limit: a valid batch with trailing bytes (httplib refuses it unread).
  std::vector<uint8_t> too_big = d.words.batch(100, d.rng);
  too_big.resize(kMaxBody + 1, 0);
  const Upload body = upload(*d.daemon.client(), "words", too_big);
  CHECK(body.status == 413);
  require_counted(d.daemon, "words", 1, kMaxReports);
  CHECK(batches_metric(d.daemon, "too_large") == 2);
  REQUIRE(d.daemon.stop() == 0);
}

TEST_CASE("a token over its rate limit or its daily quota gets 429 with Retry-After",
          "[integration]") {
  WordsDaemon d(
      6, {.tokens = {TokenSpec{},
                     TokenSpec{.name = "slow", .token = "slow-token", .reports_per_second = 1},
                     TokenSpec{.name = "daily", .token = "daily-token", .daily_quota = 300}}});

  for (const std::string& token : {std::string("slow-token"), std::string("daily-token")}) {
    INFO(token);
    auto limited = d.daemon.client(token);
    // The first batch is admitted (a full bucket, quota left); it uses up the allowance.
    require_accepted(upload(*limited, "words", d.words.batch(200, d.rng)), 200);
    const std::vector<uint8_t> refused = d.words.batch(200, d.rng);
    const Upload u = upload(*limited, "words", refused);
    require_error(u, 429);
    REQUIRE(!u.retry_after.empty());
    const int seconds = std::stoi(u.retry_after);
    CHECK(seconds >= 1);
    CHECK(seconds <= 86400);
    const auto before = read_store(d.daemon.data_dir(), "words");
    require_counted(d.daemon, "words", before.batches, before.reports);
    // Another token's upload of the same bytes is new: the refused one left no trace.
    require_accepted(upload(*d.http, "words", refused), 200);
  }
  require_counted(d.daemon, "words", 4, 800);
  CHECK(batches_metric(d.daemon, "rate_limited") == 2);
  REQUIRE(d.daemon.stop() == 0);
}

TEST_CASE("estimates give the documented fields, the top values and normsub post-processing",
          "[integration]") {
  WordsDaemon d(7);

  const JsonReply empty = get_json(*d.http, "/v1/tasks/words/estimates");
  REQUIRE(empty.status == 200);
  CHECK(empty.body.at("reports") == 0);
  CHECK(empty.body.at("batches") == 0);
  CHECK(empty.body.at("last_batch").is_null());
  CHECK(empty.body.at("top").empty());

  for (int i = 0; i < 4; ++i)
    require_accepted(upload(*d.http, "words", d.words.batch(500, d.rng)), 500);

  const JsonReply e = get_json(*d.http, "/v1/tasks/words/estimates?top=5");
  REQUIRE(e.status == 200);
  INFO(e.body.dump());
  CHECK(e.body.at("task") == "words");
  CHECK(e.body.at("protocol") == d.words.info().at("params").at("id"));
  CHECK(e.body.at("k") == 64);
  CHECK(e.body.at("reports") == 2000);
  CHECK(e.body.at("batches") == 4);
  CHECK(e.body.at("postprocess") == "none");
  REQUIRE(e.body.at("last_batch").is_string());
  CHECK(std::regex_match(e.body.at("last_batch").get<std::string>(),
                         std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  const nlohmann::json& top = e.body.at("top");
  REQUIRE(top.size() == 5);
  // Half of the reports hold value 0: it leads by far more than its standard error.
  CHECK(top[0].at("index") == 0);
  CHECK(top[0].at("frequency").get<double>() > 0.3);
  for (std::size_t i = 0; i < top.size(); ++i) {
    const double f = top[i].at("frequency");
    CHECK(top[i].at("index").get<uint32_t>() < 64);
    CHECK(top[i].at("count").get<double>() == Approx(2000 * f));
    CHECK(top[i].at("stderr").get<double>() > 0);
    CHECK(std::isfinite(top[i].at("stderr").get<double>()));
    if (i > 0) CHECK(f <= top[i - 1].at("frequency").get<double>());
  }

  const JsonReply n = get_json(*d.http, "/v1/tasks/words/estimates?top=64&postprocess=normsub");
  REQUIRE(n.status == 200);
  CHECK(n.body.at("postprocess") == "normsub");
  REQUIRE(n.body.at("top").size() == 64);
  double sum = 0;
  for (const nlohmann::json& row : n.body.at("top")) {
    CHECK(row.at("frequency").get<double>() >= 0);
    sum += row.at("frequency").get<double>();
  }
  CHECK(sum == Approx(1.0).margin(1e-9));

  CHECK(get_json(*d.http, "/v1/tasks/words/estimates?postprocess=bogus").status == 400);
  CHECK(get_json(*d.http, "/v1/tasks/words/estimates?top=many").status == 400);
  CHECK(get_json(*d.daemon.client(""), "/v1/tasks/words/estimates").status == 401);
  REQUIRE(d.daemon.stop() == 0);
}

TEST_CASE("metrics are Prometheus text with batch results, report counts and histograms",
          "[integration]") {
  WordsDaemon d(8);
  const std::vector<uint8_t> batch = d.words.batch(300, d.rng);
  require_accepted(upload(*d.http, "words", batch), 300);
  require_accepted(upload(*d.http, "words", d.words.batch(200, d.rng)), 200);
  require_duplicate(upload(*d.http, "words", batch));
  require_error(upload(*d.http, "nope", batch), 404);

  const httplib::Result r = d.daemon.client()->Get("/metrics");  // a read token
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(r->get_header_value("Content-Type").rfind("text/plain", 0) == 0);
  CHECK(r->body.find("# TYPE residue_batches_total counter") != std::string::npos);
  const std::map<std::string, double> m = scrape_metrics(*d.http);
  for (const char* result : {"accepted", "duplicate", "malformed", "unauthorized", "unknown_task",
                             "params_mismatch", "too_large", "rate_limited", "store_error"}) {
    INFO(result);
    CHECK(m.count("residue_batches_total{result=\"" + std::string(result) + "\"}") == 1);
  }
  CHECK(m.at("residue_batches_total{result=\"accepted\"}") == 2);
  CHECK(m.at("residue_batches_total{result=\"duplicate\"}") == 1);
  CHECK(m.at("residue_batches_total{result=\"unknown_task\"}") == 1);
  CHECK(m.at("residue_batches_total{result=\"malformed\"}") == 0);
  CHECK(m.at("residue_reports_total{task=\"words\"}") == 500);
  CHECK(m.at("residue_request_duration_seconds_count") >= 3);
  CHECK(m.at("residue_store_commit_duration_seconds_count") >= 1);
  CHECK(m.at("residue_commit_group_batches_count") >= 1);
  CHECK(m.count("residue_commit_queue_depth") == 1);
  REQUIRE(d.daemon.stop() == 0);
}

TEST_CASE("a retried batch is counted once, also by a daemon restarted after a stop or a kill",
          "[integration]") {
  RunningDaemon d;
  const std::vector<std::vector<uint8_t>> batches = words_batches(d.daemon, 3, 300, 9);
  require_accepted(upload(*d.http, "words", batches[0]), 300);
  require_duplicate(upload(*d.http, "words", batches[0]));
  REQUIRE(d.daemon.stop() == 0);

  d.daemon.start();  // on a new port: each life gets clients of its own
  {
    auto http = d.daemon.client();
    require_duplicate(upload(*http, "words", batches[0]));
    require_accepted(upload(*http, "words", batches[1]), 300);
  }
  REQUIRE(d.daemon.kill() == 128 + SIGKILL);

  d.daemon.start();
  auto http = d.daemon.client();
  require_duplicate(upload(*http, "words", batches[0]));
  require_duplicate(upload(*http, "words", batches[1]));
  require_accepted(upload(*http, "words", batches[2]), 300);
  require_duplicate(upload(*http, "words", batches[2]));
  require_counted(d.daemon, "words", 3, 900);
  REQUIRE(d.daemon.stop() == 0);
}

TEST_CASE("residue loadgen uploads through the daemon and every report it sent is counted",
          "[integration]") {
  RunningDaemon d;
  const CommandResult run = run_command(
      {RESIDUE_CLI_PATH, "loadgen", "--url", d.daemon.url(), "--token", kToken, "--task", "words",
       "--reports", "20000", "--batch", "500", "--concurrency", "2", "--json"},
      d.dir.path());
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  const nlohmann::json out = nlohmann::json::parse(run.out);
  CHECK(out.at("accepted_reports") == 20000);
  CHECK(out.at("batches") == 40);
  CHECK(out.at("duplicate_batches") == 0);
  require_counted(d.daemon, "words", 40, 20000);
  REQUIRE(d.daemon.stop() == 0);
}

struct Outcome {
  int status = 0;  ///< 0: no answer; -1: not sent, the run's 60 s were over
  bool duplicate = false;
};

// Several clients, each uploading its share of `batches` (those marked in `send`) in order on
// one keep-alive connection, up to `attempts` times while there is no answer; what each upload
// got is kept per batch. `on_accept` runs after every new batch acknowledged, with the number
// acknowledged so far.
template <typename OnAccept>
std::vector<Outcome> upload_in_parallel(const DaemonProcess& daemon,
                                        const std::vector<std::vector<uint8_t>>& batches,
                                        const std::vector<bool>& send, int threads, int attempts,
                                        OnAccept on_accept) {
  std::vector<Outcome> outcomes(batches.size());
  std::atomic<int> accepted{0};
  const auto deadline = Clock::now() + 60s;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto http = daemon.client();
      http->set_keep_alive(true);
      for (std::size_t i = static_cast<std::size_t>(t); i < batches.size();
           i += static_cast<std::size_t>(threads)) {
        if (!send[i]) continue;
        if (Clock::now() > deadline) {
          outcomes[i].status = -1;  // not sent: out of time
          continue;
        }
        Upload u;
        for (int a = 0; a < attempts && u.status == 0; ++a) {
          if (a > 0) std::this_thread::sleep_for(50ms);
          u = upload(*http, "words", batches[i]);
        }
        outcomes[i] = {u.status,
                       u.status == 200 && u.body.is_object() && u.body.value("duplicate", false)};
        if (u.status == 200 && !outcomes[i].duplicate) on_accept(++accepted);
      }
    });
  }
  for (std::thread& w : workers) w.join();
  return outcomes;
}

// A daemon and `count` batches of `reports` reports for its task "words", uploaded once each by
// `threads` clients at once; the client that sees the `signal_after`th acknowledgement sends
// `signal` to the daemon, so the others are mid-request, and the daemon is reaped. Every
// upload must get either no answer or a 200 for a new batch.
struct InterruptedUpload {
  struct Plan {
    std::size_t count;
    uint32_t reports;
    uint64_t seed;
    int threads;
    int signal_after;
    int signal;
  };

  explicit InterruptedUpload(const Plan& plan)
      : batches(words_batches(d.daemon, plan.count, plan.reports, plan.seed)) {
    std::atomic<bool> sent{false};
    outcomes = upload_in_parallel(d.daemon, batches, std::vector<bool>(plan.count, true),
                                  plan.threads, 1, [&](int acknowledged) {
                                    if (acknowledged >= plan.signal_after && !sent.exchange(true))
                                      d.daemon.signal(plan.signal);
                                  });
    REQUIRE(sent);
    exit_code = d.daemon.wait_for_exit();
  }

  // The ids answered 200, checking that every other upload got no answer.
  std::set<BatchId> acknowledged() const {
    std::set<BatchId> out;
    for (std::size_t i = 0; i < batches.size(); ++i) {
      INFO("batch " << i << " status " << outcomes[i].status);
      REQUIRE((outcomes[i].status == 0 || (outcomes[i].status == 200 && !outcomes[i].duplicate)));
      if (outcomes[i].status == 200) out.insert(batch_id(batches[i]));
    }
    return out;
  }

  RunningDaemon d;
  const std::vector<std::vector<uint8_t>> batches;
  std::vector<Outcome> outcomes;
  int exit_code = -1;  ///< the daemon's, after the signal
};

TEST_CASE("batches acknowledged before a kill -9 are counted exactly once after a restart",
          "[integration]") {
  constexpr std::size_t kBatches = 300;
  constexpr uint32_t kReports = 200;
  constexpr int kThreads = 4;
  constexpr int kKillAfter = 60;
  // Phase 1: every batch once; the client that sees the 60th acknowledgement kills the daemon.
  // The rest of the batches find no daemon.
  InterruptedUpload run({.count = kBatches,
                         .reports = kReports,
                         .seed = 10,
                         .threads = kThreads,
                         .signal_after = kKillAfter,
                         .signal = SIGKILL});
  const std::vector<Outcome>& first = run.outcomes;
  DaemonProcess& daemon = run.d.daemon;
  REQUIRE(run.exit_code == 128 + SIGKILL);
  const std::set<BatchId> acknowledged = run.acknowledged();
  const auto unanswered =
      std::count_if(first.begin(), first.end(), [](const Outcome& o) { return o.status == 0; });
  REQUIRE(acknowledged.size() >= static_cast<std::size_t>(kKillAfter));
  REQUIRE(unanswered > 0);
  // Everything acknowledged is already on disk, even before a restart.
  {
    const StoreSnapshot s = read_store(daemon.data_dir(), "words");
    const std::set<BatchId> stored(s.ids.begin(), s.ids.end());
    for (const BatchId& id : acknowledged) REQUIRE(stored.count(id) == 1);
    CHECK(s.problems.empty());
  }

  // Phase 2: a restarted daemon; re-send what got no 200, and every third acknowledged batch.
  daemon.start();
  std::vector<bool> resend(kBatches);
  for (std::size_t i = 0; i < kBatches; ++i) resend[i] = first[i].status != 200 || i % 3 == 0;
  const std::vector<Outcome> second =
      upload_in_parallel(daemon, run.batches, resend, kThreads, 5, [](int) {});
  for (std::size_t i = 0; i < kBatches; ++i) {
    if (!resend[i]) continue;
    INFO("batch " << i << " first status " << first[i].status);
    REQUIRE(second[i].status == 200);
    if (first[i].status == 200) CHECK(second[i].duplicate);
  }

  const StoreSnapshot s = read_store(daemon.data_dir(), "words");
  CHECK(s.batches == kBatches);
  CHECK(s.reports == kBatches * kReports);
  std::set<BatchId> all;
  for (const auto& b : run.batches) all.insert(batch_id(b));
  CHECK(std::set<BatchId>(s.ids.begin(), s.ids.end()) == all);
  CHECK(s.ids.size() == kBatches);
  for (const std::string& problem : s.problems) FAIL_CHECK(problem);
  require_counted(daemon, "words", kBatches, kBatches * kReports);
  REQUIRE(daemon.stop() == 0);

  const CommandResult verify = run_command(
      {RESIDUE_CLI_PATH, "verify", "--data", daemon.data_dir().string()}, run.d.dir.path());
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);
  CHECK(verify.out.find("tally matches the raw batches") != std::string::npos);
}

TEST_CASE("on SIGTERM the daemon finishes the uploads in flight, stores them and exits 0",
          "[integration]") {
  constexpr std::size_t kBatches = 400;
  constexpr uint32_t kReports = 200;
  constexpr int kStopAfter = 40;
  const InterruptedUpload run({.count = kBatches,
                               .reports = kReports,
                               .seed = 11,
                               .threads = 4,
                               .signal_after = kStopAfter,
                               .signal = SIGTERM});
  REQUIRE(run.exit_code == 0);

  const std::set<BatchId> acknowledged = run.acknowledged();
  std::set<BatchId> sent;
  for (const auto& b : run.batches) sent.insert(batch_id(b));
  CHECK(acknowledged.size() >= static_cast<std::size_t>(kStopAfter));
  CHECK(acknowledged.size() < kBatches);  // the stop came mid-run
  const StoreSnapshot s = read_store(run.d.daemon.data_dir(), "words");
  const std::set<BatchId> stored(s.ids.begin(), s.ids.end());
  CHECK(stored.size() == s.ids.size());
  CHECK(s.batches == s.ids.size());
  CHECK(s.reports == s.batches * kReports);
  for (const BatchId& id : acknowledged) REQUIRE(stored.count(id) == 1);
  for (const BatchId& id : stored) REQUIRE(sent.count(id) == 1);
  for (const std::string& problem : s.problems) FAIL_CHECK(problem);
}

// A throwaway certificate for IP:127.0.0.1 (EC P-256, two days), self-signed unless a CA
// is given; made in the test's temporary directory and gone with it.
void make_certificate(const TempDir& dir, const std::string& name,
                      const std::optional<std::string>& ca = std::nullopt) {
  const std::string key = (dir / (name + ".key")).string();
  const std::string pem = (dir / (name + ".pem")).string();
  std::vector<std::string> req = {
      "openssl", "req",     "-newkey", "ec",    "-pkeyopt",   "ec_paramgen_curve:prime256v1",
      "-nodes",  "-keyout", key,       "-subj", "/CN=" + name};
  if (!ca) {
    req.insert(req.end(),
               {"-x509", "-days", "2", "-addext", "subjectAltName=IP:127.0.0.1", "-out", pem});
    const CommandResult r = run_command(req, dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return;
  }
  const std::string csr = (dir / (name + ".csr")).string();
  req.insert(req.end(), {"-out", csr});
  const CommandResult r = run_command(req, dir.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const CommandResult sign = run_command(
      {"openssl", "x509", "-req", "-in", csr, "-CA", (dir / (*ca + ".pem")).string(), "-CAkey",
       (dir / (*ca + ".key")).string(), "-set_serial", "2", "-days", "2", "-out", pem},
      dir.path());
  INFO(sign.err);
  REQUIRE(sign.exit_code == 0);
}

TEST_CASE("uploads round trip over TLS and plain http to the TLS port fails", "[integration]") {
  TempDir dir;
  make_certificate(dir, "server");
  DaemonSpec spec;
  spec.tls = TlsSpec{.certificate = dir / "server.pem",
                     .private_key = dir / "server.key",
                     .trusted_ca = dir / "server.pem"};
  DaemonProcess daemon(dir, spec);
  daemon.start();  // /healthz over https, verifying the certificate
  REQUIRE(daemon.url().rfind("https://127.0.0.1:", 0) == 0);

  auto https = daemon.client();
  const TaskClient words(*https, "words");
  SeededRng rng(12);
  const std::vector<uint8_t> batch = words.batch(300, rng);
  require_accepted(upload(*https, "words", batch), 300);
  require_duplicate(upload(*https, "words", batch));
  require_counted(daemon, "words", 1, 300);

  httplib::Client plain("http://127.0.0.1:" + std::to_string(daemon.port()));
  plain.set_connection_timeout(2, 0);
  plain.set_read_timeout(2, 0);
  plain.set_bearer_token_auth(kToken);
  const httplib::Result r = plain.Get("/v1/tasks/words");
  CHECK(!r);

  // A client that does not trust the certificate refuses the daemon.
  httplib::Client untrusting(daemon.url());
  untrusting.enable_server_certificate_verification(true);
  untrusting.set_ca_cert_path((dir / "nothing.pem").string().c_str());
  untrusting.set_connection_timeout(2, 0);
  untrusting.set_read_timeout(2, 0);
  CHECK(!untrusting.Get("/healthz"));
  REQUIRE(daemon.stop() == 0);
}

TEST_CASE("with client_ca set only clients with a certificate of that CA get in", "[integration]") {
  TempDir dir;
  make_certificate(dir, "server");
  make_certificate(dir, "clients-ca");
  make_certificate(dir, "client", "clients-ca");
  DaemonSpec spec;
  spec.tls = TlsSpec{.certificate = dir / "server.pem",
                     .private_key = dir / "server.key",
                     .client_ca = dir / "clients-ca.pem",
                     .trusted_ca = dir / "server.pem",
                     .client_certificate = dir / "client.pem",
                     .client_key = dir / "client.key"};
  DaemonProcess daemon(dir, spec);
  daemon.start();  // with the client certificate

  auto with_certificate = daemon.client();
  const TaskClient words(*with_certificate, "words");
  SeededRng rng(13);
  require_accepted(upload(*with_certificate, "words", words.batch(100, rng)), 100);

  httplib::Client anonymous(daemon.url());
  anonymous.set_ca_cert_path((dir / "server.pem").string().c_str());
  anonymous.enable_server_certificate_verification(true);
  anonymous.set_bearer_token_auth(kToken);
  anonymous.set_connection_timeout(2, 0);
  anonymous.set_read_timeout(2, 0);
  const std::vector<uint8_t> batch = words.batch(100, rng);
  CHECK(!post_batch(anonymous, "words", batch));
  // A certificate that the server's own key signed is not one of the client CA's.
  httplib::Client stranger(daemon.url(), (dir / "server.pem").string(),
                           (dir / "server.key").string());
  stranger.set_ca_cert_path((dir / "server.pem").string().c_str());
  stranger.enable_server_certificate_verification(true);
  stranger.set_bearer_token_auth(kToken);
  stranger.set_connection_timeout(2, 0);
  stranger.set_read_timeout(2, 0);
  CHECK(!post_batch(stranger, "words", batch));
  require_counted(daemon, "words", 1, 100);
  REQUIRE(daemon.stop() == 0);
}

TEST_CASE("the daemon refuses to start on an invalid task and names the task and the field",
          "[integration]") {
  struct Case {
    TaskSpec task;
    std::string field;
  };
  const Case cases[] = {
      {TaskSpec{.name = "bad", .epsilon = -1}, "epsilon"},
      {TaskSpec{.name = "bad", .k = 12, .extra_toml = "moduli = [5, 7]"}, "moduli"},
      {TaskSpec{.name = "bad", .protocol = "nonesuch"}, "protocol"},
  };
  for (const Case& c : cases) {
    INFO("field " << c.field);
    TempDir dir;
    DaemonSpec spec;
    spec.tasks = {TaskSpec{.name = "fine"}, c.task};
    DaemonProcess daemon(dir, spec);
    REQUIRE(!daemon.try_start());
    REQUIRE(daemon.exit_code().has_value());
    CHECK(*daemon.exit_code() != 0);
    CHECK(*daemon.exit_code() < 128);  // an error exit, not a crash
    const std::string err = daemon.stderr_text();
    INFO(err);
    CHECK(err.find("task bad") != std::string::npos);
    CHECK(err.find(c.field) != std::string::npos);
  }
}

TEST_CASE("the daemon refuses a stored task of an older protocol version and says what to do",
          "[integration]") {
  TempDir dir;
  std::filesystem::path data;
  {
    DaemonProcess daemon(dir, DaemonSpec{});
    daemon.start();
    data = daemon.data_dir();
    REQUIRE(daemon.stop() == 0);
  }
  // What a store written before mss version 3 holds (its encoder drew with Floyd's algorithm).
  const CommandResult edit =
      run_command({"sqlite3", (data / "residue.db").string(),
                   "UPDATE tasks SET params_json = replace(params_json, 'residue.mss.3', "
                   "'residue.mss.2')"},
                  dir.path());
  REQUIRE(edit.exit_code == 0);
  DaemonProcess again(dir, DaemonSpec{});
  REQUIRE(!again.try_start());
  REQUIRE(again.exit_code().has_value());
  CHECK(*again.exit_code() != 0);
  CHECK(*again.exit_code() < 128);
  const std::string err = again.stderr_text();
  INFO(err);
  CHECK(err.find("task words") != std::string::npos);
  CHECK(err.find("residue.mss.2") != std::string::npos);
  CHECK(err.find("a new task name") != std::string::npos);
}

}  // namespace
}  // namespace residue::integration

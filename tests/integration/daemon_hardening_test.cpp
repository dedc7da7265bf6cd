// Regression tests of issue 12, items 2-4, against the real residued: token roles and the
// metrics listener, the estimates cache, the top bound, MSS decodes that cannot run yet,
// implausible unary reports, and authentication before the body is read. One test per defect.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <catch2/catch.hpp>
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

double metric(httplib::Client& http, const std::string& sample) {
  const std::map<std::string, double> m = scrape_metrics(http);
  const auto it = m.find(sample);
  return it == m.end() ? -1 : it->second;
}

JsonReply post_json(httplib::Client& http, const std::string& task,
                    std::span<const uint8_t> batch) {
  const httplib::Result r = post_batch(http, task, batch);
  if (!r) return {};
  return {r->status, nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false)};
}

std::string error_of(const JsonReply& reply) {
  return reply.body.is_object() && reply.body.contains("error")
             ? reply.body.at("error").get<std::string>()
             : "";
}

// Sends `head` (request line and headers) on a fresh loopback connection and nothing more,
// then waits at most `timeout` for the start of an answer: the status line, or "" when none
// came. The body the headers announce is never sent.
std::string status_line_without_body(uint16_t port, const std::string& head,
                                     std::chrono::milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0 &&
      ::send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size())) {
    const auto deadline = Clock::now() + timeout;
    while (answer.find("\r\n") == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char chunk[512];
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      answer.append(chunk, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return answer.substr(0, answer.find("\r\n"));
}

std::string upload_head(const std::string& authorization, const std::string& length_header) {
  return "POST /v1/tasks/words/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n" + authorization +
         "Content-Type: application/octet-stream\r\n" + length_header + "\r\n";
}

TEST_CASE("a report-only token cannot read estimates or metrics and a read token cannot upload",
          "[integration]") {
  DaemonSpec spec;
  spec.tokens = {TokenSpec{}, TokenSpec{.name = "device", .token = "device-token", .roles = {}},
                 TokenSpec{.name = "analyst", .token = "analyst-token", .roles = {"read"}}};
  RunningDaemon d(spec);
  auto device = d.daemon.client("device-token");
  auto analyst = d.daemon.client("analyst-token");

  // A device (no roles configured: "report" only) fetches parameters and uploads.
  const TaskClient words(*device, "words");
  CHECK(get_json(*device, "/v1/tasks").status == 200);
  SeededRng rng(121);
  CHECK(post_json(*device, "words", words.batch(100, rng)).status == 200);
  const JsonReply refused = get_json(*device, "/v1/tasks/words/estimates");
  CHECK(refused.status == 403);
  CHECK(error_of(refused).find("\"read\" role") != std::string::npos);
  CHECK(device->Get("/metrics")->status == 403);

  // A read token reads, but does not upload.
  CHECK(get_json(*analyst, "/v1/tasks/words").status == 200);
  const JsonReply e = get_json(*analyst, "/v1/tasks/words/estimates");
  REQUIRE(e.status == 200);
  CHECK(e.body.at("reports") == 100);
  const JsonReply upload = post_json(*analyst, "words", words.batch(50, rng));
  CHECK(upload.status == 403);
  CHECK(error_of(upload).find("\"report\" role") != std::string::npos);
  CHECK(metric(*analyst, "residue_batches_total{result=\"forbidden\"}") == 1);
  require_counted(d.daemon, "words", 1, 100);

  CHECK(get_json(*d.daemon.client("unknown-token"), "/v1/tasks/words/estimates").status == 401);
  CHECK(d.daemon.client("")->Get("/metrics")->status == 401);
  REQUIRE(d.daemon.stop() == 0);
}

TEST_CASE("a token with an unknown role stops the daemon, naming the token and the role",
          "[integration]") {
  TempDir dir;
  DaemonProcess daemon(dir, {.tokens = {TokenSpec{.roles = {"report", "reader"}}}});
  REQUIRE(!daemon.try_start());
  CHECK(daemon.exit_code() == 1);
  const std::string err = daemon.stderr_text();
  INFO(err);
  CHECK(err.find("tokens[0]: roles: unknown role \"reader\"") != std::string::npos);
}

TEST_CASE("with metrics_listen only the metrics listener serves /metrics, without a token",
          "[integration]") {
  RunningDaemon d({.metrics_listener = true});
  REQUIRE(d.daemon.metrics_port() != 0);
  REQUIRE(d.daemon.metrics_port() != d.daemon.port());
  CHECK(d.http->Get("/metrics")->status == 404);  // even with a read token

  httplib::Client metrics("127.0.0.1", d.daemon.metrics_port());
  metrics.set_connection_timeout(5, 0);
  const httplib::Result r = metrics.Get("/metrics");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body.find("residue_batches_total") != std::string::npos);
  CHECK(get_json(*d.daemon.client(""), "/healthz").status == 200);  // still open
  REQUIRE(d.daemon.stop() == 0);
}

TEST_CASE("repeated estimates with no commit between decode the tally once", "[integration]") {
  RunningDaemon d;
  const TaskClient words(*d.http, "words");
  SeededRng rng(122);
  REQUIRE(post_json(*d.http, "words", words.batch(500, rng)).status == 200);
  const std::string decodes = "residue_estimate_decodes_total";
  CHECK(metric(*d.http, decodes) == 0);

  const JsonReply first = get_json(*d.http, "/v1/tasks/words/estimates?top=5");
  REQUIRE(first.status == 200);
  CHECK(metric(*d.http, decodes) == 1);
  const JsonReply second = get_json(*d.http, "/v1/tasks/words/estimates?top=5");
  CHECK(second.body == first.body);
  // More values of the same decode: its first five unchanged, and still one decode.
  const JsonReply longer = get_json(*d.http, "/v1/tasks/words/estimates?top=20");
  REQUIRE(longer.body.at("top").size() == 20);
  for (std::size_t i = 0; i < 5; ++i) CHECK(longer.body.at("top")[i] == first.body.at("top")[i]);
  CHECK(metric(*d.http, decodes) == 1);
  // Other post-processing is another decode; so is a new commit, once for many requests.
  CHECK(get_json(*d.http, "/v1/tasks/words/estimates?postprocess=normsub").status == 200);
  CHECK(metric(*d.http, decodes) == 2);
  REQUIRE(post_json(*d.http, "words", words.batch(500, rng)).status == 200);
  std::atomic<int> ok{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      auto http = d.daemon.client();
      const JsonReply r = get_json(*http, "/v1/tasks/words/estimates?top=5");
      ok += r.status == 200 && r.body.at("reports") == 1000;
    });
  }
  for (std::thread& t : readers) t.join();
  CHECK(ok == 4);
  CHECK(metric(*d.http, decodes) == 3);
  REQUIRE(d.daemon.stop() == 0);
}

TEST_CASE("estimates with top above max_top get 400 naming the limit", "[integration]") {
  RunningDaemon d({.extra_toml = "max_top = 10\n"});
  const JsonReply over = get_json(*d.http, "/v1/tasks/words/estimates?top=11");
  CHECK(over.status == 400);
  CHECK(error_of(over).find("the limit is 10 (max_top)") != std::string::npos);
  CHECK(get_json(*d.http, "/v1/tasks/words/estimates?top=10").status == 200);
  REQUIRE(d.daemon.stop() == 0);
}

TEST_CASE("an mss task with too few reports to decode answers 503 with the reason, not 500",
          "[integration]") {
  RunningDaemon d;
  const TaskClient words(*d.http, "words");
  REQUIRE(words.protocol().params().moduli.size() >= 2);
  SeededRng rng(123);
  REQUIRE(post_json(*d.http, "words", words.batch(1, rng)).status == 200);
  for (int attempt = 0; attempt < 2; ++attempt) {  // the second from the cached failure
    const JsonReply e = get_json(*d.http, "/v1/tasks/words/estimates");
    CHECK(e.status == 503);
    CHECK(error_of(e).find("cannot be computed yet") != std::string::npos);
    CHECK(error_of(e).find("blocks have reports") != std::string::npos);
  }
  CHECK(metric(*d.http, "residue_estimate_decodes_total") == 1);
  REQUIRE(post_json(*d.http, "words", words.batch(1000, rng)).status == 200);
  CHECK(get_json(*d.http, "/v1/tasks/words/estimates").status == 200);
  REQUIRE(d.daemon.stop() == 0);
}

TEST_CASE("a unary batch with an implausibly full report gets 400 and nothing is counted",
          "[integration]") {
  RunningDaemon d({.tasks = {{.name = "words", .protocol = "oue", .k = 256}}});
  const TaskClient words(*d.http, "words");
  const ReportCodec codec(words.protocol().shape());
  SeededRng rng(124);
  std::vector<Report> reports(3);
  for (Report& r : reports) words.protocol().encoder().encode(5, rng, r);
  reports[1].items.resize(256);
  std::iota(reports[1].items.begin(), reports[1].items.end(), 0u);  // all ones
  const std::vector<uint8_t> forged =
      encode_batch(codec, random_batch_id(rng), words.hash(), reports);

  const JsonReply refused = post_json(*d.http, "words", forged);
  CHECK(refused.status == 400);
  CHECK(error_of(refused).find("report 1 of 3 has 256 positions") != std::string::npos);
  CHECK(refused.body.at("offset") == kBatchHeaderBytes + 256 / 8);
  require_counted(d.daemon, "words", 0, 0);
  CHECK(metric(*d.http, "residue_batches_total{result=\"malformed\"}") == 1);
  REQUIRE(post_json(*d.http, "words", words.batch(200, rng)).status == 200);
  require_counted(d.daemon, "words", 1, 200);
  REQUIRE(d.daemon.stop() == 0);
}

TEST_CASE("an upload is refused from its headers before its body is read", "[integration]") {
  RunningDaemon d({.max_body_bytes = 1 << 20});
  // The daemon's read timeout is 10 s: an answer within 5 s did not wait for the body.
  constexpr auto kQuick = 5s;
  const std::string token = "Authorization: Bearer " + std::string(kToken) + "\r\n";
  CHECK(status_line_without_body(d.daemon.port(), upload_head("", "Content-Length: 52428800\r\n"),
                                 kQuick) == "HTTP/1.1 401 Unauthorized");
  CHECK(status_line_without_body(d.daemon.port(),
                                 upload_head(token, "Content-Length: 52428800\r\n"),
                                 kQuick) == "HTTP/1.1 413 Payload Too Large");
  CHECK(status_line_without_body(d.daemon.port(),
                                 upload_head(token, "Transfer-Encoding: chunked\r\n"),
                                 kQuick) == "HTTP/1.1 411 Length Required");
  CHECK(metric(*d.http, "residue_batches_total{result=\"unauthorized\"}") == 1);
  CHECK(metric(*d.http, "residue_batches_total{result=\"too_large\"}") == 1);
  CHECK(metric(*d.http, "residue_batches_total{result=\"malformed\"}") == 1);
  // A client that asks first is refused before it sends anything.
  CHECK(status_line_without_body(
            d.daemon.port(),
            upload_head("", "Content-Length: 52428800\r\nExpect: 100-continue\r\n"),
            kQuick) == "HTTP/1.1 401 Unauthorized");
  require_counted(d.daemon, "words", 0, 0);
  REQUIRE(d.daemon.stop() == 0);
}

}  // namespace
}  // namespace residue::integration

// Builds of memory and vocab tasks (issue 14): devices report through the C ABI and HTTP,
// residued builds the memory or the vocabulary from its store and serves it, and what it serves
// equals what the offline tool (`residue memory build --data DIR --task NAME`, `residue vocab
// build --data ...`) makes of the same store: the same numbers. The public corpus is
// tests/data/brown_tiny (12 sentences), so a build takes well under a second.
// Eigen (through task_artifact.h) must come before httplib.h (see artifact_test.cpp).
// clang-format off
#include "residue/retrieval/task_artifact.h"
#include "c_client.h"
// clang-format on

#include <catch2/catch.hpp>
#include <sstream>

namespace residue::integration {
namespace {

const std::string kTiny = RESIDUE_TEST_DATA_DIR "/brown_tiny";
constexpr const char* kAdminToken = "operator-token";
constexpr const char* kReadToken = "analyst-token";

DaemonSpec build_spec(TaskSpec task) {
  DaemonSpec spec;
  spec.tokens = {TokenSpec{},
                 TokenSpec{.name = "operator", .token = kAdminToken, .roles = {"admin"}},
                 TokenSpec{.name = "analyst", .token = kReadToken, .roles = {"read"}}};
  spec.tasks = {std::move(task)};
  return spec;
}

// An MSS task of `kind` ("memory", "vocab") over `artifact` that residued builds from the tiny
// corpus on request only; `more` adds TOML lines.
TaskSpec built_task(const std::string& name, const std::string& kind, const std::string& artifact,
                    uint32_t k, double epsilon, const std::string& more) {
  return TaskSpec{.name = name,
                  .protocol = "mss",
                  .k = k,
                  .epsilon = epsilon,
                  .extra_toml = "kind = " + toml_string(kind) +
                                "\nartifact = " + toml_string(artifact) +
                                "\ncorpus = " + toml_string(kTiny) + "\nbuild_every = 0" + more};
}

// `residue ARGS...`, which must succeed; its stdout.
std::string tool(std::vector<std::string> args, const TempDir& dir) {
  args.insert(args.begin(), RESIDUE_CLI_PATH);
  const CommandResult r = run_command(args, dir.path(), 120s);
  INFO(args[1] << " " << args[2] << ": " << r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

// The sentences of the tiny corpus, as words (its third column, split at spaces).
std::vector<std::vector<std::string>> tiny_sentences() {
  std::vector<std::vector<std::string>> out;
  std::istringstream lines(read_text(kTiny + "/sentences.tsv"));
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line.substr(line.find('\t', line.find('\t') + 1) + 1));
    out.emplace_back();
    for (std::string w; words >> w;) out.back().push_back(w);
  }
  return out;
}

JsonReply post_build(const DaemonProcess& daemon, const std::string& token,
                     const std::string& task) {
  auto http = daemon.client(token);
  const httplib::Result r = http->Post("/v1/tasks/" + task + "/build");
  REQUIRE(r);
  JsonReply reply{.status = r->status};
  if (!r->body.empty()) reply.body = nlohmann::json::parse(r->body);
  return reply;
}

// The task's build status once `builds` builds succeeded or `failures` failed (at most 60 s).
nlohmann::json wait_for_build(const DaemonProcess& daemon, const std::string& task, uint64_t builds,
                              uint64_t failures) {
  auto http = daemon.client(kReadToken);
  const Clock::time_point deadline = Clock::now() + 60s;
  while (true) {
    const JsonReply r = get_json(*http, "/v1/tasks/" + task + "/build");
    REQUIRE(r.status == 200);
    if (r.body.at("state") == "idle" &&
        (r.body.at("builds") >= builds && r.body.at("failures") >= failures)) {
      return r.body;
    }
    REQUIRE(Clock::now() < deadline);
    std::this_thread::sleep_for(50ms);
  }
}

std::string url_encoded(const std::string& text) {
  return httplib::detail::encode_query_param(text);
}

// `residue memory build --data (the daemon's store) --task next ARGS...`, whose answer to "the
// city" (top 8) must be what residued `served` (everything but "build"); the memory file.
std::string offline_memory(const DaemonProcess& daemon, const TempDir& dir, const JsonReply& served,
                           const std::vector<std::string>& args) {
  const std::string file = (dir / "next.memory").string();
  std::vector<std::string> build = {"memory", "build", "--data", daemon.data_dir().string(),
                                    "--task", "next",  "--out",  file};
  build.insert(build.end(), args.begin(), args.end());
  tool(build, dir);
  const nlohmann::json offline = nlohmann::json::parse(tool(
      {"memory", "query", "--memory", file, "--context", "the city", "--top", "8", "--json"}, dir));
  nlohmann::json answer = served.body;
  answer.erase("build");
  CHECK(answer == offline);
  CHECK(answer.at("top").size() == 8);
  return file;
}

// Every position of the tiny corpus, `rounds` times, from one device of `task` on the C ABI;
// the number of reports.
uint64_t record_tiny_corpus(const DaemonProcess& daemon, const std::filesystem::path& state,
                            const char* task, int rounds) {
  residue_client_t* c = open_c_client(daemon, state, task);
  uint64_t recorded = 0;
  for (int round = 0; round < rounds; ++round) {
    for (const std::vector<std::string>& sentence : tiny_sentences()) {
      REQUIRE(residue_client_record_sentence_start(c, sentence[0].c_str()) == RESIDUE_OK);
      std::vector<const char*> before = {sentence[0].c_str()};
      for (std::size_t i = 1; i < sentence.size(); ++i) {
        REQUIRE(residue_client_record_context(c, before.data(), before.size(),
                                              sentence[i].c_str()) == RESIDUE_OK);
        before.push_back(sentence[i].c_str());
      }
      recorded += sentence.size();
    }
  }
  uint64_t uploaded = 0;
  REQUIRE(residue_client_flush(c, &uploaded, nullptr) == RESIDUE_OK);
  CHECK(uploaded == recorded);
  residue_client_destroy(c);
  return recorded;
}

TEST_CASE(
    "devices report a memory task through the C ABI, and residued builds it and serves the "
    "offline tool's next-token distribution",
    "[integration]") {
  TempDir dir;
  const std::string artifact = (dir / "next.artifact").string();
  const std::vector<std::string> sizes = {"--data-dir", kTiny, "--vocab",     "20",
                                          "--cells",    "2",   "--dimension", "4"};
  std::vector<std::string> prepare = {"memory", "prepare", "--out", artifact};
  prepare.insert(prepare.end(), sizes.begin(), sizes.end());
  tool(prepare, dir);
  const uint32_t k = MemoryArtifact::read(artifact).domain();
  REQUIRE(k == 2 * 21);
  DaemonProcess daemon(dir, build_spec(built_task("next", "memory", artifact, k, 4, "")));
  daemon.start();
  auto analyst = daemon.client(kReadToken);

  // Nothing to serve before a build; a build before any report fails and says why.
  CHECK(get_json(*analyst, "/v1/tasks/next/memory/next?context=the").status == 503);
  CHECK(post_build(daemon, kReadToken, "next").status == 403);
  CHECK(post_build(daemon, "", "next").status == 401);
  REQUIRE(post_build(daemon, kAdminToken, "next").status == 202);
  const nlohmann::json failed = wait_for_build(daemon, "next", 0, 1);
  CHECK_THAT(failed.at("last_error").at("message").get<std::string>(),
             Catch::Contains("no reports yet"));
  const JsonReply none = get_json(*analyst, "/v1/tasks/next/memory/next?context=the");
  CHECK(none.status == 503);
  CHECK_THAT(none.body.at("error").get<std::string>(), Catch::Contains("no reports yet"));

  // An empty context, or an empty word in it, is refused and records nothing.
  residue_client_t* c = open_c_client(daemon, dir / "refused", "next");
  const char* bad[] = {"the", ""};
  CHECK(residue_client_record_context(c, bad, 2, "city") == RESIDUE_E_INVALID);
  CHECK(residue_client_record_context(c, bad, 0, "city") == RESIDUE_E_INVALID);
  uint64_t queued = 0;
  REQUIRE(residue_client_flush(c, &queued, nullptr) == RESIDUE_OK);
  CHECK(queued == 0);
  residue_client_destroy(c);
  const uint64_t recorded = record_tiny_corpus(daemon, dir / "device", "next", 30);

  REQUIRE(post_build(daemon, kAdminToken, "next").status == 202);
  const nlohmann::json built = wait_for_build(daemon, "next", 1, 1);
  CHECK(built.at("last_good").at("reports") == recorded);
  const JsonReply served =
      get_json(*analyst, "/v1/tasks/next/memory/next?top=8&context=" + url_encoded("the city"));
  REQUIRE(served.status == 200);
  CHECK(served.body.at("build").at("reports") == recorded);
  CHECK(get_json(*analyst, "/v1/tasks/next/memory/next?top=100000").status == 400);
  // One failed build and one good one, in /metrics.
  const httplib::Result metrics = analyst->Get("/metrics");
  REQUIRE(metrics);
  CHECK_THAT(metrics->body,
             Catch::Contains("residue_builds_total{result=\"ok\",task=\"next\"} 1") &&
                 Catch::Contains("residue_builds_total{result=\"failed\",task=\"next\"} 1") &&
                 Catch::Contains("residue_build_running{task=\"next\"} 0"));

  // The offline tool on the same store, with the same public sizes.
  const std::string offline = offline_memory(daemon, dir, served, sizes);
  // The build's test perplexity is `residue memory eval`'s for the base LM and the served arm.
  const nlohmann::json eval =
      nlohmann::json::parse(tool({"memory", "eval", "--memory", offline, "--json"}, dir));
  const nlohmann::json& scored = built.at("last_good").at("test_perplexity");
  const auto eval_arm = [&](const std::string& name) {
    for (const nlohmann::json& a : eval.at("arms")) {
      if (a.at("name") == name) return a.at("test_perplexity").get<double>();
    }
    FAIL("memory eval has no arm " << name);
    return 0.0;
  };
  CHECK(scored.at("arm") == "ldp_project");
  CHECK(scored.at("base").get<double>() == eval_arm("base"));
  CHECK(scored.at("memory").get<double>() == eval_arm("ldp_project"));
  CHECK(scored.at("positions") == eval.at("test_positions"));

  // `residue loadgen` drives a memory task too: its hash covers the published artifact.
  const nlohmann::json load =
      nlohmann::json::parse(tool({"loadgen", "--url", daemon.url(), "--token", kToken, "--task",
                                  "next", "--reports", "1000", "--batch", "100", "--json"},
                                 dir));
  CHECK(load.at("accepted_reports") == 1000);
  REQUIRE(daemon.stop() == 0);
}

TEST_CASE(
    "the two-stage shortlist: devices report tokens, the tool makes the shortlist, devices "
    "report over it, and residued builds and serves the offline tool's memory",
    "[integration]") {
  TempDir dir;
  const std::string base = (dir / "next.artifact").string();
  const std::string shortlisted = (dir / "shortlist.artifact").string();
  const std::vector<std::string> sizes = {"--data-dir", kTiny, "--vocab",     "20",
                                          "--cells",    "2",   "--dimension", "4"};
  std::vector<std::string> prepare = {"memory", "prepare", "--out", base};
  prepare.insert(prepare.end(), sizes.begin(), sizes.end());
  tool(prepare, dir);
  const TaskSpec tokens{
      .name = "tokens",
      .protocol = "mss",
      .k = 21,
      .epsilon = 4,
      .extra_toml = "kind = \"memory\"\nstage = \"tokens\"\nartifact = " + toml_string(base)};

  // Stage one: each device reports the next word's token id alone, over k = V + 1.
  uint64_t stage_one_reports = 0;
  {
    DaemonProcess daemon(dir, build_spec(tokens));
    daemon.start();
    auto analyst = daemon.client(kReadToken);
    const JsonReply described = get_json(*analyst, "/v1/tasks/tokens");
    REQUIRE(described.status == 200);
    CHECK(described.body.at("stage") == "tokens");
    stage_one_reports = record_tiny_corpus(daemon, dir / "device-1", "tokens", 20);
    REQUIRE(daemon.stop() == 0);
  }

  // The shortlist, from stage one's tally (the daemon's store).
  const nlohmann::json made = nlohmann::json::parse(
      tool({"memory", "shortlist", "--data", (dir / "data").string(), "--task", "tokens",
            "--artifact", base, "--out", shortlisted, "--json"},
           dir));
  CHECK(made.at("stage_one_reports") == stage_one_reports);
  CHECK(made.at("size_rule") == "adaptive");
  const uint32_t size = made.at("size").get<uint32_t>();
  CHECK(size >= 8);
  CHECK(size <= 20);
  const MemoryArtifact artifact = MemoryArtifact::read(shortlisted);
  REQUIRE(artifact.shortlist().size() == size);
  const uint32_t k = 2 * (size + 1);
  CHECK(made.at("k") == k);
  CHECK(artifact.domain() == k);

  // Stage two beside stage one: devices report cell * (L + 1) + index; residued builds it from
  // both tallies.
  DaemonSpec spec = build_spec(built_task("next", "memory", shortlisted, k, 4,
                                          "\nstage = \"shortlist\"\nstage_one = \"tokens\""));
  spec.tasks.insert(spec.tasks.begin(), tokens);
  DaemonProcess daemon(dir, spec);
  daemon.start();
  auto analyst = daemon.client(kReadToken);
  CHECK(get_json(*analyst, "/v1/tasks/next").body.at("stage") == "shortlist");
  const uint64_t recorded = record_tiny_corpus(daemon, dir / "device-2", "next", 30);
  REQUIRE(post_build(daemon, kAdminToken, "next").status == 202);
  const nlohmann::json built = wait_for_build(daemon, "next", 1, 0);
  INFO(built.dump());
  REQUIRE(built.at("failures") == 0);
  CHECK(built.at("last_good").at("reports") == recorded);
  CHECK(built.at("last_good").at("test_perplexity").at("arm") == "ldp_2stage_shortlist");
  const JsonReply served =
      get_json(*analyst, "/v1/tasks/next/memory/next?top=8&context=" + url_encoded("the city"));
  REQUIRE(served.status == 200);

  std::vector<std::string> args = {"--stage-one", "tokens", "--artifact", shortlisted};
  args.insert(args.end(), sizes.begin(), sizes.end());
  offline_memory(daemon, dir, served, args);
  CHECK(served.body.at("arm") == "ldp_2stage_shortlist");
  REQUIRE(daemon.stop() == 0);
}

TEST_CASE(
    "devices report a vocab task through the C ABI, and residued builds it and serves the "
    "offline tool's search",
    "[integration]") {
  TempDir dir;
  const std::string artifact = (dir / "units.artifact").string();
  tool({"vocab", "prepare", "--data-dir", kTiny, "--vocab-words", "20", "--candidates", "50",
        "--out", artifact},
       dir);
  const auto k = static_cast<uint32_t>(VocabArtifact::read(artifact).candidates().size());
  DaemonProcess daemon(
      dir, build_spec(built_task("units", "vocab", artifact, k, 8,
                                 "\ndimension = 4\npublic_units = 10\nmax_units = 10")));
  daemon.start();
  residue_client_t* c = open_c_client(daemon, dir / "device", "units");
  uint64_t recorded = 0;
  for (int round = 0; round < 100; ++round) {
    for (const std::vector<std::string>& sentence : tiny_sentences()) {
      std::string text;
      for (const std::string& word : sentence) text += word + " ";
      const int status = residue_client_record_text(c, text.c_str());
      REQUIRE((status == RESIDUE_OK || status == RESIDUE_E_UNKNOWN_VALUE));
      recorded += status == RESIDUE_OK;
    }
  }
  REQUIRE(residue_client_flush(c, nullptr, nullptr) == RESIDUE_OK);
  residue_client_destroy(c);
  REQUIRE(recorded > 0);

  REQUIRE(post_build(daemon, kAdminToken, "units").status == 202);
  wait_for_build(daemon, "units", 1, 0);
  auto analyst = daemon.client(kReadToken);
  const JsonReply served =
      get_json(*analyst, "/v1/tasks/units/vocab/search?top=5&text=" + url_encoded("the city"));
  REQUIRE(served.status == 200);
  const JsonReply unknown =
      get_json(*analyst, "/v1/tasks/units/vocab/search?text=" + url_encoded("zyzzyva"));
  CHECK(unknown.status == 400);
  CHECK_THAT(unknown.body.at("error").get<std::string>(), Catch::Contains("\"zyzzyva\""));
  CHECK(get_json(*analyst, "/v1/tasks/units/memory/next").status == 404);

  tool({"vocab",         "build", "--data",         daemon.data_dir().string(),
        "--task",        "units", "--data-dir",     kTiny,
        "--vocab-words", "20",    "--candidates",   "50",
        "--dimension",   "4",     "--public-units", "10",
        "--max-units",   "10",    "--out",          (dir / "units.rv").string()},
       dir);
  const nlohmann::json offline =
      nlohmann::json::parse(tool({"vocab", "search", "--vocab", (dir / "units.rv").string(),
                                  "--text", "the city", "--top", "5", "--json"},
                                 dir));
  nlohmann::json answer = served.body;
  answer.erase("build");
  CHECK(answer == offline);
  CHECK_FALSE(answer.at("hits").empty());
  REQUIRE(daemon.stop() == 0);
}

}  // namespace
}  // namespace residue::integration

// `residue loadgen`: a real client fleet in one process. It fetches a task's public
// parameters from the daemon, encodes reports with the library's CSPRNG path exactly as the
// SDK would, uploads them in batches from several connections (retrying refused or failed
// uploads with the same batch id), and prints throughput and latency percentiles. The
// benchmark, the crash tests and the demo drive the daemon with it. Given several daemons
// (--url more than once: daemons sharing a PostgreSQL store), connections are spread over them,
// a retry goes to the next daemon, and --resend re-sends acknowledged batches to another one,
// which must answer "duplicate".
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <latch>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "commands.h"
#include "data.h"
#include "output.h"
#include "residue/core/error.h"
#include "residue/core/hex.h"
#include "residue/protocols/registry.h"
#include "residue/random/csprng.h"
#include "residue/random/seeded_rng.h"
#include "residue/retrieval/memory_stage.h"
#include "residue/wire/batch.h"

namespace residue {
namespace {

using Clock = std::chrono::steady_clock;

struct LoadgenOptions {
  std::vector<std::string> urls;
  std::string token, task, data = "zipf:1.1", ca_cert;
  uint64_t reports = 0;
  uint32_t batch = 1000;
  uint32_t concurrency = 2;
  uint64_t seed = 1;
  uint32_t show_top = 0;
  int max_retries = 50;
  double resend = 0;
  bool json = false;
};

std::unique_ptr<httplib::Client> connect(const LoadgenOptions& o, const std::string& url) {
  auto client = std::make_unique<httplib::Client>(url);
  if (!client->is_valid())
    throw Error("--url: cannot use \"" + url + "\" (http://host:port or https://...).");
  client->set_bearer_token_auth(o.token);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);  // headers and body go out in separate writes: no Nagle wait
  client->set_read_timeout(60, 0);
  client->set_write_timeout(60, 0);
  if (!o.ca_cert.empty()) {
    client->set_ca_cert_path(o.ca_cert.c_str());
    client->enable_server_certificate_verification(true);
  }
  return client;
}

nlohmann::json get_json(httplib::Client& client, const std::string& path) {
  const httplib::Result r = client.Get(path);
  if (!r) throw Error("GET " + path + ": " + httplib::to_string(r.error()) + ".");
  if (r->status != 200)
    throw Error("GET " + path + ": status " + std::to_string(r->status) + ": " + r->body);
  return nlohmann::json::parse(r->body);
}

struct Upload {
  std::vector<uint8_t> body;
  uint32_t reports = 0;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

void run(const LoadgenOptions& o) {
  if (o.reports == 0) throw Error("--reports must be at least 1.");
  if (o.batch == 0) throw Error("--batch must be at least 1.");
  if (o.concurrency == 0) throw Error("--concurrency must be at least 1.");
  if (!(o.resend >= 0 && o.resend <= 1)) throw Error("--resend must be in [0, 1].");
  auto client = connect(o, o.urls.front());
  const nlohmann::json info = get_json(*client, "/v1/tasks/" + o.task);
  const Protocol protocol = make_protocol(params_from_json(info["params"]));
  std::optional<Domain> domain;
  if (info["domain"]["kind"] == "dictionary") domain = Domain::dictionary(info["domain"]["values"]);
  // A memory or vocab task's hash covers its published artifact and a memory task's stage (the
  // daemon's task JSON).
  const std::optional<MemoryStage> stage = parse_memory_stage(info.value("stage", "joint"));
  if (!stage) throw Error("task \"" + o.task + "\" has a stage this program does not know.");
  const std::string domain_id =
      domain ? domain->id()
      : info.contains("artifact")
          ? artifact_domain_id(info["artifact"]["sha256"].get<std::string>(), *stage)
          : "";
  const ParamsHash hash = task_hash(protocol.params(), domain_id);
  if (to_hex(hash) != info["params_hash"].get<std::string>()) {
    throw Error("the daemon's parameter hash for \"" + o.task +
                "\" is not what this client computes: "
                "different library versions?");
  }
  const uint32_t k = protocol.params().k;

  // The population: values drawn from --data; for a dictionary task the data's labels are
  // mapped through the task's dictionary, and values it does not know are skipped.
  const Distribution data = load_distribution(o.data, domain ? std::max<uint32_t>(k, 2) : k);
  SeededRng population(o.seed);  // which values the simulated users hold: not private
  std::vector<uint64_t> truth(k, 0);
  std::vector<uint32_t> values;
  values.reserve(o.reports);
  uint64_t skipped = 0;
  while (values.size() < o.reports) {
    for (uint32_t v : data.sample(o.reports - values.size(), population)) {
      if (domain) {
        const std::optional<uint32_t> mapped =
            data.domain() ? domain->find(data.domain()->value_at(v)) : std::optional<uint32_t>(v);
        if (!mapped) {
          ++skipped;
          continue;
        }
        v = *mapped;
      }
      if (v >= k) {
        ++skipped;
        continue;
      }
      values.push_back(v);
    }
    if (skipped > 10 * o.reports)
      throw Error("--data: almost no value of the data is in the task's domain.");
  }

  // Encode everything first, with the CSPRNG as a device would, so uploads are timed alone.
  const ReportCodec codec(protocol.shape());
  Csprng rng;
  std::vector<Upload> uploads;
  std::vector<Report> reports;
  const auto encode_start = Clock::now();
  for (uint64_t start = 0; start < values.size(); start += o.batch) {
    const std::size_t count = std::min<std::size_t>(o.batch, values.size() - start);
    reports.resize(count);
    for (std::size_t i = 0; i < count; ++i) {
      protocol.encoder().encode(values[start + i], rng, reports[i]);
      ++truth[values[start + i]];
    }
    uploads.push_back(
        {encode_batch(codec, random_batch_id(rng), hash, reports), static_cast<uint32_t>(count)});
  }
  const double encode_seconds = std::chrono::duration<double>(Clock::now() - encode_start).count();

  std::atomic<std::size_t> next{0};
  std::atomic<uint64_t> accepted{0}, duplicates{0}, retries{0}, resent{0};
  std::mutex mu;
  std::vector<double> latencies;
  std::string failure;
  ProgressBar bar("uploading");
  // Connections are opened before the clock starts: a burst of connects can overflow the
  // server's listen backlog, and the kernel retries a dropped SYN only after a second.
  std::latch connected(static_cast<std::ptrdiff_t>(o.concurrency) + 1);
  auto worker = [&](uint32_t w) {
    // One keep-alive connection per daemon, opened when first used; worker w starts at
    // daemon w mod n and moves to the next one when an upload gets no answer or a 503.
    std::vector<std::unique_ptr<httplib::Client>> clients(o.urls.size());
    std::size_t at = w % o.urls.size();
    auto daemon = [&](std::size_t d) -> httplib::Client& {
      if (!clients[d]) clients[d] = connect(o, o.urls[d]);
      return *clients[d];
    };
    SeededRng coin(o.seed + 1 + w);  // which acknowledged batches are re-sent: not private
    daemon(at).Get("/healthz");      // no answer: the uploads below retry
    connected.arrive_and_wait();
    std::vector<double> mine;
    // Uploads `u` until a 200; returns whether the daemon called it a duplicate, or nullopt
    // after recording a failure.
    auto send = [&](const Upload& u) -> std::optional<bool> {
      for (int attempt = 0;; ++attempt) {
        const auto t0 = Clock::now();
        const httplib::Result r = daemon(at).Post("/v1/tasks/" + o.task + "/reports",
                                                  reinterpret_cast<const char*>(u.body.data()),
                                                  u.body.size(), "application/octet-stream");
        mine.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
        if (r && r->status == 200) return nlohmann::json::parse(r->body)["duplicate"].get<bool>();
        // Transient: no answer, 429 (rate limit) or 503 (store): retry the same bytes, with
        // exponential backoff; the batch id makes a retry of a committed batch harmless.
        const bool transient = !r || r->status == 429 || r->status == 503;
        if (!transient || attempt >= o.max_retries) {
          std::lock_guard<std::mutex> lock(mu);
          failure = r ? "status " + std::to_string(r->status) + ": " + r->body
                      : "connection: " + httplib::to_string(r.error());
          next = uploads.size();
          return std::nullopt;
        }
        ++retries;
        if (!r) clients[at].reset();
        if (!r || r->status == 503) at = (at + 1) % o.urls.size();  // another daemon may be up
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::min(1000, 10 << std::min(attempt, 6))));
      }
    };
    for (std::size_t i = next++; i < uploads.size(); i = next++) {
      const Upload& u = uploads[i];
      const std::optional<bool> duplicate = send(u);
      if (!duplicate) return;
      (*duplicate ? duplicates : accepted) += *duplicate ? 1 : u.reports;
      if (o.resend > 0 && coin.bernoulli(o.resend)) {
        at = (at + 1) % o.urls.size();
        const std::optional<bool> again = send(u);
        if (!again) return;
        ++resent;
        if (!*again) {
          std::lock_guard<std::mutex> lock(mu);
          failure =
              "batch " + std::to_string(i) + " was counted again when re-sent to " + o.urls[at];
          next = uploads.size();
          return;
        }
        ++duplicates;
      }
      bar.update(i + 1, uploads.size());
    }
    std::lock_guard<std::mutex> lock(mu);
    latencies.insert(latencies.end(), mine.begin(), mine.end());
  };
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < o.concurrency; ++t) threads.emplace_back(worker, t);
  connected.arrive_and_wait();
  const auto upload_start = Clock::now();
  for (std::thread& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - upload_start).count();
  if (!failure.empty()) throw Error("upload failed: " + failure);

  nlohmann::json out = {{"task", o.task},
                        {"protocol", protocol.id()},
                        {"reports", values.size()},
                        {"batches", uploads.size()},
                        {"batch_size", o.batch},
                        {"concurrency", o.concurrency},
                        {"daemons", o.urls.size()},
                        {"resent_batches", resent.load()},
                        {"accepted_reports", accepted.load()},
                        {"duplicate_batches", duplicates.load()},
                        {"retries", retries.load()},
                        {"skipped_values", skipped},
                        {"encode_seconds", encode_seconds},
                        {"upload_seconds", seconds},
                        {"reports_per_second", static_cast<double>(values.size()) / seconds},
                        {"batches_per_second", static_cast<double>(uploads.size()) / seconds},
                        {"latency_ms",
                         {{"p50", 1e3 * percentile(latencies, 0.5)},
                          {"p90", 1e3 * percentile(latencies, 0.9)},
                          {"p99", 1e3 * percentile(latencies, 0.99)},
                          {"max", 1e3 * percentile(latencies, 1.0)}}}};
  nlohmann::json estimates;
  if (o.show_top > 0) {
    estimates =
        get_json(*client, "/v1/tasks/" + o.task + "/estimates?top=" + std::to_string(o.show_top));
    out["estimates"] = estimates;
  }
  if (o.json) {
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "loadgen: " << values.size() << " reports of " << protocol.id() << " in "
            << uploads.size() << " batches of " << o.batch << ", " << o.concurrency
            << " connections to " << o.urls.size() << " daemon(s)\n"
            << "  encode " << format_number(encode_seconds, 3) << " s; upload "
            << format_number(seconds, 3)
            << " s: " << format_number(out["reports_per_second"].get<double>(), 4) << " reports/s, "
            << format_number(out["batches_per_second"].get<double>(), 4) << " batches/s\n"
            << "  latency ms p50 " << format_number(out["latency_ms"]["p50"].get<double>(), 3)
            << ", p90 " << format_number(out["latency_ms"]["p90"].get<double>(), 3) << ", p99 "
            << format_number(out["latency_ms"]["p99"].get<double>(), 3) << ", max "
            << format_number(out["latency_ms"]["max"].get<double>(), 3) << "\n"
            << "  accepted " << accepted.load() << " reports, " << duplicates.load()
            << " duplicate batches (" << resent.load() << " re-sent on purpose), " << retries.load()
            << " retries"
            << (skipped
                    ? ", " + std::to_string(skipped) + " values outside the task's domain skipped"
                    : "")
            << "\n";
  if (o.show_top == 0) return;
  std::cout << "\ntop " << o.show_top << " estimates of the daemon (" << estimates["reports"]
            << " reports in the task) against the counts this run sent\n";
  Table t({"rank", "value", "sent", "estimate", "+- stderr"});
  int rank = 0;
  for (const auto& row : estimates["top"]) {
    const uint32_t index = row["index"];
    const double reports_total = estimates["reports"].get<double>();
    t.add({std::to_string(++rank),
           row.contains("value") ? row["value"].get<std::string>() : std::to_string(index),
           std::to_string(truth[index]), format_number(row["count"].get<double>(), 6),
           format_number(row["stderr"].get<double>() * reports_total, 3)});
  }
  t.print(std::cout);
}

}  // namespace

void add_loadgen_command(CLI::App& app) {
  auto o = std::make_shared<LoadgenOptions>();
  CLI::App* cmd = app.add_subcommand("loadgen", "Encode real reports and upload them to residued");
  cmd->add_option("--url", o->urls,
                  "Daemon URL, e.g. http://127.0.0.1:8750; repeat it for daemons sharing a store")
      ->required();
  cmd->add_option("--token", o->token, "Bearer token")->required();
  cmd->add_option("--task", o->task, "Task name")->required();
  cmd->add_option("--reports", o->reports, "Reports to send")
      ->required()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", o->batch, "Reports per batch")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--concurrency", o->concurrency, "Parallel connections")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--data", o->data,
                  "zipf:S | uniform | spike | file:PATH (values held by the users)")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the simulated population (reports use the CSPRNG)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--ca-cert", o->ca_cert, "CA certificate to trust for https");
  cmd->add_option("--show-top", o->show_top,
                  "Afterwards, print the daemon's top N estimates beside the truth")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-retries", o->max_retries, "Retries per batch on 429, 503 or no answer")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--resend", o->resend,
                  "Fraction of acknowledged batches sent once more, to the next daemon; each "
                  "must come back a duplicate")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "One JSON object on stdout");
  cmd->callback([o] { run(*o); });
}

}  // namespace residue

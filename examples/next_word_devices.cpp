// Simulated phones on a memory task (scripts/demo, part 2): each document of the corpus's client
// split (docs/memory.md, "The pieces") is one device's typing. A device is a residue::Client with
// its own state directory; it records every word it typed with the words before it in the
// sentence (record_sentence_start / record_context: the key, the cell and the randomized report
// are computed on the device, from the task's artifact) and uploads with flush(). Devices run
// on every core at once.
//   next_word_devices URL TOKEN TASK STATE_ROOT CORPUS_DIR [SPLIT_SEED] [MAX_EPSILON]
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "residue/client/client.h"
#include "residue/retrieval/corpus.h"

namespace {

struct Totals {
  std::atomic<uint64_t> recorded{0}, uploaded{0}, devices{0};
  std::mutex error_mu;
  std::string error;  // the first failure; the other devices stop
};

// One device types its document and uploads; false (totals.error set) on a failure.
bool run_device(const residue::ClientOptions& options, const residue::Document& document,
                Totals& totals) {
  auto fail = [&](const std::string& what) {
    std::lock_guard lock(totals.error_mu);
    if (totals.error.empty()) totals.error = "device " + document.id + ": " + what;
    return false;
  };
  std::unique_ptr<residue::Client> client;
  try {
    client = residue::Client::open(options);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  uint64_t recorded = 0;
  for (const residue::Sentence& sentence : document.sentences) {
    for (std::size_t i = 0; i < sentence.size(); ++i) {
      const residue::Status s =
          i == 0 ? client->record_sentence_start(sentence[0])
                 : client->record_context(std::span(sentence).first(i), sentence[i]);
      if (s != residue::Status::kOk) return fail(client->last_error());
      ++recorded;
    }
  }
  const residue::FlushResult r = client->flush();
  totals.recorded += recorded;
  totals.uploaded += r.uploaded_reports;
  if (r.status != residue::Status::kOk || r.remaining_reports != 0) {
    return fail("flush: " + std::to_string(r.remaining_reports) +
                " reports still queued: " + r.message);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6 || argc > 8) {
    std::fprintf(stderr,
                 "usage: %s URL TOKEN TASK STATE_ROOT CORPUS_DIR [SPLIT_SEED] [MAX_EPSILON]\n",
                 argv[0]);
    return 2;
  }
  const uint64_t split_seed = argc > 6 ? std::strtoull(argv[6], nullptr, 10) : 1;
  std::vector<residue::Document> devices;
  try {
    devices = residue::Corpus::load(argv[5], "learned").split_domain(split_seed).client;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  residue::ClientOptions base{.url = argv[1], .token = argv[2], .task = argv[3]};
  base.max_epsilon = argc > 7 ? std::strtod(argv[7], nullptr) : 8.0;
  const std::filesystem::path root = argv[4];

  Totals totals;
  const bool progress = isatty(STDERR_FILENO) != 0;  // a log gets the summary line only
  std::atomic<std::size_t> next{0};
  const auto start = std::chrono::steady_clock::now();
  auto worker = [&] {
    for (std::size_t d; (d = next++) < devices.size();) {
      residue::ClientOptions options = base;
      options.state_dir = root / ("device-" + devices[d].id);
      if (!run_device(options, devices[d], totals)) {
        next = devices.size();
        return;
      }
      const uint64_t done = ++totals.devices;
      if (progress) {
        std::fprintf(stderr, "\rdevices: %llu / %zu done", static_cast<unsigned long long>(done),
                     devices.size());
      }
    }
  };
  std::vector<std::thread> threads(std::max(1u, std::thread::hardware_concurrency()));
  for (std::thread& t : threads) t = std::thread(worker);
  for (std::thread& t : threads) t.join();
  if (progress) std::fprintf(stderr, "\n");
  if (!totals.error.empty()) {
    std::fprintf(stderr, "%s\n", totals.error.c_str());
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%zu devices recorded %llu words and uploaded %llu reports in %.1f s\n",
              devices.size(), static_cast<unsigned long long>(totals.recorded.load()),
              static_cast<unsigned long long>(totals.uploaded.load()), seconds);
  return 0;
}

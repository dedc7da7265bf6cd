// Simulated phones on a memory task (scripts/demo, part 2): each document of the corpus's client
// split (docs/memory.md, "The pieces"; split seed 1, residued's default) is one device's typing.
// A device is a residue::Client with its own state directory; it records every word it typed
// with the words before it in the sentence (record_sentence_start / record_context: what is
// reported, the token or the (cell, token) value of the task's stage, and its randomization are
// computed on the device, from the task's artifact) and uploads with flush(). Devices run on
// every core at once. FIRST and END pick documents [FIRST, END) of the split (default: all), so
// that each device joins one stage of a two-stage memory.
//   next_word_devices URL TOKEN TASK STATE_ROOT CORPUS_DIR [FIRST END]
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
  if (argc != 6 && argc != 8) {
    std::fprintf(stderr, "usage: %s URL TOKEN TASK STATE_ROOT CORPUS_DIR [FIRST END]\n", argv[0]);
    return 2;
  }
  std::vector<residue::Document> devices;
  try {
    devices = residue::Corpus::load(argv[5], "learned").split_domain(1).client;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  if (argc == 8) {
    const std::size_t first = std::strtoul(argv[6], nullptr, 10);
    const std::size_t end = std::strtoul(argv[7], nullptr, 10);
    if (first >= end || end > devices.size()) {
      std::fprintf(stderr, "FIRST END: %s %s is not a range of the %zu documents\n", argv[6],
                   argv[7], devices.size());
      return 2;
    }
    devices = {devices.begin() + static_cast<std::ptrdiff_t>(first),
               devices.begin() + static_cast<std::ptrdiff_t>(end)};
  }
  residue::ClientOptions base{.url = argv[1], .token = argv[2], .task = argv[3]};
  base.max_epsilon = 8;  // the app's bound: the demo's tasks publish at most 8
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

// What recording costs a device, measured in one run (docs/results.md). Per report, in CPU
// time of this process and in wall time:
//   encode     the protocol's encoder with the CSPRNG (what any LDP client pays)
//   memoized   the same with the permanent HMAC-DRBG stream (RAPPOR's permanent response)
//   append     baseline: write the report's bytes to a file and fsync it, no encryption, no
//              encoding: the floor for any queue that keeps a report across a crash
//   record     Client::record: encode, seal with AES-256-GCM, append and fsync
// and record's wall time as a ratio to `append`. Tasks: MSS and SS at k = 10,000, eps = 2,
// and GRR (smallest report). The Client reads cached parameters: no daemon is involved.
//   residue_client_bench [--smoke]
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>

#include "output.h"
#include "residue/client/client.h"
#include "residue/core/error.h"
#include "residue/core/hex.h"
#include "residue/protocols/client_protocol.h"
#include "residue/protocols/registry.h"
#include "residue/random/csprng.h"
#include "residue/random/hmac_drbg.h"
#include "residue/wire/report_codec.h"

namespace residue {
namespace {

struct Cost {
  double cpu_us = 0, wall_us = 0;
};

// Runs `body` `n` times; CPU time of the whole process (fsync waits are not CPU) and wall time.
Cost measure(int n, const std::function<void(int)>& body) {
  timespec cpu0{}, cpu1{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
  const auto wall0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) body(i);
  const auto wall1 = std::chrono::steady_clock::now();
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
  const double cpu = double(cpu1.tv_sec - cpu0.tv_sec) + 1e-9 * double(cpu1.tv_nsec - cpu0.tv_nsec);
  return {1e6 * cpu / n, 1e6 * std::chrono::duration<double>(wall1 - wall0).count() / n};
}

std::string micros(double us) {
  return format_number(us, 3);
}

void run(bool smoke) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("residue_client_bench." + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const int encodes = smoke ? 200 : 20000;
  const int records = smoke ? 20 : 2000;  // each record is an fsync: milliseconds on most disks
  Table t({"task", "bytes", "encode cpu us", "memoized cpu us", "append wall us", "record cpu us",
           "record wall us", "record/append wall"});
  for (const char* name : {"mss", "ss", "grr"}) {
    const ProtocolParams params = complete_params({.protocol = name, .k = 10000, .epsilon = 2});
    const ClientProtocol p = make_client_protocol(params);
    const ReportCodec codec(p.shape);
    Csprng rng;
    Report report;
    const Cost encode = measure(
        encodes, [&](int i) { p.encoder->encode(static_cast<uint32_t>(i % 10000), rng, report); });
    const std::vector<uint8_t> secret(32, 7);
    const Cost memoized = measure(encodes, [&](int i) {
      const std::vector<uint8_t> personalization = {static_cast<uint8_t>(i),
                                                    static_cast<uint8_t>(i >> 8)};
      HmacDrbg memo(secret, params_hash(params), personalization);
      p.encoder->encode(static_cast<uint32_t>(i % 10000), memo, report);
    });
    const std::vector<uint8_t> bytes = codec.to_bytes(report);

    const std::filesystem::path raw = dir / (std::string(name) + ".raw");
    const int fd = ::open(raw.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) throw Error("cannot open " + raw.string());
    const Cost append = measure(records, [&](int) {
      if (::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()) ||
          ::fsync(fd) != 0) {
        throw Error("cannot append to " + raw.string());
      }
    });
    ::close(fd);

    const std::filesystem::path state = dir / name;
    std::filesystem::create_directories(state);
    const nlohmann::json task = {{"name", name},
                                 {"params", to_json(params)},
                                 {"params_hash", to_hex(params_hash(params))},
                                 {"domain", {{"kind", "size"}}}};
    std::ofstream(state / (std::string("task-") + name + ".json")) << task.dump();
    std::unique_ptr<Client> client = Client::open({.url = "http://127.0.0.1:9",
                                                   .token = "bench",
                                                   .task = name,
                                                   .state_dir = state,
                                                   .max_epsilon = 2});
    const Cost record = measure(records, [&](int i) {
      if (client->record_index(static_cast<uint32_t>(i % 10000)) != Status::kOk) {
        throw Error("record: " + client->last_error());
      }
    });
    t.add({p.id, std::to_string(bytes.size()), micros(encode.cpu_us), micros(memoized.cpu_us),
           micros(append.wall_us), micros(record.cpu_us), micros(record.wall_us),
           format_number(record.wall_us / append.wall_us, 3)});
  }
  std::filesystem::remove_all(dir);
  std::cout << "## Recording on the device (k = 10,000, eps = 2; " << records
            << " records, fsync each)\n\n";
  t.print(std::cout);
}

}  // namespace
}  // namespace residue

int main(int argc, char** argv) {
  const bool smoke = argc > 1 && std::strcmp(argv[1], "--smoke") == 0;
  try {
    residue::run(smoke);
  } catch (const std::exception& e) {
    std::cerr << "residue_client_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

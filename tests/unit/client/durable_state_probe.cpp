// A client's life in a few calls, for durable_state_test.sh to watch under strace: every call
// here creates or replaces a state file. Open creates device.secret and queue.key and fetches
// the task (task-words.json); a memoized record spends budget (budget-words) and remembers the
// task version (memo-words); an acknowledged flush compacts the queue (queue-words); a refresh
// caches the task again. The daemon is a FakeDaemon in this process.
//   durable_state_probe STATE_DIR
#include <iostream>

#include "residue/client/client.h"
#include "residue/protocols/registry.h"
#include "support/client_fixture.h"
#include "support/fake_daemon.h"

int main(int argc, char** argv) {
  using namespace residue;
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " STATE_DIR\n";
    return 2;
  }
  const std::string task = "words";
  const nlohmann::json description =
      testing::task_description(task, complete_params({.protocol = "grr", .k = 4, .epsilon = 1.0}),
                                std::vector<std::string>{"a", "b", "c", "d"});
  testing::FakeDaemon daemon(
      [&](const testing::FakeDaemon::Request& r) -> testing::FakeDaemon::Response {
        if (r.method == "GET") return {200, description.dump()};
        return {200, R"({"accepted": 1, "duplicate": false})"};
      });
  try {
    ClientOptions o = testing::offline_options(argv[1], task);
    o.url = daemon.url();
    o.memoize = Memoize::kPermanent;
    o.budget_reports = 10;
    auto client = Client::open(o);
    const bool ok = client->record("b") == Status::kOk && client->flush().status == Status::kOk &&
                    client->refresh_parameters() == Status::kOk;
    if (!ok) std::cerr << "durable_state_probe: " << client->last_error() << "\n";
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "durable_state_probe: " << e.what() << "\n";
    return 1;
  }
}

// The C ABI (residue_client.h), called as a C app calls it: option checks and the app's secret
// provider, with the codes and residue_last_error() messages a C app sees.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "residue/protocols/registry.h"
#include "residue_client.h"
#include "support/client_fixture.h"

namespace residue {
namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

const std::string kTask = "words";

// Options of a client of a cached GRR task in `state` that must not reach a daemon.
residue_client_options_t offline_c_options(const std::string& state) {
  testing::write_cached_task(state, kTask,
                             complete_params({.protocol = "grr", .k = 4, .epsilon = 1.0}),
                             std::vector<std::string>{"a", "b", "c", "d"});
  residue_client_options_t o;
  residue_client_options_init(&o);
  o.url = "http://127.0.0.1:9";
  o.token = "test-token";
  o.task = kTask.c_str();
  o.state_dir = state.c_str();
  return o;
}

// Issue 12, item 5: the C ABI passed budget_period_seconds on unchecked, and a period of zero
// or below disabled the on-device budget.
TEST_CASE("issue 12: C client refuses a budget period of zero or below", "[client][c_api]") {
  testing::TempDir dir;
  const std::string state = (dir.path() / "state").string();
  residue_client_options_t o = offline_c_options(state);
  o.budget_reports = 1;
  for (const int64_t period : {int64_t{0}, int64_t{-86400}}) {
    o.budget_period_seconds = period;
    residue_client_t* client = nullptr;
    CHECK(residue_client_create(&client, &o) == RESIDUE_E_INVALID);
    CHECK(client == nullptr);
    CHECK_THAT(residue_last_error(),
               Contains("budget_period_seconds") && Contains("is " + std::to_string(period)));
  }
}

// A keystore for the C provider: fills each secret with its own byte, or fails with `code`.
struct Keystore {
  int code = 0;
  std::vector<std::string> asked;
};

int keystore_provider(void* context, const char* name, uint8_t* out, size_t size) {
  Keystore& k = *static_cast<Keystore*>(context);
  k.asked.push_back(name);
  if (k.code != 0) return k.code;
  std::fill(out, out + size, std::string(name) == "device.secret" ? 7 : 9);
  return 0;
}

// Issue 12, item 6: a C app can keep the client's secrets in the platform keystore.
TEST_CASE("issue 12: C client takes its secrets from the app's provider and writes none",
          "[client][c_api]") {
  testing::TempDir dir;
  const std::string state = (dir.path() / "state").string();
  residue_client_options_t o = offline_c_options(state);
  Keystore keystore;
  o.memoize = RESIDUE_MEMOIZE_PERMANENT;
  o.secrets = RESIDUE_SECRETS_APP_ONLY;
  o.secret_provider = keystore_provider;
  o.secret_provider_context = &keystore;
  residue_client_t* client = nullptr;
  REQUIRE(residue_client_create(&client, &o) == RESIDUE_OK);
  CHECK(residue_client_record(client, "c") == RESIDUE_OK);
  residue_client_destroy(client);
  CHECK(keystore.asked == std::vector<std::string>{"device.secret", "queue.key"});
  CHECK_FALSE(fs::exists(fs::path(state) / "device.secret"));
  CHECK_FALSE(fs::exists(fs::path(state) / "queue.key"));
  QueueKey key;
  key.fill(9);
  CHECK(testing::queued_reports(state, kTask, key).size() == 1);

  // A provider that fails: create fails, naming the secret and the provider's code.
  keystore.code = -42;
  CHECK(residue_client_create(&client, &o) == RESIDUE_E_OPEN);
  CHECK(client == nullptr);
  CHECK_THAT(residue_last_error(), Contains("device.secret") && Contains("-42"));
  // Without a provider, app-only secrets cannot be had: create fails rather than write a file.
  o.secret_provider = nullptr;
  CHECK(residue_client_create(&client, &o) == RESIDUE_E_OPEN);
  CHECK_THAT(residue_last_error(), Contains("kAppOnly") && Contains("device.secret"));
  CHECK_FALSE(fs::exists(fs::path(state) / "device.secret"));
}

}  // namespace
}  // namespace residue

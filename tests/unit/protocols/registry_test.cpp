// The registry: lookups, JSON round trips, the three tables name the same protocols, and
// every registered protocol has its test file and documentation page (STYLE: adding a
// protocol touches .h, .cpp, test, registry, doc).
#include "residue/protocols/registry.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "../../../lib/src/protocols/registry_internal.h"
#include "residue/core/domain.h"
#include "residue/core/error.h"

namespace residue {
namespace {

TEST_CASE("every registered protocol has a unit test and a doc page", "[registry]") {
  const std::filesystem::path root = RESIDUE_SOURCE_DIR;
  for (const ProtocolInfo& info : registered_protocols()) {
    INFO(info.name);
    CHECK(std::filesystem::exists(root / "lib/src/protocols" / (std::string(info.file) + ".cpp")));
    CHECK(std::filesystem::exists(root / "tests/unit/protocols" /
                                  (std::string(info.file) + "_test.cpp")));
    CHECK(std::filesystem::exists(root / "docs/protocols" / (std::string(info.name) + ".md")));
  }
}

TEST_CASE("the three registry tables name the same protocols, each row its own", "[registry]") {
  std::multiset<std::string_view> names, full, client;
  for (const ProtocolInfo& info : registered_protocols()) names.insert(info.name);
  for (const FactoryRow<ProtocolFactory>& row : protocol_factories()) full.insert(row.protocol);
  for (const FactoryRow<ClientProtocolFactory>& row : client_protocol_factories())
    client.insert(row.protocol);
  CHECK(std::set<std::string_view>(names.begin(), names.end()).size() == names.size());
  CHECK(full == names);
  CHECK(client == names);
  // A factory refuses params of another protocol, so a row keyed by the wrong name throws.
  for (const FactoryRow<ProtocolFactory>& row : protocol_factories()) {
    INFO(row.protocol);
    const ProtocolParams p =
        complete_params({.protocol = std::string(row.protocol), .k = 64, .epsilon = 1});
    CHECK(row.make(p).params() == p);
    CHECK(find_factory(client_protocol_factories(), row.protocol)(p).params == p);
  }
}

TEST_CASE("unknown protocols are named in the error with the known ones", "[registry]") {
  CHECK_THROWS_WITH(find_protocol("rappor"), Catch::Contains("rappor") && Catch::Contains("mss"));
}

TEST_CASE("protocol params round-trip through JSON with their versioned id", "[registry]") {
  const ProtocolParams p = complete_params({.protocol = "mss", .k = 100, .epsilon = 1.5});
  const nlohmann::json j = to_json(p);
  CHECK(j["id"] == "residue.mss.3");
  CHECK(params_from_json(j) == p);
  nlohmann::json bad = j;
  bad["id"] = "residue.mss.0";
  CHECK_THROWS_WITH(params_from_json(bad), Catch::Contains("residue.mss.0"));
  // Version 2 drew other subsets from the same stream (Floyd's algorithm): a daemon holding a
  // version-2 task refuses it at startup rather than mixing the two.
  bad["id"] = "residue.mss.2";
  CHECK_THROWS_WITH(params_from_json(bad), Catch::Contains("residue.mss.3"));
  bad = j;
  bad.erase("k");
  CHECK_THROWS_WITH(params_from_json(bad), Catch::Contains("\"k\""));
  bad = j;
  bad["epsilon"] = "high";
  CHECK_THROWS_WITH(params_from_json(bad), Catch::Contains("epsilon"));
}

TEST_CASE("the task hash covers the domain: a reordered dictionary is another task", "[registry]") {
  const ProtocolParams p = complete_params({.protocol = "grr", .k = 3, .epsilon = 1});
  const std::string abc = Domain::dictionary({"a", "b", "c"}).id();
  const std::string cba = Domain::dictionary({"c", "b", "a"}).id();
  CHECK(task_hash(p, "") == params_hash(p));  // tasks of bare indices keep their hash
  CHECK(task_hash(p, abc) != params_hash(p));
  CHECK(task_hash(p, abc) != task_hash(p, cba));
  CHECK(task_hash(p, abc) == task_hash(p, Domain::dictionary({"a", "b", "c"}).id()));
  ProtocolParams q = p;
  q.epsilon = 2;
  CHECK(task_hash(q, abc) != task_hash(p, abc));
}

}  // namespace
}  // namespace residue

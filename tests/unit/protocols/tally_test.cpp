// Tally: counting, merging, and refusing reports or tallies that do not fit.
#include "residue/protocols/tally.h"

#include <catch2/catch.hpp>

#include "residue/core/error.h"

namespace residue {
namespace {

const ReportShape kShape{{BlockShape{5, 2}, BlockShape{7, 3}}};

TEST_CASE("tally counts positions per block and reports per block", "[tally]") {
  Tally t("residue.test.1", kShape);
  t.add({.block = 0, .items = {1, 4}});
  t.add({.block = 1, .items = {0, 2, 6}});
  t.add({.block = 1, .items = {2, 3, 6}});
  CHECK(t.reports(0) == 1);
  CHECK(t.reports(1) == 2);
  CHECK(t.total_reports() == 3);
  CHECK(std::vector<uint64_t>(t.counts(0).begin(), t.counts(0).end()) ==
        std::vector<uint64_t>{0, 1, 0, 0, 1});
  CHECK(std::vector<uint64_t>(t.counts(1).begin(), t.counts(1).end()) ==
        std::vector<uint64_t>{1, 0, 2, 1, 0, 0, 2});
}

TEST_CASE("merged tallies equal one tally of all reports", "[tally]") {
  Tally a("residue.test.1", kShape), b("residue.test.1", kShape), all("residue.test.1", kShape);
  const std::vector<Report> reports = {{0, {0, 1}}, {1, {1, 2, 3}}, {0, {3, 4}}, {1, {0, 5, 6}}};
  for (std::size_t i = 0; i < reports.size(); ++i) {
    (i % 2 ? a : b).add(reports[i]);
    all.add(reports[i]);
  }
  a.merge(b);
  CHECK(a == all);
}

TEST_CASE("a batch is counted like its reports one by one, or not at all", "[tally]") {
  const std::vector<Report> reports = {{1, {1, 2, 3}}, {0, {0, 1}}, {1, {0, 5, 6}}, {0, {3, 4}}};
  Tally one_by_one("residue.test.1", kShape), batch("residue.test.1", kShape);
  for (const Report& r : reports) one_by_one.add(r);
  batch.add(reports);
  CHECK(batch == one_by_one);
  std::vector<Report> bad = reports;
  bad.push_back({0, {5}});
  CHECK_THROWS_WITH(batch.add(bad), Catch::Contains("report 4"));
  CHECK(batch == one_by_one);  // nothing of the bad batch was counted
}

TEST_CASE("tally rejects what does not fit its shape or protocol", "[tally]") {
  Tally t("residue.test.1", kShape);
  CHECK_THROWS_WITH(t.add({.block = 2, .items = {0}}), Catch::Contains("block 2"));
  CHECK_THROWS_WITH(t.add({.block = 0, .items = {5}}), Catch::Contains("position 5"));
  CHECK_THROWS_WITH(t.merge(Tally("residue.other.1", kShape)), Catch::Contains("residue.other.1"));
  CHECK_THROWS_WITH(t.merge(Tally("residue.test.1", ReportShape{{BlockShape{5, 2}}})),
                    Catch::Contains("shapes"));
  CHECK_THROWS_AS(Tally("residue.test.1", ReportShape{}), Error);
}

}  // namespace
}  // namespace residue

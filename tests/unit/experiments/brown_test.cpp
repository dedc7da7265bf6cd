// The Brown defaults of the experiments: a missing corpus says where it should be and how to
// fetch it.
#include "experiments/brown.h"

#include <catch2/catch.hpp>

namespace residue {
namespace {

TEST_CASE("corpus names the missing file", "[corpus]") {
  CHECK_THROWS_WITH(
      load_brown("/nonexistent/brown"),
      Catch::Contains("/nonexistent/brown/sentences.tsv") && Catch::Contains("scripts/fetch-data"));
}

}  // namespace
}  // namespace residue

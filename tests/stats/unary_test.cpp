// Statistical checks, seeded: the empirical MSE of SUE and OUE against their exact
// closed-form variance (docs/protocols/estimation.md, "Pure protocols", with each one's p
// and q), through testing::check_against_theory (4.5 standard errors, standard error under 2%
// of theory; see tests/stats/mse_test.cpp for the reasoning). These also exercise the binomial
// noise count and Floyd placement at realistic sizes: a wrong count distribution shows up as bias.
#include <catch2/catch.hpp>

#include "residue/protocols/registry.h"
#include "support/mse_trials.h"

namespace residue {
namespace {

Protocol unary(const std::string& name, uint32_t k, double eps) {
  return make_protocol({.protocol = name, .k = k, .epsilon = eps});
}

TEST_CASE("sue empirical mse matches the exact variance", "[stats][unary][sue]") {
  testing::check_against_theory(unary("sue", 256, 1.0), testing::zipf(256, 1.1), 10000, 201);
  testing::check_against_theory(unary("sue", 64, 3.0), testing::spike(64), 10000, 202);
}

TEST_CASE("oue empirical mse matches the exact variance", "[stats][unary][oue]") {
  testing::check_against_theory(unary("oue", 256, 1.0), testing::zipf(256, 1.1), 10000, 203);
  testing::check_against_theory(unary("oue", 64, 3.0), testing::spike(64), 10000, 204);
}

}  // namespace
}  // namespace residue

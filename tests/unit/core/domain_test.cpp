// Domain: dictionary lookups and their errors, and the keyed hash domain's determinism, key
// dependence, range and uniformity.
#include "residue/core/domain.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "residue/core/error.h"

namespace residue {
namespace {

using Catch::Matchers::Message;

std::vector<uint8_t> key_of(uint8_t first) {
  std::vector<uint8_t> key(32);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(first + i);
  return key;
}

// prefix + i, built by append: GCC 12 at -O3 raises a false -Wrestrict on "literal" + string.
std::string numbered(const char* prefix, int i) {
  std::string s = prefix;
  s += std::to_string(i);
  return s;
}

TEST_CASE("dictionary domain maps each value to its position and back", "[domain]") {
  const Domain words = Domain::dictionary({"apple", "pear", "fig"});
  REQUIRE(words.is_dictionary());
  REQUIRE(words.size() == 3);
  REQUIRE(words.index_of("apple") == 0);
  REQUIRE(words.index_of("pear") == 1);
  REQUIRE(words.index_of("fig") == 2);
  REQUIRE(words.find("fig") == 2u);
  REQUIRE_FALSE(words.find("kiwi").has_value());
  REQUIRE(words.value_at(1) == "pear");
}

TEST_CASE("dictionary domain rejects an unknown value by name", "[domain]") {
  const Domain words = Domain::dictionary({"apple", "pear"});
  REQUIRE_THROWS_MATCHES(words.index_of("kiwi"), Error,
                         Message("value \"kiwi\" is not in the dictionary domain (size 2)"));
  REQUIRE_THROWS_AS(words.value_at(2), Error);
}

TEST_CASE("dictionary domain rejects duplicates and too few values", "[domain]") {
  REQUIRE_THROWS_MATCHES(
      Domain::dictionary({"a", "b", "c", "a"}), Error,
      Message("value \"a\" appears twice in the dictionary (positions 0 and 3)"));
  REQUIRE_THROWS_AS(Domain::dictionary({}), Error);
  REQUIRE_THROWS_AS(Domain::dictionary({"only"}), Error);
}

TEST_CASE("hashed domain is deterministic for a key and in range", "[domain]") {
  const std::vector<uint8_t> key = key_of(1);
  const Domain a = Domain::hashed(1000, key);
  const Domain b = Domain::hashed(1000, key);
  REQUIRE_FALSE(a.is_dictionary());
  REQUIRE(a.size() == 1000);
  for (int i = 0; i < 1000; ++i) {
    const std::string value = numbered("https://example.com/page/", i);
    const uint32_t index = a.index_of(value);
    REQUIRE(index < 1000);
    REQUIRE(b.index_of(value) == index);
    REQUIRE(a.find(value) == index);
  }
  REQUIRE(a.index_of("") < 1000);
  REQUIRE(a.index_of("") == b.index_of(""));
  REQUIRE_THROWS_AS(a.value_at(0), Error);
}

TEST_CASE("hashed domains under different keys give different maps", "[domain]") {
  const Domain a = Domain::hashed(1 << 20, key_of(1));
  const Domain b = Domain::hashed(1 << 20, key_of(2));
  int same = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string value = numbered("v", i);
    if (a.index_of(value) == b.index_of(value)) ++same;
  }
  // Independent maps agree on a value with probability 2^-20: expected 0.001 of 1000.
  REQUIRE(same <= 1);
}

TEST_CASE("hashed domain spreads values uniformly", "[domain]") {
  // 200000 strings into k = 100 bins, 2000 expected per bin. The chi-square statistic has 99
  // degrees of freedom (mean 99, sd 14); P[chi2_99 > 200] is about 8e-9, so the bound only
  // trips on a real bias (and the key and strings are fixed, so the outcome is too).
  constexpr uint32_t kBins = 100;
  constexpr int kValues = 200000;
  const Domain domain = Domain::hashed(kBins, key_of(7));
  std::vector<int> counts(kBins, 0);
  for (int i = 0; i < kValues; ++i) ++counts[domain.index_of(numbered("item-", i))];
  const double expected = static_cast<double>(kValues) / kBins;
  double chi2 = 0;
  for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
  INFO("chi-square = " << chi2);
  REQUIRE(chi2 < 200);
}

TEST_CASE("hashed domain rejects a short key and a tiny k", "[domain]") {
  const std::vector<uint8_t> short_key(15, 0x42);
  REQUIRE_THROWS_MATCHES(Domain::hashed(100, short_key), Error,
                         Message("the hash key must have at least 16 bytes, but has 15."));
  REQUIRE_NOTHROW(Domain::hashed(100, std::vector<uint8_t>(16, 0x42)));
  REQUIRE_THROWS_MATCHES(Domain::hashed(1, key_of(1)), Error,
                         Message("k must be at least 2, but is 1."));
}

TEST_CASE("domain ids name the dictionary in order and the hash key", "[domain]") {
  // Known answers from Python: hashlib.sha256(b''.join(struct.pack('<I', len(v)) + v ...)).
  CHECK(Domain::dictionary({"apple", "pear"}).id() ==
        "dictionary:db31e0e072be83b1989440d2ed9f9d34e742bc63201b6dcff7a604e1f8d79f10");
  CHECK(Domain::dictionary({"pear", "apple"}).id() ==
        "dictionary:0800f081ae9f7aee6db3933f815cbc646a526433798d604bd87c21096ecb45c1");
  // Length prefixes: moving a character across a boundary is another dictionary.
  CHECK(Domain::dictionary({"ab", "c"}).id() != Domain::dictionary({"a", "bc"}).id());
  CHECK(Domain::hashed(100, std::vector<uint8_t>(16, 0x42)).id() ==
        "hashed:8da71b80cd4892eac5ee7ad9bd4afb409b4aa38e9248f9771c9ff297f2e896fb");
}

}  // namespace
}  // namespace residue

#include "residue/retrieval/candidate_units.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "residue/core/error.h"
#include "residue/lm/vocabulary.h"

namespace residue {
namespace {

// Words a..e and a comma; "z" is outside the vocabulary and becomes <unk>.
const Vocabulary& vocab() {
  static const Vocabulary v({"a", "b", "c", "d", "e", ","});
  return v;
}

std::vector<uint32_t> ids(const std::string& text) {
  std::vector<uint32_t> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t end = std::min(text.find(' ', pos), text.size());
    out.push_back(vocab().id(text.substr(pos, end - pos)));
    pos = end + 1;
  }
  return out;
}

std::vector<std::vector<uint32_t>> corpus() {
  return {ids("a b c"), ids("a b c"), ids("a b z c d"), ids("d e")};
}

}  // namespace

TEST_CASE("candidate units are the bigrams and trigrams of known words ranked by count",
          "[candidates]") {
  const CandidateUnits c = CandidateUnits::extract(corpus(), vocab());
  // a b: 3, b c: 2, a b c: 2, c d: 1, d e: 1; nothing crosses the <unk> "z" or a sentence end.
  REQUIRE(c.size() == 5);
  CHECK(c.text(0, vocab()) == "a b");
  CHECK(c.public_count(0) == 3);
  // Ties by word ids, a shorter unit before its extension: "a b c" < "b c", "c d" < "d e".
  CHECK(c.text(1, vocab()) == "a b c");
  CHECK(c.text(2, vocab()) == "b c");
  CHECK(c.public_count(2) == 2);
  CHECK(c.text(3, vocab()) == "c d");
  CHECK(c.text(4, vocab()) == "d e");
  CHECK(c.find(ids("a b c")) == 1u);
  CHECK(c.find(ids("b z")) == std::nullopt);
  CHECK(c.find(ids("e d")) == std::nullopt);
  CHECK(c.find(ids("a")) == std::nullopt);
}

TEST_CASE("candidate extraction keeps the top M and honours the length range", "[candidates]") {
  const CandidateUnits top2 = CandidateUnits::extract(corpus(), vocab(), {.max_units = 2});
  REQUIRE(top2.size() == 2);
  CHECK(top2.text(1, vocab()) == "a b c");
  const CandidateUnits bigrams =
      CandidateUnits::extract(corpus(), vocab(), {.max_units = 10, .max_length = 2});
  CHECK(bigrams.size() == 4);
  CHECK(bigrams.find(ids("a b c")) == std::nullopt);
  const CandidateUnits trigrams =
      CandidateUnits::extract(corpus(), vocab(), {.max_units = 10, .min_length = 3});
  REQUIRE(trigrams.size() == 1);
  CHECK(trigrams.text(0, vocab()) == "a b c");
  CHECK_THROWS_AS(CandidateUnits::extract(corpus(), vocab(), {.max_length = 4}), Error);
  CHECK_THROWS_AS(CandidateUnits::extract(corpus(), vocab(), {.max_units = 0}), Error);
  const std::vector<std::vector<uint32_t>> outside = {{0, 99}};
  CHECK_THROWS_AS(CandidateUnits::extract(outside, vocab()), Error);
}

TEST_CASE("punctuation splits candidate units unless asked otherwise", "[candidates]") {
  const std::vector<std::vector<uint32_t>> text = {ids("a , b"), ids("a , b c")};
  const CandidateUnits words = CandidateUnits::extract(text, vocab());
  REQUIRE(words.size() == 1);
  CHECK(words.text(0, vocab()) == "b c");
  const CandidateUnits all = CandidateUnits::extract(text, vocab(), {.words_only = false});
  CHECK(all.size() == 5);  // a ,  , b  a , b  b c  , b c
  CHECK(all.text(0, vocab()) == "a ,");
  CHECK(all.public_count(0) == 2);
}

TEST_CASE("occurrence counts include overlapping units", "[candidates]") {
  const CandidateUnits c = CandidateUnits::extract(corpus(), vocab());
  const std::vector<std::vector<uint32_t>> text = {ids("a b c d"), ids("z a b")};
  const std::vector<uint64_t> occ = c.count_occurrences(text);
  // a b twice, a b c once, b c once, c d once, d e never.
  CHECK(occ == std::vector<uint64_t>{2, 1, 1, 1, 0});
  // The same occurrences one by one, by start position, then length.
  CHECK(c.occurrences(text[0]) == std::vector<uint32_t>{0, 1, 2, 3});
  CHECK(c.occurrences(text[1]) == std::vector<uint32_t>{0});
}

TEST_CASE("a candidate list survives its binary form, and parse refuses bad bytes",
          "[candidates]") {
  const CandidateUnits c = CandidateUnits::extract(corpus(), vocab());
  const std::vector<uint8_t> bytes = c.serialize();
  ParseResult<CandidateUnits> r = CandidateUnits::parse(bytes, vocab().unknown());
  REQUIRE(r.ok());
  REQUIRE(r.value().size() == c.size());
  for (uint32_t id = 0; id < c.size(); ++id) {
    CHECK(std::ranges::equal(r.value().words(id), c.words(id)));
    CHECK(r.value().public_count(id) == c.public_count(id));
  }
  CHECK(r.value().serialize() == bytes);
  // Unit 0 is "a b" (ids 0, 1): with a vocabulary of one word, id 1 is not a word.
  r = CandidateUnits::parse(bytes, 1);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().offset == 8 + 1 + 4);
  std::vector<uint8_t> bad = bytes;
  bad[8] = 4;  // unit 0 of four words
  r = CandidateUnits::parse(bad, vocab().unknown());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().offset == 8);
  bad = bytes;
  bad.push_back(0);
  CHECK_FALSE(CandidateUnits::parse(bad, vocab().unknown()).ok());
  bad[0] = 0xff;  // a count far beyond the bytes
  r = CandidateUnits::parse(bad, vocab().unknown());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().offset == 0);
}

TEST_CASE("a candidate list read back checks its units", "[candidates]") {
  CHECK_NOTHROW(CandidateUnits({{1, 2}, {1, 2, 3}}, {5, 4}));
  CHECK_THROWS_AS(CandidateUnits({{1, 2}, {1, 2}}, {5, 4}), Error);  // repeated
  CHECK_THROWS_AS(CandidateUnits({{1}}, {5}), Error);                // too short
  CHECK_THROWS_AS(CandidateUnits({{1, 2, 3, 4}}, {5}), Error);       // too long
  CHECK_THROWS_AS(CandidateUnits({{1, 2}}, {5, 4}), Error);          // sizes differ
  CHECK_THROWS_AS(CandidateUnits({{1, CandidateUnits::kMaxWordId + 1}}, {5}), Error);
}

}  // namespace residue

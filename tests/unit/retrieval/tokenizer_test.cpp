#include "residue/retrieval/tokenizer.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "residue/core/error.h"
#include "residue/lm/vocabulary.h"
#include "residue/random/seeded_rng.h"

namespace residue {
namespace {

const Vocabulary& words() {
  static const Vocabulary v(
      {"new", "york", "city", "hall", "state", "a", "b", "c", "d", "x", "the"});
  return v;
}

std::vector<uint32_t> ids(const std::string& text) {
  return make_unit(0, text, words()).words;  // (make_unit also checks every word is known)
}

Token unit(int64_t id) {
  return {.is_unit = true, .id = id};
}
Token word(const std::string& w) {
  return {.is_unit = false, .id = words().id(w)};
}

}  // namespace

TEST_CASE("tokenizer takes the longest unit at each position", "[tokenizer]") {
  const Tokenizer tok({make_unit(1, "new york", words()), make_unit(2, "new york city", words())});
  CHECK(tok.max_length() == 3);
  CHECK(tok.tokenize(ids("new york city hall")) == std::vector<Token>{unit(2), word("hall")});
  CHECK(tok.tokenize(ids("new york state")) == std::vector<Token>{unit(1), word("state")});
  CHECK(tok.tokenize(ids("the new york")) == std::vector<Token>{word("the"), unit(1)});
  CHECK(tok.tokenize(ids("york new")) == std::vector<Token>{word("york"), word("new")});
  CHECK(tok.tokenize(std::vector<uint32_t>{}).empty());
}

TEST_CASE("tokenizer falls back when a longer unit only partly matches", "[tokenizer]") {
  // The trie walk passes "a b" (no unit) towards "a b c"; on "a b d" it must emit words.
  const Tokenizer tok({make_unit(5, "a b c", words()), make_unit(6, "b d", words())});
  CHECK(tok.tokenize(ids("a b d")) == std::vector<Token>{word("a"), unit(6)});
  CHECK(tok.tokenize(ids("a b c d")) == std::vector<Token>{unit(5), word("d")});
}

TEST_CASE("tokenizer resolves overlapping candidates left to right", "[tokenizer]") {
  const Tokenizer tok(
      {make_unit(1, "a b", words()), make_unit(2, "b c", words()), make_unit(3, "b c d", words())});
  // "a b" starts first and wins, although "b c d" is longer: greedy, not shortest overall.
  CHECK(tok.tokenize(ids("a b c d")) == std::vector<Token>{unit(1), word("c"), word("d")});
  CHECK(tok.tokenize(ids("x b c d")) == std::vector<Token>{word("x"), unit(3)});
  CHECK(tok.tokenize(ids("a b b c")) == std::vector<Token>{unit(1), unit(2)});
}

TEST_CASE("tokenization is reversible and never longer", "[tokenizer]") {
  SeededRng rng(17);
  // A small alphabet so that units match often, including repeats and overlaps.
  std::vector<VocabUnit> units;
  for (int64_t u = 0; u < 40; ++u) {
    VocabUnit unit{.id = 100 + u, .words = {}};
    const std::size_t length = 2 + rng.uniform(3);
    for (std::size_t i = 0; i < length; ++i)
      unit.words.push_back(static_cast<uint32_t>(rng.uniform(6)));
    bool duplicate = false;
    for (const VocabUnit& other : units) duplicate = duplicate || other.words == unit.words;
    if (!duplicate) units.push_back(unit);
  }
  const Tokenizer tok(units);
  std::vector<std::vector<uint32_t>> sequences;
  for (int s = 0; s < 200; ++s) {
    std::vector<uint32_t> seq(rng.uniform(30));
    for (uint32_t& w : seq) w = static_cast<uint32_t>(rng.uniform(6));
    const std::vector<Token> t = tok.tokenize(seq);
    REQUIRE(tok.detokenize(t) == seq);
    CHECK(t.size() <= seq.size());
    sequences.push_back(seq);
  }
  const LengthReduction r = measure_length_reduction(tok, sequences);
  CHECK(r.sequences == 200);
  CHECK(r.tokens < r.words);  // 40 units over 6 letters merge somewhere in 200 sequences
  CHECK(r.unit_tokens > 0);
  // Every unit token saves at least one word.
  CHECK(r.words - r.tokens >= r.unit_tokens);
  CHECK(r.reduction() ==
        Approx(1.0 - static_cast<double>(r.tokens) / static_cast<double>(r.words)));
}

TEST_CASE("length reduction counts words and tokens", "[tokenizer]") {
  const Tokenizer tok({make_unit(1, "new york", words())});
  const std::vector<std::vector<uint32_t>> seqs{ids("new york city"), ids("the new york"),
                                                ids("a b")};
  const LengthReduction r = measure_length_reduction(tok, seqs);
  CHECK(r.words == 8);
  CHECK(r.tokens == 6);
  CHECK(r.unit_tokens == 2);
  CHECK(r.reduction() == Approx(0.25));
  CHECK(LengthReduction{}.reduction() == 0.0);
}

TEST_CASE("tokenizer rejects invalid units and unknown tokens", "[tokenizer]") {
  CHECK_THROWS_AS(Tokenizer({make_unit(1, "a b", words()), make_unit(1, "b c", words())}), Error);
  CHECK_THROWS_AS(Tokenizer({make_unit(1, "a b", words()), make_unit(2, "a  b", words())}), Error);
  CHECK_THROWS_AS(Tokenizer({make_unit(1, "a", words())}), Error);
  CHECK_THROWS_AS(Tokenizer({make_unit(-1, "a b", words())}), Error);
  CHECK_THROWS_AS(make_unit(1, "new jersey", words()), Error);
  const Tokenizer tok({make_unit(1, "a b", words())});
  CHECK_THROWS_AS(tok.detokenize(std::vector<Token>{unit(2)}), Error);
  CHECK_THROWS_AS(tok.words_of(9), Error);
  CHECK(tok.words_of(1).size() == 2);
}

}  // namespace residue

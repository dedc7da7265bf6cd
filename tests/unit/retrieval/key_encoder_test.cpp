// KeyEncoder: the decayed, normalized sum by hand, sentence positions with <s>, errors.
#include "residue/retrieval/key_encoder.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "residue/core/error.h"

namespace residue {
namespace {

// Words 0, 1, 2 and <s> = 3 in two dimensions.
WordEmbeddings hand_embeddings() {
  return WordEmbeddings(4, 2, {1, 0, 0, 1, 0.6f, 0.8f, -1, 0});
}

void check_key(const std::vector<float>& key, double x, double y) {
  REQUIRE(key.size() == 2);
  // Floats from double sums: within 1e-7 relative.
  CHECK(key[0] == Approx(x).margin(1e-6));
  CHECK(key[1] == Approx(y).margin(1e-6));
}

TEST_CASE("key encoder sums the last window vectors with decay and normalizes", "[key_encoder]") {
  const KeyEncoder enc(hand_embeddings(), {.window = 2, .decay = 0.5f});
  CHECK(enc.dimension() == 2);
  CHECK(enc.bos() == 3);
  const std::vector<uint32_t> h1 = {1};
  check_key(enc.encode(h1), 0, 1);
  // e(1) + 0.5 e(0) = (0.5, 1) -> / sqrt(1.25)
  const std::vector<uint32_t> h01 = {0, 1};
  check_key(enc.encode(h01), 0.5 / std::sqrt(1.25), 1 / std::sqrt(1.25));
  // Only the last two count: 2 is too old.
  const std::vector<uint32_t> h201 = {2, 0, 1};
  check_key(enc.encode(h201), 0.5 / std::sqrt(1.25), 1 / std::sqrt(1.25));
  // Window 3, decay 1: e(2) + e(0) + e(1) = (1.6, 1.8).
  const KeyEncoder flat(hand_embeddings(), {.window = 3, .decay = 1.0f});
  const double n = std::hypot(1.6, 1.8);
  check_key(flat.encode(h201), 1.6 / n, 1.8 / n);
  // A zero sum stays zero: e(0) + e(<s>) = 0; so does an empty history.
  const std::vector<uint32_t> cancel = {3, 0};
  check_key(flat.encode(cancel), 0, 0);
  check_key(flat.encode(std::vector<uint32_t>{}), 0, 0);
}

TEST_CASE("key encoder keys sentence positions from their left context with <s>", "[key_encoder]") {
  const KeyEncoder enc(hand_embeddings(), {.window = 2, .decay = 0.5f});
  const std::vector<uint32_t> sentence = {0, 1, 2};
  const std::vector<float> keys = enc.encode_sentence(sentence);
  REQUIRE(keys.size() == 6);
  // Position 0: <s> alone = (-1, 0). Position 1: e(0) + 0.5 e(<s>) = (0.5, 0) -> (1, 0).
  // Position 2: e(1) + 0.5 e(0).
  check_key({keys[0], keys[1]}, -1, 0);
  check_key({keys[2], keys[3]}, 1, 0);
  check_key({keys[4], keys[5]}, 0.5 / std::sqrt(1.25), 1 / std::sqrt(1.25));

  const std::vector<std::vector<uint32_t>> two = {{0, 1, 2}, {2}};
  const std::vector<float> all = enc.encode_sentences(two);
  REQUIRE(all.size() == 8);
  CHECK(std::vector<float>(all.begin(), all.begin() + 6) == keys);
  check_key({all[6], all[7]}, -1, 0);  // a new sentence starts from <s> again
}

TEST_CASE("key encoder rejects bad options and ids", "[key_encoder]") {
  CHECK_THROWS_WITH(KeyEncoder(hand_embeddings(), {.window = 0}),
                    Catch::Contains("window must be at least 1"));
  CHECK_THROWS_WITH(KeyEncoder(hand_embeddings(), {.decay = 0.0f}),
                    Catch::Contains("decay must be in (0, 1]"));
  CHECK_THROWS_WITH(KeyEncoder(hand_embeddings(), {.decay = 1.5f}),
                    Catch::Contains("decay must be in (0, 1]"));
  const KeyEncoder enc(hand_embeddings());
  const std::vector<uint32_t> bad = {4};
  CHECK_THROWS_WITH(enc.encode(bad), Catch::Contains("id 4 is outside [0, 4)"));
  std::vector<float> small(1);
  CHECK_THROWS_WITH(enc.encode(bad, small), Catch::Contains("key needs 2 floats"));
  const std::vector<uint32_t> with_bos = {0, 3};
  CHECK_THROWS_WITH(enc.encode_sentence(with_bos),
                    Catch::Contains("position 1 has id 3, not below bos() = 3"));
}

}  // namespace
}  // namespace residue

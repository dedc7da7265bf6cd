#include "residue/vocab/vocab_file.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "residue/core/error.h"
#include "residue/random/seeded_rng.h"
#include "residue/search/threads.h"

namespace residue {
namespace {

std::vector<uint32_t> ids(const Vocabulary& vocab, const std::string& text) {
  return make_unit(0, text, vocab).words;
}

// A small vocabulary file: 4 candidates, random 4-float word vectors, a bigram map and the
// mean for trigrams, one round admitting "new york", "new york city" and "the a".
VocabFile small_file() {
  Vocabulary vocab({"new", "york", "city", "the", "a", "b"});
  CandidateUnits candidates({ids(vocab, "new york"), ids(vocab, "york city"),
                             ids(vocab, "new york city"), ids(vocab, "the a")},
                            {40, 30, 20, 10});
  SeededRng rng(9);
  std::vector<float> words(std::size_t{vocab.size()} * 4);
  for (float& x : words) x = static_cast<float>(rng.uniform01() - 0.5);
  UnitMap bigram{.length = 2, .weights = Eigen::MatrixXf(9, 4)};
  for (Eigen::Index i = 0; i < 9; ++i) {
    for (Eigen::Index j = 0; j < 4; ++j) bigram.weights(i, j) = static_cast<float>(rng.uniform01());
  }
  UnitEmbedder embedder(4, words, {bigram, UnitMap{.length = 3, .weights = {}}},
                        {MapFit{.length = 2,
                                .units = 100,
                                .held_out = 20,
                                .ridge = 1e-3,
                                .heldout_cosine_map = 0.6,
                                .heldout_cosine_mean = 0.4,
                                .train_cosine_map = 0.7,
                                .linear = true},
                         MapFit{.length = 3, .units = 5}});
  VocabParams params;
  params.corpus = "data/brown";
  params.vocab_words = 6;
  params.candidates.max_units = 4;
  params.split_seed = 7;
  params.admission = {.z = 3, .max_units = 10};
  VocabFile f{.params = params,
              .vocab = std::move(vocab),
              .candidates = std::move(candidates),
              .embedder = std::move(embedder),
              .builder = {},
              .index = VocabFile::new_index(4)};
  const std::vector<double> frequencies = {0.4, 0.01, 0.2, 0.3};
  auto se = [](std::span<const uint32_t> units) { return std::vector<double>(units.size(), 0.02); };
  f.builder.add_round(frequencies, se, f.params.admission,
                      {.kind = "simulated", .description = "eps=2", .epsilon = 2, .reports = 1000});
  f.sync_index();
  return f;
}

}  // namespace

TEST_CASE("a vocabulary file round-trips every part", "[vocab_file]") {
  set_search_threads(1);
  const VocabFile f = small_file();
  REQUIRE(f.index.ids() == std::vector<int64_t>{0, 2, 3});
  const std::vector<uint8_t> bytes = f.serialize();
  ParseResult<VocabFile> parsed = VocabFile::parse(bytes);
  REQUIRE(parsed.ok());
  const VocabFile& g = parsed.value();
  CHECK(g.params.corpus == "data/brown");
  CHECK(g.params.split_seed == 7);
  CHECK(g.params.candidates.max_units == 4);
  CHECK(g.params.admission.z == 3);
  CHECK(g.params.embedding.ridges == f.params.embedding.ridges);
  CHECK(g.vocab.words() == f.vocab.words());
  REQUIRE(g.candidates.size() == 4);
  CHECK(g.candidates.text(2, g.vocab) == "new york city");
  CHECK(g.candidates.public_count(3) == 10);
  CHECK(g.embedder.word_vectors() == f.embedder.word_vectors());
  REQUIRE(g.embedder.maps().size() == 2);
  CHECK(g.embedder.maps()[0].weights == f.embedder.maps()[0].weights);
  CHECK(g.embedder.maps()[1].weights.size() == 0);
  CHECK(g.embedder.fits()[0].heldout_cosine_map == 0.6);
  CHECK(g.builder.admitted() == f.builder.admitted());
  CHECK(g.builder.log() == f.builder.log());
  for (int64_t id : f.index.ids()) CHECK(g.index.reconstruct(id) == f.index.reconstruct(id));
  // The embedding of a unit is the embedder's.
  CHECK(g.index.reconstruct(0) == g.embedder.embed(g.candidates.words(0)));
  CHECK(g.serialize() == bytes);
}

TEST_CASE("a malformed vocabulary file gives an error with its offset", "[vocab_file]") {
  set_search_threads(1);
  const std::vector<uint8_t> bytes = small_file().serialize();
  // Every truncation fails cleanly, at an offset inside the file.
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    ParseResult<VocabFile> r = VocabFile::parse(std::span(bytes).first(n));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().offset <= bytes.size());
  }
  ParseResult<VocabFile> empty = VocabFile::parse({});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().message.find("magic") != std::string::npos);

  std::vector<uint8_t> version = bytes;
  version[8] = 9;
  ParseResult<VocabFile> v = VocabFile::parse(version);
  REQUIRE_FALSE(v.ok());
  CHECK(v.error().offset == 8);
  CHECK(v.error().message.find("version 9") != std::string::npos);

  // A flipped low mantissa bit of the first word-vector float: every field still parses, the
  // checksum does not match.
  auto u64_at = [&](std::size_t at) {
    uint64_t value = 0;
    for (std::size_t i = 0; i < 8; ++i) value |= uint64_t{bytes[at + i]} << (8 * i);
    return static_cast<std::size_t>(value);
  };
  std::size_t pos = 20 + u64_at(12);  // past the JSON
  const std::size_t ncandidates = u64_at(pos);
  pos += 8;
  for (std::size_t i = 0; i < ncandidates; ++i) pos += 1 + 4 * std::size_t{bytes[pos]} + 8;
  std::vector<uint8_t> flipped = bytes;
  flipped[pos + 8] ^= 0x01;  // past rows and dimension
  ParseResult<VocabFile> c = VocabFile::parse(flipped);
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().message.find("checksum") != std::string::npos);
  CHECK(c.error().offset == bytes.size() - 16);

  std::vector<uint8_t> trailing = bytes;
  trailing.insert(trailing.end() - 16, 0);
  CHECK_FALSE(VocabFile::parse(trailing).ok());

  // Errors from read() name the file and the byte.
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / "residue_vocab_file_test.vocab";
  {
    std::FILE* out = std::fopen(path.c_str(), "wb");
    REQUIRE(out != nullptr);
    std::fwrite(version.data(), 1, version.size(), out);
    std::fclose(out);
  }
  try {
    (void)VocabFile::read(path);
    FAIL("read() accepted a file of version 9");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find(path.string()) != std::string::npos);
    CHECK(m.find("at byte 8") != std::string::npos);
  }
  small_file().write(path);
  CHECK(VocabFile::read(path).index.size() == 3);
  std::filesystem::remove(path);
  CHECK_THROWS_AS(VocabFile::read(path), Error);
}

TEST_CASE("tokenization with the admitted units is longest-match and reversible", "[vocab_file]") {
  set_search_threads(1);
  const VocabFile f = small_file();
  const Tokenizer tok = f.tokenizer();
  CHECK(tok.size() == 3);  // "york city" (0.01) was not admitted
  const std::vector<uint32_t> words = ids(f.vocab, "the a new york city york city new york b");
  const std::vector<Token> tokens = tok.tokenize(words);
  const std::vector<Token> expected = {{true, 3},
                                       {true, 2},
                                       {false, f.vocab.id("york")},
                                       {false, f.vocab.id("city")},
                                       {true, 0},
                                       {false, f.vocab.id("b")}};
  CHECK(tokens == expected);
  CHECK(tok.detokenize(tokens) == words);
}

}  // namespace residue

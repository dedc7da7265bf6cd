// The public pieces and positions on the tiny Brown corpus, and a memory built from exact
// counts that reproduces them through the file and the decoder.
#include "residue/memory/memory_setup.h"

#include <catch2/catch.hpp>
#include <map>
#include <utility>
#include <vector>

#include "residue/memory/memory.h"
#include "residue/memory/memory_builder.h"
#include "residue/memory/memory_decoder.h"
#include "residue/search/threads.h"
#include "support/tiny_memory.h"

namespace residue {
namespace {

TEST_CASE("positions hold each token with its context's key, cell and LM context",
          "[memory_setup]") {
  set_search_threads(1);
  const Corpus corpus = testing::tiny_corpus();
  const PublicModel pub = build_public_model(corpus, testing::tiny_build_options().public_options);
  CHECK(pub.vocab.size() == 21);
  CHECK(pub.codebook.cells() == 2);
  CHECK(pub.encoder.dimension() == 4);
  const std::vector<std::vector<uint32_t>> sentences = sentence_ids(corpus.domain(), pub.vocab);
  const Positions p = positions_of(sentences, pub.encoder, pub.codebook);
  REQUIRE(p.size() == token_count(corpus.domain()));
  std::size_t i = 0;
  for (const std::vector<uint32_t>& s : sentences) {
    std::vector<uint32_t> history = {pub.encoder.bos()};
    for (std::size_t j = 0; j < s.size(); ++j, ++i) {
      CHECK(p.tokens[i] == s[j]);
      CHECK(p.prev1[i] == (j >= 1 ? s[j - 1] : pub.lm.bos()));
      CHECK(p.prev2[i] == (j >= 2 ? s[j - 2] : pub.lm.bos()));
      const std::vector<float> key = pub.encoder.encode(history);
      CHECK(std::vector<float>(p.keys.begin() + static_cast<std::ptrdiff_t>(i * 4),
                               p.keys.begin() + static_cast<std::ptrdiff_t>(i * 4 + 4)) == key);
      CHECK(p.cells[i] == pub.codebook.cell(key));
      history.push_back(s[j]);
    }
  }
}

TEST_CASE("a memory built from exact counts on a tiny corpus reproduces those counts",
          "[memory_setup]") {
  set_search_threads(1);
  const Corpus corpus = testing::tiny_corpus();
  const PublicModel pub = build_public_model(corpus, testing::tiny_build_options().public_options);
  const DomainSplit split = corpus.split_domain(1);
  // The counts by hand: each client position's (cell of its context, token).
  std::map<std::pair<uint32_t, uint32_t>, uint64_t> expected;
  uint64_t positions = 0;
  for (const std::vector<uint32_t>& s : sentence_ids(split.client, pub.vocab)) {
    std::vector<uint32_t> history = {pub.encoder.bos()};
    for (uint32_t w : s) {
      ++expected[{pub.codebook.cell(pub.encoder.encode(history)), w}];
      history.push_back(w);
      ++positions;
    }
  }
  REQUIRE(positions > 0);
  const Positions client = positions_of(split.client, pub.vocab, pub.encoder, pub.codebook);
  const std::vector<uint64_t> joint = joint_counts(client, 2, pub.vocab.size());
  const std::vector<uint64_t> unigram = token_counts(client, pub.vocab.size());

  MemoryArm arm;
  arm.name = "nonprivate";
  arm.kind = ArmKind::kCells;
  arm.counts = MemoryBuilder(2, pub.vocab.size()).from_counts(joint);
  arm.hyper.alpha = 0;
  MemoryInfo info;
  info.source = "simulated";
  info.default_arm = "nonprivate";
  const Memory written(info, pub.vocab.words(), pub.encoder.embeddings(), pub.codebook, {arm});
  ParseResult<Memory> read = Memory::parse(written.serialize());
  REQUIRE(read.ok());
  const Memory& m = read.value();
  const MemoryDecoder decoder(m.codebook(), m.arm("nonprivate"), m.tokens());
  const uint32_t tokens = m.tokens();
  for (uint32_t c = 0; c < 2; ++c) {
    uint64_t total = 0;
    for (uint32_t t = 0; t < tokens; ++t) {
      const auto it = expected.find({c, t});
      total += it == expected.end() ? 0 : it->second;
    }
    for (uint32_t t = 0; t < tokens; ++t) {
      const auto it = expected.find({c, t});
      const uint64_t count = it == expected.end() ? 0 : it->second;
      CHECK(joint[c * tokens + t] == count);
      CHECK(m.arm("nonprivate").counts[c * tokens + t] == static_cast<double>(count));
      if (total > 0) {
        CHECK(decoder.row_probability(c, t, 0) ==
              Approx(static_cast<double>(count) / static_cast<double>(total)));
      }
    }
  }
  uint64_t sum = 0;
  for (uint64_t u : unigram) sum += u;
  CHECK(sum == positions);
  Positions bad;
  bad.tokens = {0};
  bad.cells = {5};
  CHECK_THROWS_WITH(joint_counts(bad, 2, tokens), Catch::Contains("has cell 5 and token 0"));
}

}  // namespace
}  // namespace residue

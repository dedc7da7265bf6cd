// Corpus: loading the TSV (tests/data/brown_tiny, whose domain is "learned"), malformed files,
// the domain split.
#include "residue/retrieval/corpus.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "residue/core/error.h"

namespace residue {
namespace {

const std::filesystem::path kTiny = std::filesystem::path(RESIDUE_TEST_DATA_DIR) / "brown_tiny";

/// A scratch directory holding sentences.tsv with `content`; removed on destruction.
class ScratchCorpus {
 public:
  explicit ScratchCorpus(const std::string& content)
      : dir_(std::filesystem::temp_directory_path() /
             ("residue_corpus_test_" + std::to_string(reinterpret_cast<std::uintptr_t>(this)))) {
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "sentences.tsv", std::ios::binary) << content;
  }
  ~ScratchCorpus() { std::filesystem::remove_all(dir_); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

std::string load_error(const std::string& content) {
  ScratchCorpus scratch(content);
  try {
    Corpus::load(scratch.dir(), "learned");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

/// A one-word document "d<i>". (Built with += because GCC 12 warns falsely about
/// "d" + std::to_string(i) under -O3, -Wrestrict.)
Document numbered(int i, const char* category) {
  std::string id = "d";
  id += std::to_string(i);
  return {id, category, {{"w"}}};
}

std::vector<std::string> ids(const std::vector<Document>& documents) {
  std::vector<std::string> out;
  for (const Document& d : documents) out.push_back(d.id);
  return out;
}

TEST_CASE("corpus loads the tiny Brown file into general and domain documents", "[corpus]") {
  const Corpus c = Corpus::load(kTiny, "learned");
  CHECK(ids(c.general()) == std::vector<std::string>{"ca01", "ca02", "ck01"});
  CHECK(ids(c.domain()) == std::vector<std::string>{"cj01", "cj02", "cj03", "cj04", "cj05"});
  REQUIRE(c.general()[0].sentences.size() == 2);
  CHECK(c.general()[0].category == "news");
  CHECK(c.general()[0].sentences[1] ==
        Sentence{"the", "city", "council", "met", "on", "monday", "."});
  CHECK(token_count(c.general()) == 10 + 7 + 8 + 8 + 10);
  CHECK(token_count(c.domain()) == 9 + 8 + 8 + 7 + 9 + 8 + 8);
  const std::vector<std::string> tokens = tokens_of(c.domain());
  CHECK(tokens.size() == token_count(c.domain()));
  CHECK(tokens.front() == "the");
  CHECK(tokens.back() == ".");
}

TEST_CASE("corpus maps sentences to vocabulary ids", "[corpus]") {
  const Corpus c = Corpus::load(kTiny, "learned");
  const Vocabulary vocab(std::vector<std::string>{"the", "."});
  const auto sentences = sentence_ids(c.general(), vocab);
  REQUIRE(sentences.size() == 5);
  const uint32_t unk = vocab.unknown();
  CHECK(sentences[1] == std::vector<uint32_t>{0, unk, unk, unk, unk, unk, 1});
}

TEST_CASE("corpus domain split is 60/20/20 by document, disjoint and reproducible", "[corpus]") {
  std::vector<Document> docs;
  for (int i = 0; i < 80; ++i) {
    docs.push_back(numbered(i, i % 2 == 0 ? "learned" : "news"));
  }
  for (int i = 80; i < 120; ++i) docs.push_back(numbered(i, "learned"));
  const Corpus c(docs, "learned");
  REQUIRE(c.domain().size() == 80);
  const DomainSplit a = c.split_domain(7);
  CHECK(a.client.size() == 48);
  CHECK(a.tuning.size() == 16);
  CHECK(a.test.size() == 16);
  std::set<std::string> all;
  for (const auto* part : {&a.client, &a.tuning, &a.test}) {
    for (const Document& d : *part) {
      CHECK(d.category == "learned");
      all.insert(d.id);
    }
  }
  CHECK(all.size() == 80);  // every domain document once

  const DomainSplit again = c.split_domain(7);
  CHECK(ids(again.client) == ids(a.client));
  CHECK(ids(again.test) == ids(a.test));
  // Another seed shuffles differently (80! orders: a collision would be a bug).
  CHECK(ids(c.split_domain(8).client) != ids(a.client));
  // Shuffled, not the file order.
  std::vector<std::string> sorted_client = ids(a.client);
  CHECK_FALSE(std::is_sorted(sorted_client.begin(), sorted_client.end()));
}

TEST_CASE("corpus split of a tiny domain keeps every part non-empty", "[corpus]") {
  const Corpus c = Corpus::load(kTiny, "learned");
  const DomainSplit s = c.split_domain(1);
  CHECK(s.client.size() == 3);
  CHECK(s.tuning.size() == 1);
  CHECK(s.test.size() == 1);
  const Corpus small({{"a", "learned", {{"x"}}}, {"b", "learned", {{"y"}}}}, "learned");
  CHECK_THROWS_WITH(small.split_domain(1), Catch::Contains("at least 3 domain documents"));
}

TEST_CASE("corpus rejects malformed lines naming the line", "[corpus]") {
  CHECK_THAT(load_error(""), Catch::Contains("is empty"));
  CHECK_THAT(load_error("news\tca01\tthe cat .\nnews\tca01 the dog .\n"),
             Catch::Contains("line 2: fewer than 3 fields"));
  CHECK_THAT(load_error("news\tca01\tthe\tcat\n"), Catch::Contains("line 1: more than 3 fields"));
  CHECK_THAT(load_error("news\tca01\t\n"), Catch::Contains("line 1: empty sentence"));
  CHECK_THAT(load_error("news\t\tthe cat\n"), Catch::Contains("empty document id"));
  CHECK_THAT(load_error("\tca01\tthe cat\n"), Catch::Contains("empty category"));
  CHECK_THAT(load_error("news\tca01\tthe  cat\n"), Catch::Contains("line 1: empty token"));
  CHECK_THAT(load_error("news\tca01\ta\n\nnews\tca01\tb\n"),
             Catch::Contains("line 2: fewer than 3 fields"));
  CHECK_THAT(load_error("news\tca01\ta\nnews\tca02\tb\nnews\tca01\tc\n"),
             Catch::Contains("line 3: document ca01 continues here but was interrupted after "
                             "line 1"));
  CHECK_THAT(load_error("news\tca01\ta\nfiction\tca01\tb\n"),
             Catch::Contains("line 2: document ca01 changes category from news to fiction"));
  // Windows line ends are accepted; the file's last line need not end in a newline.
  ScratchCorpus crlf("news\tca01\ta b\r\nlearned\tcj01\tc\r\nlearned\tcj02\td");
  const Corpus c = Corpus::load(crlf.dir(), "learned");
  CHECK(c.general()[0].sentences[0] == Sentence{"a", "b"});
  CHECK(ids(c.domain()) == std::vector<std::string>{"cj01", "cj02"});
}

TEST_CASE("corpus rejects duplicate document ids", "[corpus]") {
  CHECK_THROWS_WITH(Corpus({{"a", "news", {}}, {"a", "learned", {}}}, "learned"),
                    Catch::Contains("\"a\" appears twice"));
}

}  // namespace
}  // namespace residue

namespace residue {
namespace {

TEST_CASE("text_tokens lower-cases and splits punctuation off as the corpus does", "[retrieval]") {
  CHECK(text_tokens("Hello, World!  (New York)") ==
        std::vector<std::string>{"hello", ",", "world", "!", "(", "new", "york", ")"});
  CHECK(text_tokens("   ").empty());
}

}  // namespace
}  // namespace residue

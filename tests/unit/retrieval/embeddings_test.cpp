// WordEmbeddings: co-occurrence and PPMI by hand, the randomized SVD against exact
// decompositions, trained vectors (norms, determinism, shared contexts), the file format.
#include "residue/retrieval/embeddings.h"

#include <Eigen/Dense>
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "residue/core/error.h"
#include "residue/random/seeded_rng.h"

namespace residue {
namespace {

using Sentences = std::vector<std::vector<uint32_t>>;

TEST_CASE("embeddings count co-occurrences within the window, sentence start included",
          "[embeddings]") {
  // Vocabulary of 3, <s> = 3. Sentence 0 1 2 reads <s> 0 1 2.
  const Sentences one = {{0, 1, 2}};
  const Eigen::MatrixXd w1 = Eigen::MatrixXd(cooccurrence_counts(one, 3, 1));
  Eigen::MatrixXd expected = Eigen::MatrixXd::Zero(4, 4);
  expected(3, 0) = expected(0, 3) = 1;
  expected(0, 1) = expected(1, 0) = 1;
  expected(1, 2) = expected(2, 1) = 1;
  CHECK(w1 == expected);
  const Eigen::MatrixXd w2 = Eigen::MatrixXd(cooccurrence_counts(one, 3, 2));
  expected(3, 1) = expected(1, 3) = 1;
  expected(0, 2) = expected(2, 0) = 1;
  CHECK(w2 == expected);
  // A repeated word: <s> 0 0 gives (<s>, 0) twice at window 2 and the pair (0, 0) on the
  // diagonal once per direction; counts add over sentences.
  const Eigen::MatrixXd repeated =
      Eigen::MatrixXd(cooccurrence_counts(Sentences{{0, 0}, {0}}, 3, 2));
  CHECK(repeated(0, 0) == 2);
  CHECK(repeated(3, 0) == 3);
  CHECK(repeated(0, 3) == 3);
  CHECK(repeated.sum() == 8);
  CHECK_THROWS_WITH(cooccurrence_counts(Sentences{{0, 3}}, 3, 1),
                    Catch::Contains("sentence 0 position 1 has id 3"));
  CHECK_THROWS_WITH(cooccurrence_counts(one, 3, 0), Catch::Contains("window must be at least 1"));
}

TEST_CASE("embeddings ppmi matches the formula by hand", "[embeddings]") {
  // counts [[0, 2], [2, 1]]: row and column sums (2, 3).
  Eigen::MatrixXd dense(2, 2);
  dense << 0, 2, 2, 1;
  const Eigen::SparseMatrix<double> counts = dense.sparseView();
  // Plain PMI (a = 1): sum of context counts 5; PMI(0, 1) = log(2 * 5 / (2 * 3)) = log(5/3);
  // PMI(1, 1) = log(1 * 5 / (3 * 3)) < 0 is clipped; (0, 0) has no count.
  const Eigen::MatrixXd plain = Eigen::MatrixXd(ppmi(counts, 1.0));
  CHECK(plain(0, 1) == Approx(std::log(5.0 / 3)).margin(1e-15));
  CHECK(plain(1, 0) == Approx(std::log(5.0 / 3)).margin(1e-15));
  CHECK(plain(0, 0) == 0);
  CHECK(plain(1, 1) == 0);
  // Smoothed (a = 0.75): z = 2^0.75 + 3^0.75; PMI(0, 1) = log(2 z / (2 * 3^0.75)).
  const double z = std::pow(2.0, 0.75) + std::pow(3.0, 0.75);
  const Eigen::MatrixXd smoothed = Eigen::MatrixXd(ppmi(counts, 0.75));
  CHECK(smoothed(0, 1) == Approx(std::log(2 * z / (2 * std::pow(3.0, 0.75)))).margin(1e-15));
  CHECK(smoothed(1, 0) == Approx(std::log(2 * z / (3 * std::pow(2.0, 0.75)))).margin(1e-15));
  CHECK_THROWS_WITH(ppmi(counts, 0.0), Catch::Contains("context_smoothing must be in (0, 1]"));
}

/// An n x n matrix with singular values s_i = decay^i and random singular vectors.
Eigen::MatrixXd with_spectrum(Eigen::Index n, double decay, uint64_t seed) {
  SeededRng rng(seed);
  Eigen::MatrixXd g1(n, n), g2(n, n);
  for (Eigen::Index i = 0; i < n * n; ++i) {
    g1(i) = rng.uniform01() - 0.5;
    g2(i) = rng.uniform01() - 0.5;
  }
  const Eigen::MatrixXd u = Eigen::HouseholderQR<Eigen::MatrixXd>(g1).householderQ();
  const Eigen::MatrixXd v = Eigen::HouseholderQR<Eigen::MatrixXd>(g2).householderQ();
  Eigen::VectorXd s(n);
  for (Eigen::Index i = 0; i < n; ++i) s(i) = std::pow(decay, static_cast<double>(i));
  return u * s.asDiagonal() * v.transpose();
}

TEST_CASE("embeddings truncated svd is exact when the sketch covers the matrix", "[embeddings]") {
  const Eigen::MatrixXd a = with_spectrum(30, 0.9, 5);
  const TruncatedSvd svd = truncated_svd(a.sparseView(), 30, 0, 0, 1);
  const Eigen::JacobiSVD<Eigen::MatrixXd> exact(a);
  CHECK((svd.s - exact.singularValues()).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((svd.u * svd.s.asDiagonal() * svd.v.transpose() - a).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("embeddings truncated svd finds the top singular values of a larger matrix",
          "[embeddings]") {
  // 200 x 200 with s_i = 0.8^i: a rank-10 sketch with 10 extra directions and 4 power
  // iterations converges like (s_20 / s_9)^(2 * 4 + 1) = 0.8^99 ~ 3e-10: far below 1e-8.
  const Eigen::MatrixXd a = with_spectrum(200, 0.8, 9);
  const TruncatedSvd svd = truncated_svd(a.sparseView(), 10, 10, 4, 3);
  REQUIRE(svd.s.size() == 10);
  for (Eigen::Index i = 0; i < 10; ++i) {
    CHECK(svd.s(i) == Approx(std::pow(0.8, static_cast<double>(i))).epsilon(1e-8));
  }
  CHECK((svd.u.transpose() * svd.u - Eigen::MatrixXd::Identity(10, 10)).cwiseAbs().maxCoeff() <
        1e-12);
  // a v_i = s_i u_i
  CHECK((a * svd.v - svd.u * svd.s.asDiagonal()).cwiseAbs().maxCoeff() < 1e-8);
  CHECK_THROWS_WITH(truncated_svd(a.sparseView(), 0, 10, 4, 3), Catch::Contains("rank"));
  CHECK_THROWS_WITH(truncated_svd(a.sparseView(), 201, 10, 4, 3), Catch::Contains("rank"));
}

// the cat runs / the dog runs / a pear falls / a plum falls ...: cat and dog share every
// context, as do pear and plum; word 8 never occurs.
constexpr uint32_t kThe = 0, kCat = 1, kDog = 2, kRuns = 3, kA = 4, kPear = 5, kPlum = 6,
                   kFalls = 7, kNever = 8, kVocab = 9;

Sentences shared_context_corpus() {
  Sentences out;
  for (int i = 0; i < 20; ++i) {
    out.push_back({kThe, kCat, kRuns});
    out.push_back({kThe, kDog, kRuns});
    out.push_back({kA, kPear, kFalls});
    out.push_back({kA, kPlum, kFalls});
  }
  out.push_back({kThe, kCat, kFalls});  // a little asymmetry so that no two rows are equal
  return out;
}

double dot(std::span<const float> x, std::span<const float> y) {
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += double{x[i]} * y[i];
  return s;
}

TEST_CASE("embeddings put words with shared contexts together", "[embeddings]") {
  const Sentences corpus = shared_context_corpus();
  const WordEmbeddings e = WordEmbeddings::train(corpus, kVocab, {.dimension = 4});
  REQUIRE(e.rows() == kVocab + 1);
  REQUIRE(e.dimension() == 4);
  CHECK(e.bos() == kVocab);
  for (uint32_t id = 0; id < e.rows(); ++id) {
    const double norm = std::sqrt(dot(e.vector(id), e.vector(id)));
    // Unit rows in float (relative rounding ~1e-7); the unseen word is all zeros.
    CHECK(norm == Approx(id == kNever ? 0.0 : 1.0).margin(1e-6));
  }
  CHECK(dot(e.vector(kCat), e.vector(kDog)) > 0.9);
  CHECK(dot(e.vector(kPear), e.vector(kPlum)) > 0.9);
  CHECK(dot(e.vector(kCat), e.vector(kPear)) < 0.5);
  CHECK(dot(e.vector(kRuns), e.vector(kFalls)) < dot(e.vector(kCat), e.vector(kDog)));

  // The result is a function of the corpus, the options and the seed.
  const WordEmbeddings again = WordEmbeddings::train(corpus, kVocab, {.dimension = 4});
  CHECK(again.data() == e.data());
}

TEST_CASE("embeddings reject invalid options", "[embeddings]") {
  const Sentences corpus = shared_context_corpus();
  CHECK_THROWS_WITH(WordEmbeddings::train(corpus, kVocab, {.dimension = 0}),
                    Catch::Contains("dimension must be in [1, vocab_size + 1 = 10]"));
  CHECK_THROWS_WITH(WordEmbeddings::train(corpus, kVocab, {.dimension = 11}),
                    Catch::Contains("but is 11"));
  CHECK_THROWS_WITH(
      WordEmbeddings::train(corpus, kVocab, {.dimension = 4, .singular_value_power = -1}),
      Catch::Contains("singular_value_power"));
  CHECK_THROWS_WITH(WordEmbeddings(3, 2, std::vector<float>(5)), Catch::Contains("needs 6"));
  CHECK_THROWS_WITH(WordEmbeddings(1, 2, std::vector<float>(2)), Catch::Contains("rows"));
  CHECK_THROWS_WITH(WordEmbeddings(2, 1, {0.0f, NAN}), Catch::Contains("value 1 (row 1)"));
}

/// Little-endian uint32 at `offset`.
void put_u32(std::vector<uint8_t>& bytes, std::size_t offset, uint32_t x) {
  for (int i = 0; i < 4; ++i) bytes[offset + i] = static_cast<uint8_t>(x >> (8 * i));
}

TEST_CASE("embeddings files round trip with a fixed layout", "[embeddings]") {
  const WordEmbeddings e(2, 3, {1, 0, 0, 0.5f, -0.25f, 2});
  const std::vector<uint8_t> bytes = e.serialize();
  REQUIRE(bytes.size() == 20 + 6 * 4);
  CHECK(std::string(bytes.begin(), bytes.begin() + 8) == "RSDWEMBD");
  CHECK(std::vector<uint8_t>(bytes.begin() + 8, bytes.begin() + 20) ==
        std::vector<uint8_t>{1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0});
  // 0.5f = 0x3f000000, little-endian, at value 3.
  CHECK(std::vector<uint8_t>(bytes.begin() + 32, bytes.begin() + 36) ==
        std::vector<uint8_t>{0, 0, 0, 0x3f});
  const ParseResult<WordEmbeddings> parsed = WordEmbeddings::parse(bytes);
  REQUIRE(parsed.ok());
  CHECK(parsed.value().data() == e.data());

  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / "residue_embeddings_test.bin";
  e.write(file);
  CHECK(WordEmbeddings::read(file).data() == e.data());
  std::filesystem::remove(file);
}

TEST_CASE("embeddings files that are malformed are refused saying what and where", "[embeddings]") {
  const std::vector<uint8_t> good = WordEmbeddings(2, 3, {1, 0, 0, 0, 1, 0}).serialize();
  const auto error = [](const std::vector<uint8_t>& bytes) {
    const ParseResult<WordEmbeddings> r = WordEmbeddings::parse(bytes);
    REQUIRE_FALSE(r.ok());
    return r.error();
  };
  std::vector<uint8_t> b(good.begin(), good.begin() + 10);
  CHECK(error(b).message == "embeddings: truncated header: 10 bytes, need 20");
  CHECK(error(b).offset == 10);
  b = good;
  b[3] = 'X';
  CHECK(error(b).message == "embeddings: bad magic (expected \"RSDWEMBD\")");
  CHECK(error(b).offset == 3);
  b = good;
  put_u32(b, 8, 2);
  CHECK(error(b).message == "embeddings: unsupported version 2 (expected 1)");
  CHECK(error(b).offset == 8);
  b = good;
  put_u32(b, 16, 0);
  CHECK(error(b).message == "embeddings: zero columns");
  b = good;
  put_u32(b, 12, 1);
  put_u32(b, 16, 3);
  b.resize(20 + 12);
  CHECK(error(b).message == "embeddings: fewer than 2 rows");
  b = good;
  b.pop_back();
  CHECK(error(b).message == "embeddings: size 43 bytes, but the header implies 44");
  CHECK(error(b).offset == 43);
  b = good;
  put_u32(b, 12, 0x40000000);  // 2^30 rows: refused before allocating
  CHECK_THAT(error(b).message, Catch::Contains("implausible size"));
  b = good;
  put_u32(b, 20 + 4 * 4, std::bit_cast<uint32_t>(INFINITY));
  CHECK(error(b).message == "embeddings: value 4 (row 1) is not finite");
  CHECK(error(b).offset == 36);

  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / "residue_embeddings_bad.bin";
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  CHECK_THROWS_WITH(WordEmbeddings::read(file), Catch::Contains("value 4 (row 1) is not finite") &&
                                                    Catch::Contains(file.string()) &&
                                                    Catch::Contains("at byte 36"));
  std::filesystem::remove(file);
  CHECK_THROWS_WITH(WordEmbeddings::read("/nonexistent/e.bin"),
                    Catch::Contains("cannot open /nonexistent/e.bin"));
}

}  // namespace
}  // namespace residue

#include "residue/vocab/unit_embeddings.h"

#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "residue/core/error.h"
#include "residue/lm/vocabulary.h"
#include "residue/random/seeded_rng.h"
#include "residue/retrieval/candidate_units.h"
#include "residue/retrieval/corpus.h"

namespace residue {
namespace {

Eigen::MatrixXd gaussian(Eigen::Index rows, Eigen::Index cols, SeededRng& rng) {
  Eigen::MatrixXd m(rows, cols);
  for (Eigen::Index i = 0; i < rows; ++i) {
    for (Eigen::Index j = 0; j < cols; ++j) {
      // Box-Muller.
      const double u = 1.0 - rng.uniform01(), v = rng.uniform01();
      m(i, j) = std::sqrt(-2 * std::log(u)) * std::cos(6.283185307179586 * v);
    }
  }
  return m;
}

Eigen::VectorXd to_vector(const std::vector<float>& v) {
  Eigen::VectorXd out(static_cast<Eigen::Index>(v.size()));
  for (std::size_t i = 0; i < v.size(); ++i) out[static_cast<Eigen::Index>(i)] = v[i];
  return out;
}

}  // namespace

TEST_CASE("the least-squares map recovers a known affine map", "[unit_embeddings]") {
  SeededRng rng(3);
  const Eigen::MatrixXd x = gaussian(200, 6, rng);
  const Eigen::MatrixXd w = gaussian(7, 3, rng);  // last row: the bias
  const Eigen::MatrixXd y = x * w.topRows(6) + Eigen::VectorXd::Ones(200) * w.row(6);
  const Eigen::MatrixXd fitted = fit_affine_map(x, y, 0);
  CHECK((fitted - w).cwiseAbs().maxCoeff() < 1e-9);

  // With noise the fit is still close (200 rows, 7 unknowns per column: error ~0.01 / sqrt(200)
  // per coefficient); a ridge shrinks the weights but never the bias.
  const Eigen::MatrixXd noisy = y + 0.01 * gaussian(200, 3, rng);
  CHECK((fit_affine_map(x, noisy, 0) - w).cwiseAbs().maxCoeff() < 0.01);
  const Eigen::MatrixXd shrunk = fit_affine_map(x, y, 10.0);
  CHECK(shrunk.topRows(6).norm() < 0.2 * w.topRows(6).norm());
  CHECK((shrunk.row(6) - w.row(6)).norm() < 0.5 * w.row(6).norm() + 0.5);

  CHECK_THROWS_AS(fit_affine_map(x, y.topRows(10), 0), Error);
  CHECK_THROWS_AS(fit_affine_map(x, y, -1), Error);
}

TEST_CASE("a unit's vector comes from its length's map or the mean of its words",
          "[unit_embeddings]") {
  // Three words in 2 dimensions; a bigram map that swaps the first word's coordinates and
  // adds a bias; no trigram map (the mean).
  const std::vector<float> words = {1, 0, 0, 1, 0.6f, 0.8f};
  UnitMap bigram{.length = 2, .weights = Eigen::MatrixXf::Zero(5, 2)};
  bigram.weights(0, 1) = 1;  // y1 = x0
  bigram.weights(1, 0) = 1;  // y0 = x1
  bigram.weights(4, 0) = 3;  // + (3, 0)
  const UnitEmbedder e(2, words, {bigram, UnitMap{.length = 3, .weights = {}}}, {});
  CHECK(e.words() == 3);
  CHECK(e.embed(std::vector<uint32_t>{2}) == std::vector<float>{0.6f, 0.8f});
  // Bigram (0, 1): map gives (x1 + 3, x0) = (3, 1), normalized.
  const Eigen::VectorXd b = to_vector(e.embed(std::vector<uint32_t>{0, 1}));
  CHECK(b[0] == Approx(3 / std::sqrt(10.0)));
  CHECK(b[1] == Approx(1 / std::sqrt(10.0)));
  // Trigram: the mean (1.6, 1.8), normalized.
  const Eigen::VectorXd t = to_vector(e.embed(std::vector<uint32_t>{0, 1, 2}));
  CHECK(t[0] == Approx(1.6 / std::hypot(1.6, 1.8)));
  CHECK(t[1] == Approx(1.8 / std::hypot(1.6, 1.8)));

  CHECK_THROWS_AS(e.embed(std::vector<uint32_t>{}), Error);
  CHECK_THROWS_AS(e.embed(std::vector<uint32_t>{0, 3}), Error);
  CHECK_THROWS_AS(UnitEmbedder(2, {1, 0, 0}, {}, {}), Error);  // not a multiple of 2
  CHECK_THROWS_AS(UnitEmbedder(2, words, {bigram, bigram}, {}), Error);
  UnitMap wrong{.length = 3, .weights = Eigen::MatrixXf::Zero(5, 2)};
  CHECK_THROWS_AS(UnitEmbedder(2, words, {wrong}, {}), Error);
}

TEST_CASE("unit embeddings train on a tiny corpus and fall back to the mean", "[unit_embeddings]") {
  const Corpus brown = Corpus::load(RESIDUE_TEST_DATA_DIR "/brown_tiny", "learned");
  const Vocabulary vocab = Vocabulary::most_frequent(tokens_of(brown.general()), 30);
  const std::vector<std::vector<uint32_t>> sentences = sentence_ids(brown.general(), vocab);
  const CandidateUnits candidates = CandidateUnits::extract(sentences, vocab);
  UnitEmbeddingOptions options;
  // Only "the city" becomes a token: "city" occurs nowhere else (a zero vector), "the" does.
  options.public_units = 1;
  options.min_occurrences = 1;
  options.embedding.dimension = 4;
  const UnitEmbedder e = UnitEmbedder::train(sentences, vocab.size(), candidates, options);
  CHECK(e.dimension() == 4);
  CHECK(e.words() == vocab.size());
  // Far fewer than kMinMapUnits units per length: no map is fitted.
  REQUIRE(e.fits().size() == 2);
  for (const MapFit& f : e.fits()) CHECK_FALSE(f.linear);
  REQUIRE(candidates.text(0, vocab) == "the city");
  const std::vector<float> v = e.embed(candidates.words(0));
  double norm = 0;
  for (float x : v) norm += double{x} * x;
  CHECK(std::sqrt(norm) == Approx(1).epsilon(1e-5));
}

}  // namespace residue

#include "residue/vocab/unit_embeddings.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>

#include "residue/core/error.h"
#include "residue/core/format_double.h"
#include "residue/random/seeded_rng.h"
#include "residue/retrieval/candidate_units.h"
#include "residue/retrieval/tokenizer.h"

namespace residue {
namespace {

void normalize(Eigen::VectorXd& v) {
  const double norm = v.norm();
  if (norm > 0) v /= norm;
}

double cosine(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  const double na = a.norm(), nb = b.norm();
  return na > 0 && nb > 0 ? a.dot(b) / (na * nb) : 0.0;
}

// Mean cosine between predicted and learned vectors; `predict` maps an input row to a vector.
template <typename Predict>
double mean_cosine(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y, Predict predict) {
  if (x.rows() == 0) return 0;
  double sum = 0;
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    sum += cosine(predict(Eigen::VectorXd(x.row(i).transpose())), y.row(i).transpose());
  }
  return sum / static_cast<double>(x.rows());
}

Eigen::VectorXd apply(const Eigen::MatrixXd& w, const Eigen::VectorXd& x) {
  return w.topRows(x.size()).transpose() * x + w.row(x.size()).transpose();
}

Eigen::VectorXd mean_of_parts(const Eigen::VectorXd& x, Eigen::Index dimension) {
  Eigen::VectorXd m = Eigen::VectorXd::Zero(dimension);
  for (Eigen::Index p = 0; p < x.size(); p += dimension) m += x.segment(p, dimension);
  return m;
}

Eigen::MatrixXd take_rows(const Eigen::MatrixXd& m, std::span<const std::size_t> rows) {
  Eigen::MatrixXd out(static_cast<Eigen::Index>(rows.size()), m.cols());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out.row(static_cast<Eigen::Index>(i)) = m.row(static_cast<Eigen::Index>(rows[i]));
  }
  return out;
}

std::vector<std::size_t> range(std::size_t begin, std::size_t end) {
  std::vector<std::size_t> r;
  for (std::size_t i = begin; i < end; ++i) r.push_back(i);
  return r;
}

// Fits the map of one length. x: units x (length d), y: units x d, rows already shuffled.
std::pair<UnitMap, MapFit> fit_length(uint32_t length, const Eigen::MatrixXd& x,
                                      const Eigen::MatrixXd& y,
                                      const UnitEmbeddingOptions& options) {
  const auto units = static_cast<std::size_t>(x.rows());
  MapFit fit{.length = length, .units = units};
  UnitMap map{.length = length, .weights = {}};
  if (units < kMinMapUnits) return {map, fit};
  const Eigen::Index d = y.cols();
  auto held = static_cast<std::size_t>(std::llround(options.held_out * static_cast<double>(units)));
  held = std::clamp<std::size_t>(held, 1, units - 2);
  const std::size_t train = units - held;
  const std::size_t validation = std::max<std::size_t>(1, train / 5);
  const std::vector<std::size_t> fit_rows = range(0, train - validation),
                                 val_rows = range(train - validation, train),
                                 train_rows = range(0, train), held_rows = range(train, units);

  double best = -std::numeric_limits<double>::infinity();
  for (double ridge : options.ridges) {
    const Eigen::MatrixXd w = fit_affine_map(take_rows(x, fit_rows), take_rows(y, fit_rows), ridge);
    const double c = mean_cosine(take_rows(x, val_rows), take_rows(y, val_rows),
                                 [&](const Eigen::VectorXd& v) { return apply(w, v); });
    if (c > best) {
      best = c;
      fit.ridge = ridge;
    }
  }
  const Eigen::MatrixXd xt = take_rows(x, train_rows), yt = take_rows(y, train_rows);
  const Eigen::MatrixXd xh = take_rows(x, held_rows), yh = take_rows(y, held_rows);
  const Eigen::MatrixXd w = fit_affine_map(xt, yt, fit.ridge);
  auto by_map = [&](const Eigen::VectorXd& v) { return apply(w, v); };
  fit.held_out = held;
  fit.train_cosine_map = mean_cosine(xt, yt, by_map);
  fit.heldout_cosine_map = mean_cosine(xh, yh, by_map);
  fit.heldout_cosine_mean =
      mean_cosine(xh, yh, [&](const Eigen::VectorXd& v) { return mean_of_parts(v, d); });
  fit.linear = fit.heldout_cosine_map > fit.heldout_cosine_mean;
  if (fit.linear) map.weights = fit_affine_map(x, y, fit.ridge).cast<float>();
  return {map, fit};
}

}  // namespace

Eigen::MatrixXd fit_affine_map(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y, double ridge) {
  if (x.rows() != y.rows() || x.rows() == 0) {
    throw Error("fit_affine_map: x has " + std::to_string(x.rows()) + " rows and y " +
                std::to_string(y.rows()) + "; they must be equal and positive.");
  }
  if (!(ridge >= 0)) {
    throw Error("fit_affine_map: ridge must be >= 0, but is " + format_double(ridge) + ".");
  }
  const Eigen::Index n = x.rows(), p = x.cols();
  // [x 1; sqrt(ridge n) I 0] W = [y; 0]: ridge regression as one least-squares system.
  const Eigen::Index extra = ridge > 0 ? p : 0;
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(n + extra, p + 1);
  Eigen::MatrixXd b = Eigen::MatrixXd::Zero(n + extra, y.cols());
  a.topLeftCorner(n, p) = x;
  a.col(p).head(n).setOnes();
  b.topRows(n) = y;
  if (extra > 0) {
    a.bottomLeftCorner(p, p).diagonal().setConstant(std::sqrt(ridge * static_cast<double>(n)));
  }
  return a.colPivHouseholderQr().solve(b);
}

UnitEmbedder UnitEmbedder::train(std::span<const std::vector<uint32_t>> sentences,
                                 uint32_t vocab_size, const CandidateUnits& candidates,
                                 const UnitEmbeddingOptions& options,
                                 const EmbedderProgress& progress) {
  if (!(options.held_out > 0 && options.held_out < 1)) {
    throw Error("unit embeddings: held_out must be in (0, 1), but is " +
                format_double(options.held_out) + ".");
  }
  if (options.ridges.empty()) throw Error("unit embeddings: no ridge penalty to try.");
  for (double r : options.ridges) {
    if (!(r >= 0)) throw Error("unit embeddings: ridge penalties must be >= 0.");
  }
  const std::size_t public_units = std::min(options.public_units, candidates.size());
  std::vector<VocabUnit> units;
  for (std::size_t u = 0; u < public_units; ++u) {
    const std::span<const uint32_t> w = candidates.words(static_cast<uint32_t>(u));
    for (uint32_t word : w) {
      if (word >= vocab_size) {
        throw Error("unit embeddings: candidate " + std::to_string(u) + " holds word id " +
                    std::to_string(word) + ", outside a vocabulary of " +
                    std::to_string(vocab_size) + ".");
      }
    }
    units.push_back({.id = static_cast<int64_t>(u), .words = {w.begin(), w.end()}});
  }

  if (progress) progress("re-tokenizing the public corpus with its frequent units");
  const Tokenizer tokenizer(std::move(units));
  std::vector<std::vector<uint32_t>> text;
  text.reserve(sentences.size());
  std::vector<uint64_t> seen(public_units, 0);
  for (const std::vector<uint32_t>& sentence : sentences) {
    std::vector<uint32_t> out;
    for (const Token& t : tokenizer.tokenize(sentence)) {
      if (t.is_unit) {
        ++seen[static_cast<std::size_t>(t.id)];
        out.push_back(vocab_size + static_cast<uint32_t>(t.id));
      } else {
        out.push_back(static_cast<uint32_t>(t.id));
      }
    }
    text.push_back(std::move(out));
  }

  if (progress) progress("training word and unit vectors (PPMI + SVD)");
  const WordEmbeddings trained = WordEmbeddings::train(
      text, vocab_size + static_cast<uint32_t>(public_units), options.embedding);
  const uint32_t d = trained.dimension();
  std::vector<float> word_vectors(trained.data().begin(),
                                  trained.data().begin() + std::size_t{vocab_size} * d);

  if (progress) progress("fitting the maps from word vectors to unit vectors");
  std::vector<UnitMap> maps;
  std::vector<MapFit> fits;
  for (uint32_t length = 2; length <= CandidateUnits::kMaxUnitWords; ++length) {
    std::vector<uint32_t> targets;
    for (std::size_t u = 0; u < public_units; ++u) {
      if (candidates.words(static_cast<uint32_t>(u)).size() == length &&
          seen[u] >= options.min_occurrences) {
        targets.push_back(static_cast<uint32_t>(u));
      }
    }
    SeededRng rng(options.seed, length);
    for (std::size_t i = targets.size(); i > 1; --i) {
      std::swap(targets[i - 1], targets[rng.uniform(i)]);
    }
    const auto rows = static_cast<Eigen::Index>(targets.size());
    Eigen::MatrixXd x(rows, Eigen::Index{length} * d), y(rows, d);
    for (Eigen::Index i = 0; i < rows; ++i) {
      const uint32_t u = targets[static_cast<std::size_t>(i)];
      const std::span<const uint32_t> w = candidates.words(u);
      for (uint32_t p = 0; p < length; ++p) {
        const std::span<const float> v = trained.vector(w[p]);
        for (uint32_t k = 0; k < d; ++k) x(i, Eigen::Index{p} * d + k) = v[k];
      }
      const std::span<const float> target = trained.vector(vocab_size + u);
      for (uint32_t k = 0; k < d; ++k) y(i, k) = target[k];
    }
    auto [map, fit] = fit_length(length, x, y, options);
    maps.push_back(std::move(map));
    fits.push_back(fit);
  }
  return UnitEmbedder(d, std::move(word_vectors), std::move(maps), std::move(fits));
}

UnitEmbedder::UnitEmbedder(uint32_t dimension, std::vector<float> word_vectors,
                           std::vector<UnitMap> maps, std::vector<MapFit> fits)
    : dimension_(dimension),
      words_(0),
      word_vectors_(std::move(word_vectors)),
      maps_(std::move(maps)),
      fits_(std::move(fits)) {
  if (dimension_ == 0) throw Error("unit embeddings: the dimension must be at least 1.");
  if (word_vectors_.size() % dimension_ != 0 || word_vectors_.empty()) {
    throw Error("unit embeddings: " + std::to_string(word_vectors_.size()) +
                " word-vector values are not a positive multiple of the dimension " +
                std::to_string(dimension_) + ".");
  }
  words_ = static_cast<uint32_t>(word_vectors_.size() / dimension_);
  for (float v : word_vectors_) {
    if (!std::isfinite(v)) throw Error("unit embeddings: a word vector holds a non-finite value.");
  }
  std::set<uint32_t> lengths;
  for (const UnitMap& m : maps_) {
    if (m.length < 2 || !lengths.insert(m.length).second) {
      throw Error("unit embeddings: map length " + std::to_string(m.length) +
                  " is below 2 or repeated.");
    }
    if (m.weights.size() == 0) continue;
    if (m.weights.rows() != Eigen::Index{m.length} * dimension_ + 1 ||
        m.weights.cols() != dimension_) {
      throw Error("unit embeddings: the map of length " + std::to_string(m.length) + " is " +
                  std::to_string(m.weights.rows()) + " x " + std::to_string(m.weights.cols()) +
                  ", not " + std::to_string(m.length * dimension_ + 1) + " x " +
                  std::to_string(dimension_) + ".");
    }
    if (!m.weights.allFinite()) {
      throw Error("unit embeddings: the map of length " + std::to_string(m.length) +
                  " holds a non-finite value.");
    }
  }
}

std::vector<float> UnitEmbedder::embed(std::span<const uint32_t> words) const {
  if (words.empty()) throw Error("unit embeddings: cannot embed an empty word sequence.");
  for (uint32_t w : words) {
    if (w >= words_) {
      throw Error("unit embeddings: word id " + std::to_string(w) + " is outside the " +
                  std::to_string(words_) + " words with vectors.");
    }
  }
  const Eigen::Index d = dimension_;
  Eigen::VectorXd x(static_cast<Eigen::Index>(words.size()) * d);
  for (std::size_t p = 0; p < words.size(); ++p) {
    const std::span<const float> v = word_vector(words[p]);
    for (Eigen::Index k = 0; k < d; ++k) x[static_cast<Eigen::Index>(p) * d + k] = v[k];
  }
  Eigen::VectorXd out = mean_of_parts(x, d);
  for (const UnitMap& m : maps_) {
    if (m.length == words.size() && m.weights.size() != 0) {
      out = apply(m.weights.cast<double>(), x);
    }
  }
  normalize(out);
  std::vector<float> result(static_cast<std::size_t>(d));
  for (Eigen::Index k = 0; k < d; ++k)
    result[static_cast<std::size_t>(k)] = static_cast<float>(out[k]);
  return result;
}

}  // namespace residue

// A device's cell (Codebook::cell, exact in double, no FAISS) against the server's bulk FAISS
// assignment (assign_cells) on 100,000 public keys of the Brown corpus with the default public
// pieces: they agree on at least 99.9% of the keys, and every key they disagree on is a
// near-tie that float rounding explains. Needs data/brown (scripts/fetch-data); fails saying so
// when it is missing.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <span>
#include <sstream>
#include <vector>

#include "residue/memory/codebook_training.h"
#include "residue/memory/memory_setup.h"
#include "residue/search/threads.h"

namespace residue {
namespace {

constexpr std::size_t kKeys = 100'000;

double squared_distance(std::span<const float> key, std::span<const float> centroid) {
  double s = 0;
  for (std::size_t j = 0; j < key.size(); ++j) {
    const double diff = double{key[j]} - double{centroid[j]};
    s += diff * diff;
  }
  return s;
}

double norm(std::span<const float> v) {
  double s = 0;
  for (float x : v) s += double{x} * double{x};
  return std::sqrt(s);
}

TEST_CASE("a device computes the same cell as the server's FAISS assignment on Brown keys",
          "[codebook][brown]") {
  const std::filesystem::path brown = RESIDUE_SOURCE_DIR "/data/brown";
  {
    INFO((brown / "sentences.tsv").string() << " is missing: run scripts/fetch-data");
    REQUIRE(std::filesystem::exists(brown / "sentences.tsv"));
  }
  set_search_threads(2);
  const auto start = std::chrono::steady_clock::now();
  const Corpus corpus = Corpus::load(brown, "learned");
  const PublicModel pub = build_public_model(corpus, PublicOptions{});  // default cells (16)
  // The public keys: positions of general-corpus documents, every 8th document so that every
  // category contributes, until there are 100,000.
  std::vector<Document> documents;
  std::size_t tokens = 0;
  for (std::size_t i = 0; i < corpus.general().size() && tokens < kKeys; i += 8) {
    documents.push_back(corpus.general()[i]);
    for (const Sentence& s : documents.back().sentences) tokens += s.size();
  }
  const Positions positions = positions_of(documents, pub.vocab, pub.encoder, pub.codebook);
  REQUIRE(positions.size() >= kKeys);
  const Codebook& book = pub.codebook;
  const uint32_t d = book.dimension();
  const std::span<const float> keys(positions.keys.data(), kKeys * d);

  const std::vector<uint32_t> server = assign_cells(book, keys);
  REQUIRE(server.size() == kKeys);

  // FAISS computes each squared distance in float, as |x|^2 + |c|^2 - 2 x.c (BLAS, for
  // batches) or as sum (x_j - c_j)^2: d-term sums, a subtraction and two additions, so with
  // unit round-off u = 2^-24 the error of one distance is at most gamma_n (|x| + |c|)^2, where
  // gamma_n = n u / (1 - n u) and n = d + 4 counts every rounding along the longest chain
  // (Higham, Accuracy and Stability of Numerical Algorithms, 3.1; each sum of |terms| is at
  // most (|x| + |c|)^2 by Cauchy-Schwarz). Codebook::cell is exact up to double rounding,
  // 2^29 times finer. So FAISS can prefer cell f over the device's cell c only if
  //   dist(f) - dist(c) <= gamma_n ((|x| + |c_f|)^2 + (|x| + |c_c|)^2),
  // about 3e-5 for unit keys (KeyEncoder normalizes them) and centroids of norm <= 1 at d = 64.
  const double u = std::ldexp(1.0, -24);
  const double n_u = (d + 4) * u;
  const double gamma = n_u / (1 - n_u);
  const auto bound = [&](std::span<const float> key, uint32_t a, uint32_t b) {
    return gamma * (std::pow(norm(key) + norm(book.centroid(a)), 2) +
                    std::pow(norm(key) + norm(book.centroid(b)), 2));
  };
  std::size_t mismatches = 0;
  double largest_gap = 0;
  // How close the keys come to a tie at all: the smallest margin between the nearest and the
  // second-nearest cell, and how many keys are within the rounding bound of one (only those can
  // disagree).
  double smallest_margin = std::numeric_limits<double>::infinity();
  std::size_t within_bound = 0;
  for (std::size_t i = 0; i < kKeys; ++i) {
    const std::span<const float> key = keys.subspan(i * d, d);
    const uint32_t device = book.cell(key);
    double nearest = std::numeric_limits<double>::infinity();
    double second = nearest;
    uint32_t nearest_cell = 0;
    uint32_t second_cell = 0;
    for (uint32_t c = 0; c < book.cells(); ++c) {
      const double dist = squared_distance(key, book.centroid(c));
      if (dist < nearest) {
        second = nearest;
        second_cell = nearest_cell;
        nearest = dist;
        nearest_cell = c;
      } else if (dist < second) {
        second = dist;
        second_cell = c;
      }
    }
    REQUIRE(nearest_cell == device);
    smallest_margin = std::min(smallest_margin, second - nearest);
    if (second - nearest <= bound(key, device, second_cell)) ++within_bound;
    if (device == server[i]) continue;
    ++mismatches;
    const double gap = squared_distance(key, book.centroid(server[i])) -
                       squared_distance(key, book.centroid(device));
    largest_gap = std::max(largest_gap, gap);
    INFO("key " << i << ": device cell " << device << ", FAISS cell " << server[i]);
    CHECK(gap >= 0);  // the device's cell is the exact nearest
    CHECK(gap <= bound(key, device, server[i]));
  }
  const double agreement = 1.0 - static_cast<double>(mismatches) / kKeys;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::ostringstream summary;
  summary << "device vs FAISS cells on " << kKeys << " Brown keys, " << book.cells()
          << " cells, d = " << d << ": agreement " << agreement * 100 << "% (" << mismatches
          << " mismatches), largest squared-distance gap " << largest_gap
          << "; smallest nearest-vs-second margin " << smallest_margin << ", " << within_bound
          << " keys within the float bound of a tie; " << seconds << " s";
  WARN(summary.str());
  CHECK(agreement >= 0.999);
}

}  // namespace
}  // namespace residue

#include "vocab/vocab_index.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "residue/random/seeded_rng.h"
#include "residue/search/threads.h"

namespace residue {
namespace {

constexpr int kDim = 8;
constexpr VocabIndexKind kStructures[] = {VocabIndexKind::kExact, VocabIndexKind::kIvf,
                                          VocabIndexKind::kHnsw};

// n unit vectors (so that under inner product each one is its own best match) under sparse ids.
struct Points {
  std::vector<int64_t> ids;
  std::vector<float> x;
  const float* row(std::size_t i) const { return x.data() + i * kDim; }
};

Points points(std::size_t n, uint64_t seed) {
  SeededRng rng(seed);
  Points p;
  for (std::size_t i = 0; i < n; ++i) {
    p.ids.push_back(static_cast<int64_t>(17 + 5 * i));
    std::vector<float> v(kDim);
    double norm = 0;
    for (float& c : v) {
      c = static_cast<float>(rng.uniform01() - 0.5);
      norm += double{c} * c;
    }
    for (float& c : v) p.x.push_back(static_cast<float>(c / std::sqrt(norm)));
  }
  return p;
}

// Search-time settings that make IVF (every list) and HNSW (a candidate list as large as the
// set) exact on a few hundred points.
DynamicVocabOptions exhaustive(VocabMetric metric) {
  DynamicVocabOptions o{.dim = kDim, .metric = metric};
  o.ivf_lists = 4;  // k-means wants >= 39 points per list
  o.nprobe = 4;
  o.ef_search = 512;
  return o;
}

int64_t nearest(const VocabIndex& index, const float* q, const DynamicVocabOptions& opt) {
  float dist = 0;
  idx_t label = -1;
  index.search(q, 1, 1, &dist, &label, opt);
  return label;
}

}  // namespace

TEST_CASE("each vocab index structure finds a stored point as its own nearest neighbour",
          "[vocab]") {
  set_search_threads(1);
  const Points p = points(300, 7);
  for (VocabMetric metric : {VocabMetric::kL2, VocabMetric::kInnerProduct}) {
    for (VocabIndexKind kind : kStructures) {
      CAPTURE(to_string(kind), to_string(metric));
      const DynamicVocabOptions opt = exhaustive(metric);
      const auto index = make_vocab_index(kind, opt, p.ids, p.x.data());
      REQUIRE(index->kind() == kind);
      REQUIRE(index->size() == p.ids.size());
      for (std::size_t i = 0; i < p.ids.size(); i += 7) {
        CAPTURE(i);
        CHECK(nearest(*index, p.row(i), opt) == p.ids[i]);
      }
    }
  }
}

TEST_CASE("each vocab index structure removes, adds and reconstructs by id", "[vocab]") {
  set_search_threads(1);
  const Points p = points(200, 9);
  const Points fresh = points(1, 10);
  const int64_t fresh_id = 1'000'000;
  for (VocabIndexKind kind : kStructures) {
    CAPTURE(to_string(kind));
    const DynamicVocabOptions opt = exhaustive(VocabMetric::kL2);
    const auto index = make_vocab_index(kind, opt, p.ids, p.x.data());
    const std::vector<idx_t> gone{p.ids[3], p.ids[50], p.ids[199]};  // sorted, distinct
    index->remove(gone);
    index->add(std::vector<int64_t>{fresh_id}, fresh.x.data());
    CHECK(index->size() == p.ids.size() - gone.size() + 1);
    CHECK(index->tombstones() == (kind == VocabIndexKind::kHnsw ? gone.size() : 0));
    CHECK_FALSE(index->contains(p.ids[50]));
    REQUIRE(index->contains(fresh_id));
    std::vector<float> back(kDim);
    index->reconstruct(fresh_id, back.data());
    CHECK(back == fresh.x);
    CHECK(nearest(*index, fresh.x.data(), opt) == fresh_id);
    CHECK(nearest(*index, p.row(51), opt) == p.ids[51]);
    // A removed point's own query finds something else.
    CHECK(nearest(*index, p.row(50), opt) != p.ids[50]);

    std::vector<int64_t> ids;
    std::vector<float> x;
    index->collect(ids, x);
    REQUIRE(x.size() == ids.size() * kDim);
    std::vector<int64_t> listed = index->ids();
    std::sort(ids.begin(), ids.end());
    std::sort(listed.begin(), listed.end());
    CHECK(ids == listed);
    CHECK(ids.size() == index->size());
  }
}

TEST_CASE("reading a vocab index checks that FAISS holds the structure named", "[vocab]") {
  const Points p = points(100, 3);
  const DynamicVocabOptions opt = exhaustive(VocabMetric::kL2);
  const auto exact = make_vocab_index(VocabIndexKind::kExact, opt, p.ids, p.x.data());
  std::vector<uint8_t> bytes;
  exact->write(bytes);
  REQUIRE(bytes.size() == exact->written_bytes());
  auto stored_exact = [&] { return StoredVocabIndex{.bytes = bytes, .index_at = 123}; };
  ParseResult<std::unique_ptr<VocabIndex>> back =
      read_vocab_index(VocabIndexKind::kExact, opt, stored_exact());
  REQUIRE(back.ok());
  CHECK(back.value()->size() == p.ids.size());

  ParseResult<std::unique_ptr<VocabIndex>> wrong =
      read_vocab_index(VocabIndexKind::kIvf, opt, stored_exact());
  REQUIRE_FALSE(wrong.ok());
  CHECK_THAT(wrong.error().message, Catch::Contains("header says ivf"));
  CHECK(wrong.error().offset == 123);

  DynamicVocabOptions other_dim = opt;
  other_dim.dim = kDim + 1;
  CHECK_FALSE(read_vocab_index(VocabIndexKind::kExact, other_dim, stored_exact()).ok());
  // FAISS's own exceptions on a damaged blob become ParseErrors.
  bytes.resize(bytes.size() / 2);
  ParseResult<std::unique_ptr<VocabIndex>> cut =
      read_vocab_index(VocabIndexKind::kExact, opt, stored_exact());
  REQUIRE_FALSE(cut.ok());
  CHECK_THAT(cut.error().message, Catch::Contains("FAISS could not read the index"));
}

TEST_CASE("a vocab index kind that is not a structure is an error, not a default", "[vocab]") {
  const DynamicVocabOptions opt = exhaustive(VocabMetric::kL2);
  CHECK_THROWS_WITH(make_vocab_index(VocabIndexKind::kAuto, opt, {}, nullptr),
                    Catch::Contains("kind 3 ('auto') is not a structure: exact, ivf or hnsw"));
  CHECK_THROWS_WITH(make_vocab_index(static_cast<VocabIndexKind>(9), opt, {}, nullptr),
                    Catch::Contains("kind 9 ('?') is not a structure"));
}

}  // namespace residue

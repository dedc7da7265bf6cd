// Codebook (client side, no FAISS): cell() against a brute-force search, ties, the file format
// and its refusals.
#include "residue/retrieval/codebook.h"

#include <algorithm>
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

std::vector<float> random_floats(std::size_t n, SeededRng& rng) {
  std::vector<float> out(n);
  for (float& x : out) x = static_cast<float>(2 * rng.uniform01() - 1);
  return out;
}

/// The textbook search: every centroid, distances summed in long double.
uint32_t brute_force_cell(const Codebook& book, std::span<const float> key) {
  uint32_t best = 0;
  long double best_distance = INFINITY;
  for (uint32_t c = 0; c < book.cells(); ++c) {
    long double d = 0;
    for (uint32_t j = 0; j < book.dimension(); ++j) {
      const long double diff = static_cast<long double>(key[j]) - book.centroid(c)[j];
      d += diff * diff;
    }
    if (d < best_distance) best_distance = d, best = c;
  }
  return best;
}

TEST_CASE("codebook cell is the exact nearest centroid", "[codebook]") {
  SeededRng rng(17);
  const Codebook book(16, random_floats(64 * 16, rng));
  REQUIRE(book.cells() == 64);
  REQUIRE(book.dimension() == 16);
  const std::vector<float> keys = random_floats(2000 * 16, rng);
  const std::vector<uint32_t> cells = book.cells_of(keys);
  REQUIRE(cells.size() == 2000);
  std::vector<int> used(64, 0);
  for (std::size_t i = 0; i < 2000; ++i) {
    const std::span<const float> key(keys.data() + i * 16, 16);
    REQUIRE(cells[i] == brute_force_cell(book, key));
    REQUIRE(book.cell(key) == cells[i]);
    used[cells[i]] = 1;
  }
  // 2000 keys over 64 random cells reach most of them: the search is not stuck on a few.
  CHECK(std::count(used.begin(), used.end(), 1) > 48);
  // A centroid is its own cell.
  for (uint32_t c = 0; c < 64; ++c) CHECK(book.cell(book.centroid(c)) == c);
}

TEST_CASE("codebook ties go to the lowest cell", "[codebook]") {
  const Codebook book(2, {1, 0, -1, 0, 0, 1});
  const std::vector<float> middle = {0, 0};  // equidistant from all three
  CHECK(book.cell(middle) == 0);
  const std::vector<float> left_up = {-1, 1};  // equidistant from cells 1 and 2
  CHECK(book.cell(left_up) == 1);
}

TEST_CASE("codebook rejects bad shapes", "[codebook]") {
  CHECK_THROWS_WITH(Codebook(0, {}), Catch::Contains("dimension must be at least 1"));
  CHECK_THROWS_WITH(Codebook(3, {1, 2}), Catch::Contains("2 values are not a positive number"));
  CHECK_THROWS_WITH(Codebook(2, {}), Catch::Contains("0 values"));
  CHECK_THROWS_WITH(Codebook(1, {0, NAN}), Catch::Contains("centroid 1"));
  const Codebook book(2, {1, 0});
  const std::vector<float> three = {1, 2, 3};
  CHECK_THROWS_WITH(book.cell(three), Catch::Contains("key has 3 floats, but the dimension is 2"));
  CHECK_THROWS_WITH(book.cells_of(three), Catch::Contains("3 floats are not a whole number"));
}

void put_u32(std::vector<uint8_t>& bytes, std::size_t offset, uint32_t x) {
  for (int i = 0; i < 4; ++i) bytes[offset + i] = static_cast<uint8_t>(x >> (8 * i));
}

TEST_CASE("codebook files round trip with a fixed layout", "[codebook]") {
  const Codebook book(2, {1.0f, -2.0f, 0.25f, 3.0f, 0, 0});
  const std::vector<uint8_t> bytes = book.serialize();
  // Magic, version 1, 3 cells, dimension 2, then -2.0f = 0xc0000000 as the second value.
  const std::vector<uint8_t> header = {'R', 'S', 'D', 'C', 'B', 'O', 'O', 'K', 1, 0,
                                       0,   0,   3,   0,   0,   0,   2,   0,   0, 0};
  REQUIRE(bytes.size() == 20 + 6 * 4);
  CHECK(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 20) == header);
  CHECK(std::vector<uint8_t>(bytes.begin() + 24, bytes.begin() + 28) ==
        std::vector<uint8_t>{0, 0, 0, 0xc0});
  const ParseResult<Codebook> parsed = Codebook::parse(bytes);
  REQUIRE(parsed.ok());
  CHECK(parsed.value().cells() == 3);
  CHECK(parsed.value().centroids() == book.centroids());

  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / "residue_codebook_test.bin";
  book.write(file);
  const Codebook read = Codebook::read(file);
  CHECK(read.centroids() == book.centroids());
  CHECK(read.dimension() == 2);
  CHECK_FALSE(std::filesystem::exists(file.string() + ".part"));
  std::filesystem::remove(file);
}

TEST_CASE("codebook files that are malformed are refused saying what and where", "[codebook]") {
  const std::vector<uint8_t> good = Codebook(2, {1, 0, 0, 1}).serialize();
  const auto error = [](const std::vector<uint8_t>& bytes) {
    const ParseResult<Codebook> r = Codebook::parse(bytes);
    REQUIRE_FALSE(r.ok());
    return r.error();
  };
  CHECK(error({}).message == "codebook: truncated header: 0 bytes, need 20");
  std::vector<uint8_t> b = good;
  b[0] = 'X';
  CHECK(error(b).message == "codebook: bad magic (expected \"RSDCBOOK\")");
  CHECK(error(b).offset == 0);
  // An embeddings file is not a codebook.
  b = good;
  std::copy_n("RSDWEMBD", 8, b.begin());
  CHECK(error(b).offset == 3);
  b = good;
  put_u32(b, 8, 0);
  CHECK(error(b).message == "codebook: unsupported version 0 (expected 1)");
  b = good;
  put_u32(b, 12, 0);
  CHECK(error(b).message == "codebook: zero rows");
  CHECK(error(b).offset == 12);
  b = good;
  b.push_back(0);
  CHECK(error(b).message == "codebook: size 37 bytes, but the header implies 36");
  CHECK(error(b).offset == 36);
  b = good;
  put_u32(b, 20 + 3 * 4, std::bit_cast<uint32_t>(NAN));
  CHECK(error(b).message == "codebook: value 3 (row 1) is not finite");
  CHECK(error(b).offset == 32);

  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / "residue_codebook_bad.bin";
  std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(good.data()), 30);
  CHECK_THROWS_WITH(Codebook::read(file),
                    Catch::Contains("codebook: size 30 bytes, but the header implies 36") &&
                        Catch::Contains(file.string()) && Catch::Contains("at byte 30"));
  std::filesystem::remove(file);
  CHECK_THROWS_WITH(Codebook::read("/nonexistent/c.bin"),
                    Catch::Contains("cannot open /nonexistent/c.bin"));
}

}  // namespace
}  // namespace residue

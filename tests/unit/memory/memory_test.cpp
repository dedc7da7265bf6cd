// Memory: validation, the file format's round trip, and its refusals of malformed bytes
// (truncations at every offset, every single-byte corruption, bad magic, version, JSON).
#include "residue/memory/memory.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "memory_fixture.h"
#include "residue/core/error.h"

namespace residue {
namespace {

using testing::small_memory;

uint32_t header_length(const std::vector<uint8_t>& bytes) {
  return uint32_t{bytes[12]} | uint32_t{bytes[13]} << 8 | uint32_t{bytes[14]} << 16 |
         uint32_t{bytes[15]} << 24;
}

/// The file with its JSON header replaced by `json` (lengths and checksum fixed up).
std::vector<uint8_t> with_header(const std::vector<uint8_t>& bytes, const std::string& json) {
  const uint32_t h = header_length(bytes);
  std::vector<uint8_t> out(bytes.begin(), bytes.begin() + 12);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(json.size() >> (8 * i)));
  out.insert(out.end(), json.begin(), json.end());
  out.insert(out.end(), bytes.begin() + 16 + h, bytes.end() - 8);
  const uint64_t sum = fnv1a64(out);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(sum >> (8 * i)));
  return out;
}

std::string header_text(const std::vector<uint8_t>& bytes) {
  return std::string(bytes.begin() + 16, bytes.begin() + 16 + header_length(bytes));
}

void check_same(const Memory& a, const Memory& b) {
  CHECK(a.words() == b.words());
  CHECK(a.tokens() == b.tokens());
  CHECK(a.cells() == b.cells());
  CHECK(a.dimension() == b.dimension());
  CHECK(a.embeddings().data() == b.embeddings().data());
  CHECK(a.codebook().centroids() == b.codebook().centroids());
  CHECK(a.info().source == b.info().source);
  CHECK(a.info().split_seed == b.info().split_seed);
  CHECK(a.info().epsilon == b.info().epsilon);
  CHECK(a.info().reports == b.info().reports);
  CHECK(a.info().protocol_id == b.info().protocol_id);
  CHECK(a.info().key_options.window == b.info().key_options.window);
  CHECK(a.info().key_options.decay == b.info().key_options.decay);
  CHECK(a.info().default_arm == b.info().default_arm);
  CHECK(a.info().settings == b.info().settings);
  REQUIRE(a.arms().size() == b.arms().size());
  for (std::size_t i = 0; i < a.arms().size(); ++i) {
    CHECK(a.arms()[i].name == b.arms()[i].name);
    CHECK(a.arms()[i].kind == b.arms()[i].kind);
    CHECK(a.arms()[i].description == b.arms()[i].description);
    CHECK(a.arms()[i].hyper == b.arms()[i].hyper);
    CHECK(a.arms()[i].tuning_perplexity == b.arms()[i].tuning_perplexity);
    CHECK(a.arms()[i].counts == b.arms()[i].counts);
  }
}

TEST_CASE("memory file round trip keeps every field", "[memory]") {
  const Memory m = small_memory();
  const std::vector<uint8_t> bytes = m.serialize();
  ParseResult<Memory> back = Memory::parse(bytes);
  REQUIRE(back.ok());
  check_same(m, back.value());
  CHECK(back.value().serialize() == bytes);

  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / "residue_memory_test.mem";
  m.write(file);
  check_same(m, Memory::read(file));
  std::filesystem::remove(file);
}

TEST_CASE("memory file truncated at any offset is refused with its offset", "[memory]") {
  const std::vector<uint8_t> bytes = small_memory().serialize();
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    ParseResult<Memory> r = Memory::parse(std::span(bytes).first(size));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().offset <= size);
    CHECK(r.error().message.rfind("memory: ", 0) == 0);
  }
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  ParseResult<Memory> r = Memory::parse(longer);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("unexpected bytes"));
  CHECK(r.error().offset == bytes.size());
}

TEST_CASE("memory file with any byte changed is refused", "[memory]") {
  const std::vector<uint8_t> bytes = small_memory().serialize();
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::vector<uint8_t> bad = bytes;
    bad[i] ^= 0x20;
    ParseResult<Memory> r = Memory::parse(bad);
    INFO("byte " << i);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().offset <= bad.size());
  }
}

TEST_CASE("memory file errors name what is wrong", "[memory]") {
  const std::vector<uint8_t> bytes = small_memory().serialize();
  const auto message = [](const std::vector<uint8_t>& b) {
    ParseResult<Memory> r = Memory::parse(b);
    REQUIRE_FALSE(r.ok());
    return r.error();
  };
  std::vector<uint8_t> magic = bytes;
  magic[3] = 'X';
  CHECK_THAT(message(magic).message, Catch::Contains("bad magic"));
  CHECK(message(magic).offset == 3);

  std::vector<uint8_t> version = bytes;
  version[8] = 9;
  CHECK_THAT(message(version).message, Catch::Contains("unsupported version 9"));
  CHECK(message(version).offset == 8);

  const std::string text = header_text(bytes);
  std::string garbage = text;
  garbage.back() = 'x';  // the closing brace
  CHECK_THAT(message(with_header(bytes, garbage)).message, Catch::Contains("bad JSON header"));
  CHECK(message(with_header(bytes, garbage)).offset == 16 + text.size() - 1);

  std::string renamed = text;
  renamed.replace(renamed.find("\"default_arm\""), 13, "\"default_ar_\"");
  CHECK_THAT(message(with_header(bytes, renamed)).message, Catch::Contains("default_arm"));

  std::string format = text;
  format.replace(format.find("residue.memory.1"), 16, "residue.memory.7");
  CHECK_THAT(message(with_header(bytes, format)).message, Catch::Contains("residue.memory.7"));

  std::string kind = text;
  kind.replace(kind.find("\"cells\",\"name\""), 7, "\"cellz\"");
  CHECK_THAT(message(with_header(bytes, kind)).message, Catch::Contains("unknown arm kind"));

  // A header that parses but contradicts the sections: more tokens than the tables hold.
  std::string words = text;
  words.replace(words.find("\"w9\""), 4, "\"w9\",\"w10\"");
  CHECK_THAT(message(with_header(bytes, words)).message, Catch::Contains("truncated"));

  // The checksum alone catches a plausible change of a count.
  std::vector<uint8_t> count = bytes;
  count[count.size() - 9] ^= 0x01;  // the top byte (sign, exponent) of the last count
  CHECK_THAT(message(count).message, Catch::Contains("checksum"));
  CHECK(message(count).offset == bytes.size() - 8);
}

TEST_CASE("memory file codebook section must be the FAISS index it declares", "[memory]") {
  const std::vector<uint8_t> bytes = small_memory().serialize();
  const std::size_t codebook_at = 16 + header_length(bytes);
  // Byte 4 of a FAISS IndexFlatL2 is its dimension: a reader that trusted it would misread
  // every size after it.
  std::vector<uint8_t> bad = bytes;
  bad[codebook_at + 4] = 200;
  ParseResult<Memory> r = Memory::parse(bad);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("codebook section"));
  CHECK(r.error().offset == codebook_at + 4);
}

TEST_CASE("memory read names the file and the offset", "[memory]") {
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / "residue_memory_test_bad.mem";
  {
    std::ofstream out(file, std::ios::binary);
    out << "RSDMEMRY";
  }
  CHECK_THROWS_WITH(Memory::read(file), Catch::Contains(file.string()) &&
                                            Catch::Contains("at byte 8") &&
                                            Catch::Contains("truncated"));
  std::filesystem::remove(file);
  CHECK_THROWS_WITH(Memory::read(file), Catch::Contains("cannot open"));
}

TEST_CASE("memory constructor refuses inconsistent pieces", "[memory]") {
  const Memory m = small_memory();
  const auto rebuild = [&](auto edit) {
    MemoryInfo info = m.info();
    std::vector<std::string> words = m.words();
    std::vector<MemoryArm> arms = m.arms();
    edit(info, words, arms);
    return Memory(info, words, m.embeddings(), m.codebook(), arms);
  };
  CHECK_NOTHROW(rebuild([](auto&, auto&, auto&) {}));
  CHECK_THROWS_WITH(rebuild([](auto&, auto& w, auto&) { w.pop_back(); }),
                    Catch::Contains("the embeddings have 12 rows"));
  CHECK_THROWS_WITH(rebuild([](auto&, auto& w, auto&) { w[1] = "w0"; }), Catch::Contains("w0"));
  CHECK_THROWS_WITH(rebuild([](auto& i, auto&, auto&) { i.default_arm = "nope"; }),
                    Catch::Contains("default_arm \"nope\""));
  CHECK_THROWS_WITH(rebuild([](auto&, auto&, auto& a) { a[2].name = "uniform"; }),
                    Catch::Contains("two arms are named \"uniform\""));
  CHECK_THROWS_WITH(rebuild([](auto&, auto&, auto& a) { a[3].counts.pop_back(); }),
                    Catch::Contains("has 32 counts, but needs 33"));
  CHECK_THROWS_WITH(rebuild([](auto&, auto&, auto& a) { a[3].counts[5] = -1; }),
                    Catch::Contains("count 5 (row 0) is -1"));
  CHECK_THROWS_WITH(rebuild([](auto&, auto&, auto& a) { a[3].hyper.neighbours = 4; }),
                    Catch::Contains("neighbours (K) must be in [1, 3], but is 4"));
  CHECK_THROWS_WITH(rebuild([](auto&, auto&, auto& a) { a[3].hyper.lambda = 1.5; }),
                    Catch::Contains("lambda must be in [0, 1]"));
  CHECK_THROWS_WITH(rebuild([](auto&, auto&, auto& a) { a[0].hyper.lambda = 0.5; }),
                    Catch::Contains("a base arm has no memory"));
  CHECK_THROWS_WITH(rebuild([](auto&, auto&, auto& a) { a[3].hyper.temperature = 0; }),
                    Catch::Contains("temperature must be positive"));
  CHECK_THROWS_WITH(m.arm("missing"), Catch::Contains("it has: base, uniform"));
}

}  // namespace
}  // namespace residue

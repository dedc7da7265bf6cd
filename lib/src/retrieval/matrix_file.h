// The binary form shared by WordEmbeddings and Codebook files: a float matrix behind a magic
// and a version. Internal; header-only, tested through embeddings_test and codebook_test.
//
//   offset 0   8 bytes  magic, e.g. "RSDCBOOK"
//          8   uint32   version
//         12   uint32   rows
//         16   uint32   cols
//         20   rows * cols IEEE 754 binary32 values, row-major
// Integers and floats are little-endian. Nothing may follow the values. read_bytes and
// write_bytes (whole files, written atomically) also serve the task artifacts.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "residue/core/error.h"

namespace residue::matrix_file {

inline constexpr std::size_t kHeaderBytes = 20;
// Limits what a corrupt header can make a reader allocate (2^28 floats = 1 GiB).
inline constexpr uint64_t kMaxValues = uint64_t{1} << 28;

struct Matrix {
  uint32_t rows = 0;
  uint32_t cols = 0;
  std::vector<float> values;
};

inline void put_u32(std::vector<uint8_t>& out, uint32_t x) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(x >> (8 * i)));
}

inline uint32_t get_u32(std::span<const uint8_t> bytes, std::size_t offset) {
  uint32_t x = 0;
  for (int i = 0; i < 4; ++i) x |= uint32_t{bytes[offset + i]} << (8 * i);
  return x;
}

/// REQUIRES: magic.size() == 8, values.size() == rows * cols.
inline std::vector<uint8_t> encode(std::string_view magic, uint32_t version, uint32_t rows,
                                   uint32_t cols, std::span<const float> values) {
  std::vector<uint8_t> out(magic.begin(), magic.end());
  out.reserve(kHeaderBytes + 4 * values.size());
  put_u32(out, version);
  put_u32(out, rows);
  put_u32(out, cols);
  for (float v : values) put_u32(out, std::bit_cast<uint32_t>(v));
  return out;
}

/// `what` names the kind of file in messages ("codebook").
inline ParseResult<Matrix> decode(std::span<const uint8_t> bytes, std::string_view magic,
                                  uint32_t version, std::string_view what) {
  const auto fail = [&](std::string message, std::size_t offset) {
    return ParseError{std::string(what) + ": " + std::move(message), offset};
  };
  if (bytes.size() < kHeaderBytes) {
    return fail("truncated header: " + std::to_string(bytes.size()) + " bytes, need " +
                    std::to_string(kHeaderBytes),
                bytes.size());
  }
  for (std::size_t i = 0; i < magic.size(); ++i) {
    if (bytes[i] != static_cast<uint8_t>(magic[i])) {
      return fail("bad magic (expected \"" + std::string(magic) + "\")", i);
    }
  }
  const uint32_t got_version = get_u32(bytes, 8);
  if (got_version != version) {
    return fail("unsupported version " + std::to_string(got_version) + " (expected " +
                    std::to_string(version) + ")",
                8);
  }
  Matrix m;
  m.rows = get_u32(bytes, 12);
  m.cols = get_u32(bytes, 16);
  if (m.rows == 0) return fail("zero rows", 12);
  if (m.cols == 0) return fail("zero columns", 16);
  const uint64_t count = uint64_t{m.rows} * m.cols;
  if (count > kMaxValues) return fail("implausible size " + std::to_string(count), 12);
  const uint64_t expected = kHeaderBytes + 4 * count;
  if (bytes.size() != expected) {
    return fail("size " + std::to_string(bytes.size()) + " bytes, but the header implies " +
                    std::to_string(expected),
                std::min<std::size_t>(bytes.size(), expected));
  }
  m.values.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t offset = kHeaderBytes + 4 * i;
    m.values[i] = std::bit_cast<float>(get_u32(bytes, offset));
    if (!std::isfinite(m.values[i])) {
      return fail(
          "value " + std::to_string(i) + " (row " + std::to_string(i / m.cols) + ") is not finite",
          offset);
    }
  }
  return m;
}

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& file, std::string_view what) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(std::string(what) + ": cannot open " + file.string() + ".");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(std::string(what) + ": cannot read " + file.string() + ".");
  return bytes;
}

/// Writes to a temporary name beside `file`, then renames it: a reader never sees half a file.
inline void write_bytes(const std::filesystem::path& file, std::span<const uint8_t> bytes,
                        std::string_view what) {
  std::filesystem::path part = file;
  part += ".part";
  {
    std::ofstream out(part, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) throw Error(std::string(what) + ": cannot write " + part.string() + ".");
  }
  std::error_code ec;
  std::filesystem::rename(part, file, ec);
  if (ec) {
    throw Error(std::string(what) + ": cannot rename " + part.string() + " to " + file.string() +
                ": " + ec.message() + ".");
  }
}

/// Reads and decodes a file; a malformed one throws Error naming the file and the offset.
inline Matrix read(const std::filesystem::path& file, std::string_view magic, uint32_t version,
                   std::string_view what) {
  const std::vector<uint8_t> bytes = read_bytes(file, what);
  ParseResult<Matrix> m = decode(bytes, magic, version, what);
  if (!m.ok()) {
    throw Error(m.error().message + " in " + file.string() + " at byte " +
                std::to_string(m.error().offset) + ".");
  }
  return std::move(m).value();
}

}  // namespace residue::matrix_file

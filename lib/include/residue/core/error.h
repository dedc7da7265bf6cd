// residue::Error and ParseResult: the two ways Residue reports failure.
//
// Invalid configuration or API misuse throws residue::Error; the message names the
// parameter and its value ("k must be at least 2, but is 1."). Parsers of untrusted bytes
// never throw: they return a ParseResult<T> that carries either a value or a ParseError
// with a message and the byte offset where the input went wrong.
//
//   ParseResult<Report> r = codec.read_bytes(bytes);
//   if (!r.ok()) log(r.error().message, r.error().offset);
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace residue {

/// Thrown for invalid parameters and API misuse. A constructed object is always valid.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Why untrusted input was rejected, and where: `offset` is the byte offset of the first
/// byte that could not be accepted.
struct ParseError {
  std::string message;
  std::size_t offset = 0;
};

/// Either a parsed value or a ParseError. Cheap to move; never throws on construction.
template <typename T>
class ParseResult {
 public:
  ParseResult(T value) : v_(std::move(value)) {}           // NOLINT: implicit by design
  ParseResult(ParseError error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  /// REQUIRES: ok()
  const T& value() const& { return std::get<0>(v_); }
  /// REQUIRES: ok()
  T&& value() && { return std::get<0>(std::move(v_)); }
  /// REQUIRES: !ok()
  const ParseError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, ParseError> v_;
};

}  // namespace residue

// Vocabulary: the V most frequent words of a public corpus plus one unknown token, the token
// ids every retrieval piece and the base language model share.
//
//   Vocabulary vocab = Vocabulary::most_frequent(general_tokens, 4096);
//   uint32_t id = vocab.id("the");          // vocab.unknown() for words outside it
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace residue {

class Vocabulary {
 public:
  /// The `size` most frequent words of `tokens` (ties broken by the word, so the result is
  /// reproducible), then the unknown token.
  static Vocabulary most_frequent(std::span<const std::string> tokens, std::size_t size);
  /// Words in id order; the unknown token gets id words.size(). Throws Error on a duplicate
  /// or empty word.
  explicit Vocabulary(std::vector<std::string> words);

  /// Words plus the unknown token.
  uint32_t size() const { return static_cast<uint32_t>(words_.size()) + 1; }
  uint32_t unknown() const { return static_cast<uint32_t>(words_.size()); }
  uint32_t id(std::string_view word) const;
  /// The word of `id`; "<unk>" for unknown().
  std::string_view word(uint32_t id) const;
  std::vector<uint32_t> ids(std::span<const std::string> tokens) const;
  const std::vector<std::string>& words() const { return words_; }

 private:
  // Looks words up without building a std::string (C++20 heterogeneous lookup).
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::string> words_;
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> index_;
};

}  // namespace residue

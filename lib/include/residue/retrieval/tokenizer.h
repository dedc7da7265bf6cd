// Tokenizer: dynamic tokenization with the current vocabulary units. A unit is a sequence of
// two or more word ids ("new york" = 2 words) under a stable id (its DynamicVocab id). A word
// sequence is merged greedily left to right: at each position the longest unit that matches
// there becomes one token, otherwise the word stays a token of its own. detokenize() gives back
// the word sequence exactly, so tokenization loses nothing.
//
// Greedy is not always the shortest segmentation (units "a b" and "b c d" on "a b c d" give
// [a b] c d, not a [b c d]), but it is what the dynamic-tokenization paper's merges produce and
// is linear: O(words x longest unit). A Tokenizer is immutable and thread-safe; rebuild it when
// the units change (cheap: one hash entry per unit word).
//
//   Tokenizer tok({make_unit(7, "new york", vocab)});
//   std::vector<Token> t = tok.tokenize(words);   // "new york" -> one token, id 7
//   assert(tok.detokenize(t) == words);
//   LengthReduction r = measure_length_reduction(tok, held_out);  // r.reduction() = 1 - t / w
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace residue {

class Vocabulary;

struct VocabUnit {
  int64_t id = 0;               ///< >= 0, unique
  std::vector<uint32_t> words;  ///< at least 2 word ids
};

/// A unit (is_unit, id = the unit's id) or a single word (id = the word id).
struct Token {
  bool is_unit = false;
  int64_t id = 0;
  bool operator==(const Token&) const = default;
};

/// The unit `text` (words separated by spaces) in `vocab`'s ids. Throws Error when a word is
/// not in the vocabulary: a unit holding <unk> would merge arbitrary words.
VocabUnit make_unit(int64_t id, std::string_view text, const Vocabulary& vocab);

class Tokenizer {
 public:
  /// Throws Error on a negative or repeated id, a unit shorter than 2 words, or two units
  /// with the same words.
  explicit Tokenizer(std::vector<VocabUnit> units);

  std::vector<Token> tokenize(std::span<const uint32_t> words) const;
  /// Throws Error on a unit id this tokenizer does not know.
  std::vector<uint32_t> detokenize(std::span<const Token> tokens) const;

  std::size_t size() const { return units_.size(); }
  /// Words in the longest unit (0 without units).
  std::size_t max_length() const { return max_length_; }
  /// The words of unit `id`; throws Error when unknown.
  std::span<const uint32_t> words_of(int64_t id) const;

 private:
  // A trie over word ids: node 0 is the root; edges are hashed by (node, word).
  static uint64_t edge(uint32_t node, uint32_t word) { return uint64_t{node} << 32 | word; }
  std::vector<VocabUnit> units_;
  std::unordered_map<int64_t, std::size_t> by_id_;  // unit id -> index in units_
  std::unordered_map<uint64_t, uint32_t> edges_;    // (node, word) -> child node
  std::vector<int64_t> unit_at_;                    // node -> unit index ending there, or -1
  std::size_t max_length_ = 0;
};

/// Words in, tokens out over a set of sequences.
struct LengthReduction {
  std::size_t sequences = 0;
  std::size_t words = 0;
  std::size_t tokens = 0;
  std::size_t unit_tokens = 0;  ///< tokens that are units
  /// 1 - tokens / words: the share of sequence length the units save (0 for no words).
  double reduction() const {
    return words == 0 ? 0.0 : 1.0 - static_cast<double>(tokens) / static_cast<double>(words);
  }
};

LengthReduction measure_length_reduction(const Tokenizer& tokenizer,
                                         std::span<const std::vector<uint32_t>> sequences);

}  // namespace residue

// CandidateUnits: the public list of multi-word units a dynamic vocabulary may admit, and the
// domain of the MSS task clients report units into (unit id = rank = the reported value).
//
// Extraction counts every word bigram and trigram inside the sentences of a public corpus whose
// words are all in the vocabulary (a unit holding <unk> would stand for arbitrary words) and,
// by default, are words rather than punctuation (", and" or "; ;" are no units; the
// dynamic-tokenization paper does not merge punctuation either), and keeps the `max_units` most
// frequent, ranked by count (ties: by word ids, so the list is reproducible); unit id = rank.
// Everything here is public: clients and the aggregator rebuild the same list from the same corpus,
// or ship it as a dictionary file.
//
//   CandidateUnits c = CandidateUnits::extract(sentence_ids(brown.general(), vocab), vocab);
//   std::optional<uint32_t> id = c.find(words);               // "new york" -> its rank
//   std::vector<uint64_t> occ = c.count_occurrences(client);   // the clients' population
//
// Immutable after construction: thread-safe for concurrent reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "residue/core/error.h"
#include "residue/retrieval/tokenizer.h"

namespace residue {

class Vocabulary;

struct CandidateOptions {
  /// M: units kept (the MSS domain size k). Fewer when the corpus has fewer distinct n-grams.
  std::size_t max_units = 50'000;
  /// Unit lengths in words, within [2, 3] (kMaxUnitWords).
  std::size_t min_length = 2;
  std::size_t max_length = 3;
  /// Only tokens holding a letter or digit may be part of a unit: punctuation splits units.
  bool words_only = true;
};

class CandidateUnits {
 public:
  /// Longest unit this class stores: keys pack three word ids of up to 21 bits each.
  static constexpr std::size_t kMaxUnitWords = 3;
  static constexpr uint32_t kMaxWordId = (uint32_t{1} << 21) - 2;

  /// The n-grams of `sentences` (ids of `vocab`; vocab.unknown() marks unknown words) as
  /// described above. Throws Error on invalid options or a word id >= vocab.size().
  static CandidateUnits extract(std::span<const std::vector<uint32_t>> sentences,
                                const Vocabulary& vocab, const CandidateOptions& options = {});
  /// A list read back from a file: unit i has words `units[i]` and public count `counts[i]`.
  /// Throws Error on a unit of fewer than 2 or more than kMaxUnitWords words, a word id above
  /// kMaxWordId, a repeated unit, or sizes that differ.
  CandidateUnits(std::vector<std::vector<uint32_t>> units, std::vector<uint64_t> counts);
  CandidateUnits() = default;

  std::size_t size() const { return counts_.size(); }
  /// REQUIRES: id < size(). The span lives as long as this object.
  std::span<const uint32_t> words(uint32_t id) const {
    return {words_.data() + offsets_[id], offsets_[id + 1] - offsets_[id]};
  }
  /// Occurrences of unit `id` in the public corpus it was extracted from.
  uint64_t public_count(uint32_t id) const { return counts_[id]; }
  /// The id of the unit with exactly these words, if it is a candidate.
  std::optional<uint32_t> find(std::span<const uint32_t> words) const;
  /// "new york": the unit's words joined by spaces.
  std::string text(uint32_t id, const Vocabulary& vocab) const;

  /// How often each candidate occurs in `sentences` (size(), indexed by id): every start
  /// position and every length, so overlapping occurrences ("new york" inside "new york
  /// city") all count. These occurrences are the population simulated clients draw from.
  std::vector<uint64_t> count_occurrences(std::span<const std::vector<uint32_t>> sentences) const;
  /// The candidate ids occurring in `words`, one entry per occurrence as count_occurrences()
  /// counts them, by start position, then length.
  std::vector<uint32_t> occurrences(std::span<const uint32_t> words) const;
  /// A Tokenizer that merges `units` (unit id = candidate id). REQUIRES: every id < size().
  Tokenizer tokenizer(std::span<const uint32_t> units) const;

  /// Binary form (little-endian): uint64 units, then per unit uint8 length L, L x uint32 word
  /// ids, uint64 public count.
  std::vector<uint8_t> serialize() const;
  /// Parses serialize()'s output, every word id below `words` (the vocabulary's known words);
  /// never throws (untrusted bytes). Bytes after the list are an error, unless `used` is given:
  /// then it receives the list's length (a list inside a larger file).
  static ParseResult<CandidateUnits> parse(std::span<const uint8_t> bytes, uint32_t words,
                                           std::size_t* used = nullptr);

 private:
  static uint64_t key(std::span<const uint32_t> words);
  std::vector<uint32_t> words_;
  std::vector<std::size_t> offsets_{0};  // unit i: words_[offsets_[i], offsets_[i + 1])
  std::vector<uint64_t> counts_;
  std::unordered_map<uint64_t, uint32_t> ids_;  // key(words) -> id
};

}  // namespace residue

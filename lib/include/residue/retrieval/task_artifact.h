// Task artifacts: the public pieces a device needs for a memory task or a vocab task, as one
// versioned, checksummed file the aggregator publishes (`residue memory prepare`,
// `residue vocab prepare`), and the functions that turn a device's text into the value it
// reports. Device-safe: no FAISS, OpenMP or BLAS (tests/footprint checks it).
//
// Layout (integers and floats little-endian):
//   offset 0   the magic line, "residue.memory-artifact.1\n", "residue.memory-artifact.2\n"
//              (a memory artifact with a shortlist) or "residue.vocab-artifact.1\n"
//          .   sections, each a uint64 length and that many bytes:
//              memory: vocabulary, WordEmbeddings::serialize(), key options (uint32 window,
//                      float32 decay), Codebook::serialize(); version 2 adds the shortlist
//                      (uint32 L, then L distinct uint32 token ids, in index order)
//              vocab:  vocabulary, CandidateUnits::serialize()
//              vocabulary: uint32 W, then W x (uint32 length, the word's bytes), in id order
//          .   32 bytes: SHA-256 of everything above
// parse() takes untrusted bytes (a download): every error names what and the byte offset.
//
//   MemoryArtifact a = MemoryArtifact::read("memory.artifact");
//   uint32_t v = memory_value(a, words_before, "show");     // cell * tokens + token
//   uint32_t t = memory_stage_value(a, MemoryStage::kTokens, words_before, "show");  // token
//   VocabArtifact u = VocabArtifact::read("vocab.artifact");
//   std::optional<uint32_t> unit = pick_unit(u, "new york city", rng);
//
// Immutable: thread-safe for concurrent reads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "residue/core/error.h"
#include "residue/lm/vocabulary.h"
#include "residue/random/rng.h"
#include "residue/retrieval/candidate_units.h"
#include "residue/retrieval/codebook.h"
#include "residue/retrieval/key_encoder.h"
#include "residue/retrieval/memory_stage.h"

namespace residue {

inline constexpr std::string_view kMemoryArtifactMagic = "residue.memory-artifact.1\n";
/// A memory artifact with a shortlist (the second stage of the two-stage protocol).
inline constexpr std::string_view kShortlistArtifactMagic = "residue.memory-artifact.2\n";
inline constexpr std::string_view kVocabArtifactMagic = "residue.vocab-artifact.1\n";

/// What a device of a memory task needs: token ids, context keys and their cells, and, for the
/// second stage of the two-stage protocol (docs/memory.md), the shortlist of tokens every cell
/// reports over.
class MemoryArtifact {
 public:
  /// Throws Error unless the embeddings have vocab.size() + 1 rows (every token and <s>), the
  /// codebook has the encoder's dimension, cells x tokens fits a uint32 report value, and the
  /// shortlist (empty: none) holds distinct token ids, fewer than the tokens.
  MemoryArtifact(Vocabulary vocab, KeyEncoder encoder, Codebook codebook,
                 std::vector<uint32_t> shortlist = {});

  const Vocabulary& vocab() const { return vocab_; }
  const KeyEncoder& encoder() const { return encoder_; }
  const Codebook& codebook() const { return codebook_; }
  /// The shortlist's token ids, index order; empty when the artifact has none.
  std::span<const uint32_t> shortlist() const { return shortlist_; }
  /// A token's index in the shortlist, or shortlist().size() ("other"). REQUIRES: a shortlist.
  uint32_t shortlist_index(uint32_t token) const { return shortlist_index_.at(token); }
  /// The size of the memory task's domain (an MSS task's k): cells x tokens, or
  /// cells x (L + 1) with a shortlist of L tokens.
  uint32_t domain() const {
    return codebook_.cells() *
           (shortlist_.empty() ? vocab_.size() : static_cast<uint32_t>(shortlist_.size()) + 1);
  }
  /// The same public pieces without the shortlist: what a shortlist's two stages must share.
  MemoryArtifact without_shortlist() const { return {vocab_, encoder_, codebook_}; }

  std::vector<uint8_t> serialize() const;
  /// Never throws: a malformed, inconsistent or corrupted file gives a ParseError.
  static ParseResult<MemoryArtifact> parse(std::span<const uint8_t> bytes);
  /// Throws Error naming the file (and the byte offset, when malformed).
  void write(const std::filesystem::path& file) const;
  static MemoryArtifact read(const std::filesystem::path& file);

 private:
  Vocabulary vocab_;
  KeyEncoder encoder_;
  Codebook codebook_;
  std::vector<uint32_t> shortlist_;
  std::vector<uint32_t> shortlist_index_;  // per token: its index, or L; empty without one
};

/// What a device of a vocab task needs: token ids and the candidate units (unit id = value).
class VocabArtifact {
 public:
  /// Throws Error if a unit holds a word id that is not a known word of `vocab`.
  VocabArtifact(Vocabulary vocab, CandidateUnits candidates);

  const Vocabulary& vocab() const { return vocab_; }
  const CandidateUnits& candidates() const { return candidates_; }

  std::vector<uint8_t> serialize() const;
  /// Never throws: a malformed, inconsistent or corrupted file gives a ParseError.
  static ParseResult<VocabArtifact> parse(std::span<const uint8_t> bytes);
  /// Throws Error naming the file (and the byte offset, when malformed).
  void write(const std::filesystem::path& file) const;
  static VocabArtifact read(const std::filesystem::path& file);

 private:
  Vocabulary vocab_;
  CandidateUnits candidates_;
};

/// The value a device reports for `next_word` after `words_before` (tokens as the corpus has
/// them: lower-cased, punctuation apart; text_tokens() makes them from typed text; a word
/// outside the vocabulary is its unknown token): joint_value(cell of the key of
/// <s> words_before, token of next_word). Exactly the value of the server's positions_of() for
/// a sentence w_1 ... w_n at position i, words_before = w_1 ... w_{i-1}: an empty
/// `words_before` is a sentence's first word (context <s>), as on the server.
/// With a shortlist of L tokens the value is cell * (L + 1) + the token's index in it, or L
/// when it is not on it ("other"). Throws Error if next_word is empty (nothing to report).
uint32_t memory_value(const MemoryArtifact& artifact, std::span<const std::string> words_before,
                      std::string_view next_word);

/// The values a `stage` task over `artifact` collects: its k. Throws Error when the artifact
/// does not fit the stage (a shortlist exactly for kShortlist).
uint32_t memory_stage_domain(const MemoryArtifact& artifact, MemoryStage stage);
/// What a device of a `stage` task reports: the next word's token id for kTokens, memory_value
/// otherwise. Throws Error as memory_value and memory_stage_domain do.
uint32_t memory_stage_value(const MemoryArtifact& artifact, MemoryStage stage,
                            std::span<const std::string> words_before, std::string_view next_word);

/// One occurrence of a candidate unit in `text` (text_tokens(), then every start position and
/// length, as CandidateUnits::count_occurrences() counts the population the server simulates),
/// drawn uniformly: the unit's id, the value a device reports. nullopt when `text` holds none.
std::optional<uint32_t> pick_unit(const VocabArtifact& artifact, std::string_view text, Rng& rng);

}  // namespace residue

// Task artifacts: the public pieces a device needs for a memory task or a vocab task, as one
// versioned, checksummed file the aggregator publishes (`residue memory prepare`,
// `residue vocab prepare`), and the functions that turn a device's text into the value it
// reports. Device-safe: no FAISS, OpenMP or BLAS (tests/footprint checks it).
//
// Layout (integers and floats little-endian):
//   offset 0   the magic line, "residue.memory-artifact.1\n" or "residue.vocab-artifact.1\n"
//          .   sections, each a uint64 length and that many bytes:
//              memory: vocabulary, WordEmbeddings::serialize(), key options (uint32 window,
//                      float32 decay), Codebook::serialize()
//              vocab:  vocabulary, CandidateUnits::serialize()
//              vocabulary: uint32 W, then W x (uint32 length, the word's bytes), in id order
//          .   32 bytes: SHA-256 of everything above
// parse() takes untrusted bytes (a download): every error names what and the byte offset.
//
//   MemoryArtifact a = MemoryArtifact::read("memory.artifact");
//   uint32_t v = memory_value(a, words_before, "show");     // cell * tokens + token
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

namespace residue {

inline constexpr std::string_view kMemoryArtifactMagic = "residue.memory-artifact.1\n";
inline constexpr std::string_view kVocabArtifactMagic = "residue.vocab-artifact.1\n";

/// What a device of a memory task needs: token ids, context keys and their cells.
class MemoryArtifact {
 public:
  /// Throws Error unless the embeddings have vocab.size() + 1 rows (every token and <s>), the
  /// codebook has the encoder's dimension, and cells x tokens fits a uint32 report value.
  MemoryArtifact(Vocabulary vocab, KeyEncoder encoder, Codebook codebook);

  const Vocabulary& vocab() const { return vocab_; }
  const KeyEncoder& encoder() const { return encoder_; }
  const Codebook& codebook() const { return codebook_; }
  /// cells x tokens: the size of the memory task's domain (an MSS task's k).
  uint32_t domain() const { return codebook_.cells() * vocab_.size(); }

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
/// Throws Error if next_word is empty (there is nothing to report).
uint32_t memory_value(const MemoryArtifact& artifact, std::span<const std::string> words_before,
                      std::string_view next_word);

/// One occurrence of a candidate unit in `text` (text_tokens(), then every start position and
/// length, as CandidateUnits::count_occurrences() counts the population the server simulates),
/// drawn uniformly: the unit's id, the value a device reports. nullopt when `text` holds none.
std::optional<uint32_t> pick_unit(const VocabArtifact& artifact, std::string_view text, Rng& rng);

}  // namespace residue

// VocabFile: everything a dynamic vocabulary is, in one versioned file that `residue vocab`
// writes, updates and searches: the parameters, the public vocabulary and candidate units, the
// unit embedder (word vectors and maps), the admitted units with their estimates, their
// embeddings in a DynamicVocab index, and the log of every round.
//
// Layout (integers and floats little-endian):
//   offset 0   8 bytes   magic "RSDVUNIT"
//          8   uint32    version (kVocabFileVersion; bumped on any layout change)
//         12   uint64 J, then J bytes of JSON: {"params", "words" (the vocabulary's words in id
//                        order), "fits" (MapFit per length), "rounds" (RoundLog)}
//          .   CandidateUnits::serialize(): uint64 C, then C candidates: uint8 length L,
//              L x uint32 word ids, uint64 count
//          .   uint32 rows, uint32 dimension, rows x dimension float32: the word vectors
//          .   uint32 M maps: uint32 length, uint32 rows, uint32 cols, rows x cols float32
//              (rows = cols = 0: the mean of the parts)
//          .   uint64 A admitted: uint32 unit, float64 frequency, float64 standard error
//          .   uint64 B, then B bytes of DynamicVocab::serialize()
//          .   16 bytes: the first 16 bytes of SHA-256 over everything above
//
//   VocabFile f = VocabFile::read("units.vocab");       // Error "<path>: <what> at byte <n>"
//   Tokenizer tok = f.tokenizer();                       // the admitted units
//   f.builder.add_round(mss, tally, f.params.admission, source);
//   f.sync_index();                                      // embed added units, drop removed
//   f.write("units-2.vocab");
//
// Not thread-safe for concurrent modification; const methods may run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "residue/core/error.h"
#include "residue/lm/vocabulary.h"
#include "residue/retrieval/candidate_units.h"
#include "residue/retrieval/tokenizer.h"
#include "residue/vocab/dynamic_vocab.h"
#include "residue/vocab/unit_embeddings.h"
#include "residue/vocab/vocab_builder.h"

namespace residue {

inline constexpr uint32_t kVocabFileVersion = 1;

/// How the public pieces were made (so that `update` and `tokenize` rebuild the same domain
/// text), and the admission settings later rounds inherit.
/// One round of the log as the file stores it: its source, z, U, the units tested, and the
/// ids added, removed and admitted.
nlohmann::json to_json(const RoundLog& round);

struct VocabParams {
  std::string corpus;  ///< directory of sentences.tsv the public pieces came from
  uint32_t vocab_words = 4096;
  CandidateOptions candidates;
  uint64_t split_seed = 1;  ///< Corpus::split_domain seed: client text and held-out test text
  UnitEmbeddingOptions embedding;
  AdmissionOptions admission;
};

struct VocabFile {
  VocabParams params;
  Vocabulary vocab;
  CandidateUnits candidates;
  UnitEmbedder embedder;
  VocabBuilder builder;
  /// Embeddings of the admitted units under their candidate ids (inner product, normalized).
  DynamicVocab index;

  /// An empty index for `dimension`-float embeddings, searched by inner product.
  static DynamicVocab new_index(uint32_t dimension);
  /// Makes `index` hold exactly the admitted units: embeds those it lacks, removes the others.
  void sync_index();
  /// The admitted units, for dynamic tokenization (unit id = candidate id).
  Tokenizer tokenizer() const;

  std::vector<uint8_t> serialize() const;
  /// Never throws: malformed, truncated or inconsistent bytes give a ParseError naming the
  /// field and its byte offset.
  static ParseResult<VocabFile> parse(std::span<const uint8_t> bytes);
  /// Throws Error naming the path when it cannot be written.
  void write(const std::filesystem::path& path) const;
  /// Throws Error "<path>: <what> at byte <offset>" on a missing or malformed file.
  static VocabFile read(const std::filesystem::path& path);
};

}  // namespace residue

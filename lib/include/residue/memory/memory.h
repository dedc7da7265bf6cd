// Memory: a private retrieval memory as one value and one file. It holds the public pieces a
// query needs (the vocabulary, the word embeddings of the KeyEncoder, the Codebook) and one
// count table per "arm" (the LDP memory and its variants, the non-private memory, the private
// unigram, the data-free controls), each with the hyper-parameters tuned for it. The base
// language model is not stored: it is public and rebuilt from the corpus in a second or two
// (memory_setup.h), which the JSON header names.
//
//   Memory m = Memory::read("brown.mem");
//   const MemoryArm& ldp = m.arm(m.info().default_arm);
//   MemoryDecoder decoder(m.codebook(), ldp, m.tokens());        // memory_decoder.h
//   m.write("copy.mem");
//
// File (little-endian; docs/memory.md):
//   offset 0    8 bytes  magic "RSDMEMRY"
//          8    uint32   version (1)
//         12    uint32   H, the JSON header's length in bytes
//         16    H bytes  JSON header: "format" "residue.memory.1", "info", "vocabulary" (words in
//                        id order), "codebook_bytes", "embeddings_bytes", "arms" (name, kind,
//                        description, hyper, tuning_perplexity, rows), "default_arm"
//                        codebook: a FAISS IndexFlatL2 of the centroids (faiss::write_index)
//                        embeddings: WordEmbeddings::serialize()
//                        tables: rows x tokens float64 counts of each arm with rows > 0, in
//                        the header's order
//   end - 8     uint64   FNV-1a 64 of every byte before it
// Immutable: thread-safe for concurrent reads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "residue/core/error.h"
#include "residue/lm/vocabulary.h"
#include "residue/retrieval/codebook.h"
#include "residue/retrieval/embeddings.h"
#include "residue/retrieval/key_encoder.h"

namespace residue {

inline constexpr std::string_view kMemoryFormat = "residue.memory.1";

/// How an arm predicts the next token before it is mixed with the base LM.
enum class ArmKind {
  kBase,     ///< no memory: p = p_LM (lambda is 0)
  kUniform,  ///< a memory with no data: p_mem uniform over the tokens
  kUnigram,  ///< one context-free row of counts (the private unigram baseline)
  kCells,    ///< one row of counts per codebook cell, read through the K nearest cells
};

std::string_view arm_kind_name(ArmKind kind);
/// Throws Error naming the bad value.
ArmKind parse_arm_kind(std::string_view name);

/// The decoder's hyper-parameters, chosen on the tuning split (memory_tuning.h).
struct MemoryHyper {
  uint32_t neighbours = 1;  ///< K, the nearest cells read per query (kCells)
  double temperature = 1;   ///< T of softmax(-d_i / T) over their squared L2 distances d_i
  double alpha = 1;         ///< add-alpha smoothing of a row of counts
  double lambda = 0;        ///< p = lambda p_mem + (1 - lambda) p_LM
  bool operator==(const MemoryHyper&) const = default;
};

struct MemoryArm {
  std::string name;  ///< e.g. "ldp_two_stage"
  ArmKind kind = ArmKind::kBase;
  std::string description;  ///< one line for tables
  MemoryHyper hyper;
  /// Perplexity on the tuning split at `hyper` (0 when not tuned).
  double tuning_perplexity = 0;
  /// Counts, row-major rows() x tokens: kCells one row per cell, kUnigram one row, others
  /// none. Non-negative (estimates are post-processed before they get here).
  std::vector<double> counts;
};

/// What the memory was built from; everything else a build chose goes in `settings`.
struct MemoryInfo {
  std::string source;       ///< "simulated" (clients drawn from the domain text) or "store"
  std::string data_dir;     ///< the corpus directory (data/brown)
  uint64_t split_seed = 1;  ///< Corpus::split_domain seed
  double epsilon = 0;       ///< per report
  uint64_t reports = 0;     ///< n
  std::string protocol_id;  ///< e.g. "residue.mss.1"
  KeyEncoderOptions key_options;
  /// Size of the corpus the public pieces came from, checked when it is loaded again.
  uint64_t general_tokens = 0;
  uint64_t domain_tokens = 0;
  std::string default_arm;  ///< the arm `residue memory query` uses
  nlohmann::json settings = nlohmann::json::object();
};

class Memory {
 public:
  /// Throws Error naming the problem unless: the embeddings have tokens + 1 rows (the last is
  /// <s>) and the codebook's dimension; arm names are unique and non-empty; each arm's counts
  /// fit its kind (cells x tokens, 1 x tokens, or none), are finite and non-negative; its
  /// hyper-parameters are valid (1 <= K <= cells, T > 0, alpha >= 0, lambda in [0, 1], and
  /// lambda = 0 for kBase); default_arm names an arm.
  Memory(MemoryInfo info, std::vector<std::string> words, WordEmbeddings embeddings,
         Codebook codebook, std::vector<MemoryArm> arms);

  const MemoryInfo& info() const { return info_; }
  /// V + 1: the vocabulary's words and the unknown token.
  uint32_t tokens() const { return static_cast<uint32_t>(words_.size()) + 1; }
  uint32_t cells() const { return codebook_.cells(); }
  uint32_t dimension() const { return codebook_.dimension(); }
  const std::vector<std::string>& words() const { return words_; }
  Vocabulary vocabulary() const { return Vocabulary(words_); }
  const WordEmbeddings& embeddings() const { return encoder_.embeddings(); }
  /// The embeddings with info().key_options.
  const KeyEncoder& key_encoder() const { return encoder_; }
  const Codebook& codebook() const { return codebook_; }
  const std::vector<MemoryArm>& arms() const { return arms_; }
  bool has_arm(std::string_view name) const;
  /// Throws Error listing the arms when there is none of that name.
  const MemoryArm& arm(std::string_view name) const;

  std::vector<uint8_t> serialize() const;
  /// Parses serialize()'s output; never throws (untrusted bytes): the error says what is
  /// wrong and at which byte offset.
  static ParseResult<Memory> parse(std::span<const uint8_t> bytes);
  /// Write (atomically: a temporary file, then rename) or read a file. Throws Error naming the
  /// file and, when malformed, the byte offset.
  void write(const std::filesystem::path& file) const;
  static Memory read(const std::filesystem::path& file);

 private:
  MemoryInfo info_;
  std::vector<std::string> words_;
  KeyEncoder encoder_;
  Codebook codebook_;
  std::vector<MemoryArm> arms_;
};

/// Rows of counts an arm of `kind` has in a memory of `cells` cells.
uint32_t arm_rows(ArmKind kind, uint32_t cells);

/// FNV-1a 64 of `bytes`: the memory file's trailing checksum.
uint64_t fnv1a64(std::span<const uint8_t> bytes);

}  // namespace residue

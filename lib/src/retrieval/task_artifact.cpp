#include "residue/retrieval/task_artifact.h"

#include <algorithm>
#include <array>
#include <bit>
#include <limits>
#include <string>

#include "residue/core/sha256.h"
#include "residue/retrieval/corpus.h"
#include "residue/retrieval/joint_value.h"
#include "retrieval/byte_cursor.h"
#include "retrieval/matrix_file.h"

namespace residue {
namespace {

using byte_cursor::Cursor;
using byte_cursor::put_section;
using byte_cursor::put_u32;

constexpr std::size_t kChecksumBytes = std::tuple_size_v<Sha256Digest>;

// The magic, the sections, the checksum.
std::vector<uint8_t> seal(std::string_view magic, std::span<const std::vector<uint8_t>> sections) {
  std::vector<uint8_t> out(magic.begin(), magic.end());
  for (const std::vector<uint8_t>& s : sections) put_section(out, s);
  const auto digest = sha256(out);
  out.insert(out.end(), digest.begin(), digest.end());
  return out;
}

struct Section {
  std::span<const uint8_t> bytes;
  std::size_t offset;  // of its first byte in the file
};

// Checks the magic, splits the body into `names.size()` sections and verifies the checksum.
ParseResult<std::vector<Section>> unseal(std::span<const uint8_t> bytes, std::string_view magic,
                                         std::string_view what,
                                         std::span<const std::string_view> names) {
  const auto fail = [&](std::string message, std::size_t offset) {
    return ParseError{std::string(what) + ": " + std::move(message), offset};
  };
  for (std::size_t i = 0; i < magic.size(); ++i) {
    if (i == bytes.size()) return fail("the file ends inside the magic line (truncated?)", i);
    if (bytes[i] != static_cast<uint8_t>(magic[i])) {
      return fail("not a " + std::string(what) + " of this version (expected the line \"" +
                      std::string(magic.substr(0, magic.size() - 1)) + "\")",
                  i);
    }
  }
  if (bytes.size() < magic.size() + kChecksumBytes) {
    return fail("the file ends before its checksum (truncated?)", bytes.size());
  }
  const std::size_t body_end = bytes.size() - kChecksumBytes;
  Cursor r(bytes.subspan(magic.size(), body_end - magic.size()));
  std::vector<Section> sections;
  for (std::string_view name : names) {
    const std::size_t at = magic.size() + r.pos();
    const auto s = r.section();
    if (!s) return fail("the file ends inside the " + std::string(name) + " (truncated?)", at);
    sections.push_back({*s, at + 8});
  }
  if (r.left() != 0) {
    return fail(
        std::to_string(r.left()) + " unexpected bytes after the " + std::string(names.back()),
        magic.size() + r.pos());
  }
  const auto digest = sha256(bytes.first(body_end));
  if (!std::equal(digest.begin(), digest.end(), bytes.begin() + static_cast<long>(body_end))) {
    return fail("checksum mismatch: the file is corrupt (the SHA-256 of its contents differs)",
                body_end);
  }
  return sections;
}

std::vector<uint8_t> vocabulary_bytes(const Vocabulary& vocab) {
  std::vector<uint8_t> out;
  put_u32(out, static_cast<uint32_t>(vocab.words().size()));
  for (const std::string& w : vocab.words()) {
    put_u32(out, static_cast<uint32_t>(w.size()));
    out.insert(out.end(), w.begin(), w.end());
  }
  return out;
}

ParseResult<Vocabulary> parse_vocabulary(Section s) {
  Cursor r(s.bytes);
  std::size_t at = 0;  // errors point at the field that was read last
  const auto fail = [&](std::string message) {
    return ParseError{"vocabulary: " + std::move(message), s.offset + at};
  };
  const std::optional<uint64_t> n = r.uint(4);
  // A word takes at least 5 bytes: a corrupt count cannot make us allocate.
  if (!n || *n > r.left() / 5) return fail("the word count exceeds the section (corrupt?)");
  std::vector<std::string> words;
  words.reserve(static_cast<std::size_t>(*n));
  for (uint64_t i = 0; i < *n; ++i) {
    at = r.pos();
    const std::optional<uint64_t> length = r.uint(4);
    const auto word = length ? r.take(*length) : std::nullopt;
    if (!word) return fail("the section ends inside word " + std::to_string(i));
    words.emplace_back(word->begin(), word->end());
  }
  at = r.pos();
  if (r.left() != 0) return fail(std::to_string(r.left()) + " bytes after the last word");
  try {
    return Vocabulary(std::move(words));
  } catch (const Error& e) {
    return ParseError{e.what(), s.offset};
  }
}

// A piece parser's error, with its offset made an offset in the file.
ParseError in_file(const ParseError& e, const Section& s) {
  return {e.message, s.offset + e.offset};
}

constexpr std::array<std::string_view, 5> kMemorySections = {
    "vocabulary", "embeddings", "key options", "codebook", "shortlist"};
constexpr std::array<std::string_view, 2> kVocabSections = {"vocabulary", "candidates"};

template <typename T>
T read_file(const std::filesystem::path& file, std::string_view what) {
  const std::vector<uint8_t> bytes = matrix_file::read_bytes(file, what);
  ParseResult<T> a = T::parse(bytes);
  if (!a.ok()) {
    throw Error(a.error().message + " in " + file.string() + " at byte " +
                std::to_string(a.error().offset) + ".");
  }
  return std::move(a).value();
}

std::vector<uint8_t> shortlist_bytes(std::span<const uint32_t> shortlist) {
  std::vector<uint8_t> out;
  put_u32(out, static_cast<uint32_t>(shortlist.size()));
  for (uint32_t t : shortlist) put_u32(out, t);
  return out;
}

// The shortlist section against `tokens`: its ids, or a ParseError at the offending field.
ParseResult<std::vector<uint32_t>> parse_shortlist(Section s, uint32_t tokens) {
  Cursor r(s.bytes);
  const std::optional<uint64_t> n = r.uint(4);
  if (!n || *n == 0 || *n >= tokens || *n != r.left() / 4 || r.left() % 4 != 0) {
    return ParseError{"shortlist: its size must be in [1, " + std::to_string(tokens) +
                          ") and the section hold that many uint32 token ids",
                      s.offset};
  }
  std::vector<uint32_t> ids;
  std::vector<bool> seen(tokens, false);
  for (uint64_t i = 0; i < *n; ++i) {
    const std::size_t at = s.offset + r.pos();
    const auto id = static_cast<uint32_t>(*r.uint(4));
    if (id >= tokens) {
      return ParseError{"shortlist: entry " + std::to_string(i) + " is token " +
                            std::to_string(id) + ", outside [0, " + std::to_string(tokens) + ")",
                        at};
    }
    if (seen[id]) {
      return ParseError{"shortlist: token " + std::to_string(id) + " is listed twice", at};
    }
    seen[id] = true;
    ids.push_back(id);
  }
  return ids;
}

}  // namespace

MemoryArtifact::MemoryArtifact(Vocabulary vocab, KeyEncoder encoder, Codebook codebook,
                               std::vector<uint32_t> shortlist)
    : vocab_(std::move(vocab)),
      encoder_(std::move(encoder)),
      codebook_(std::move(codebook)),
      shortlist_(std::move(shortlist)) {
  if (encoder_.embeddings().rows() != uint64_t{vocab_.size()} + 1) {
    throw Error("memory artifact: the embeddings have " +
                std::to_string(encoder_.embeddings().rows()) + " rows, but " +
                std::to_string(vocab_.size()) + " tokens and <s> need " +
                std::to_string(uint64_t{vocab_.size()} + 1) + ".");
  }
  if (codebook_.dimension() != encoder_.dimension()) {
    throw Error("memory artifact: the codebook has dimension " +
                std::to_string(codebook_.dimension()) + ", the key encoder " +
                std::to_string(encoder_.dimension()) + ".");
  }
  if (uint64_t{codebook_.cells()} * vocab_.size() > std::numeric_limits<uint32_t>::max()) {
    throw Error("memory artifact: " + std::to_string(codebook_.cells()) + " cells x " +
                std::to_string(vocab_.size()) + " tokens do not fit a 32-bit report value.");
  }
  if (shortlist_.empty()) return;
  if (shortlist_.size() >= vocab_.size()) {
    throw Error("memory artifact: a shortlist of " + std::to_string(shortlist_.size()) +
                " tokens must be shorter than the " + std::to_string(vocab_.size()) + " tokens.");
  }
  const auto size = static_cast<uint32_t>(shortlist_.size());
  shortlist_index_.assign(vocab_.size(), size);
  for (uint32_t j = 0; j < size; ++j) {
    const uint32_t t = shortlist_[j];
    if (t >= vocab_.size() || shortlist_index_[t] != size) {
      throw Error("memory artifact: shortlist entry " + std::to_string(j) + " (token " +
                  std::to_string(t) + ") is " +
                  (t >= vocab_.size() ? "not a token" : "listed twice") + ".");
    }
    shortlist_index_[t] = j;
  }
}

std::vector<uint8_t> MemoryArtifact::serialize() const {
  std::vector<uint8_t> key;
  put_u32(key, encoder_.options().window);
  put_u32(key, std::bit_cast<uint32_t>(encoder_.options().decay));
  std::vector<std::vector<uint8_t>> sections = {
      vocabulary_bytes(vocab_), encoder_.embeddings().serialize(), key, codebook_.serialize()};
  // Version 1 stays the format of an artifact without a shortlist: its bytes, and the hash of
  // every task over it, do not change.
  if (shortlist_.empty()) return seal(kMemoryArtifactMagic, sections);
  sections.push_back(shortlist_bytes(shortlist_));
  return seal(kShortlistArtifactMagic, sections);
}

ParseResult<MemoryArtifact> MemoryArtifact::parse(std::span<const uint8_t> bytes) {
  const bool with_shortlist =
      bytes.size() >= kShortlistArtifactMagic.size() &&
      std::equal(kShortlistArtifactMagic.begin(), kShortlistArtifactMagic.end(), bytes.begin());
  ParseResult<std::vector<Section>> s =
      with_shortlist ? unseal(bytes, kShortlistArtifactMagic, "memory artifact", kMemorySections)
                     : unseal(bytes, kMemoryArtifactMagic, "memory artifact",
                              std::span(kMemorySections).first(4));
  if (!s.ok()) return s.error();
  const std::vector<Section>& section = s.value();
  ParseResult<Vocabulary> vocab = parse_vocabulary(section[0]);
  if (!vocab.ok()) return vocab.error();
  ParseResult<WordEmbeddings> embeddings = WordEmbeddings::parse(section[1].bytes);
  if (!embeddings.ok()) return in_file(embeddings.error(), section[1]);
  Cursor key(section[2].bytes);
  const std::optional<uint64_t> window = key.uint(4), decay = key.uint(4);
  if (!window || !decay || key.left() != 0) {
    return ParseError{"key options: the section is not 8 bytes", section[2].offset};
  }
  ParseResult<Codebook> codebook = Codebook::parse(section[3].bytes);
  if (!codebook.ok()) return in_file(codebook.error(), section[3]);
  std::vector<uint32_t> shortlist;
  if (with_shortlist) {
    ParseResult<std::vector<uint32_t>> ids = parse_shortlist(section[4], vocab.value().size());
    if (!ids.ok()) return ids.error();
    shortlist = std::move(ids).value();
  }
  try {
    KeyEncoder encoder(std::move(embeddings).value(),
                       {.window = static_cast<uint32_t>(*window),
                        .decay = std::bit_cast<float>(static_cast<uint32_t>(*decay))});
    // parse_shortlist checked the shortlist: an error here is one of the key options'.
    return MemoryArtifact(std::move(vocab).value(), std::move(encoder), std::move(codebook).value(),
                          std::move(shortlist));
  } catch (const Error& e) {
    return ParseError{e.what(), section[2].offset};
  }
}

void MemoryArtifact::write(const std::filesystem::path& file) const {
  matrix_file::write_bytes(file, serialize(), "memory artifact");
}

MemoryArtifact MemoryArtifact::read(const std::filesystem::path& file) {
  return read_file<MemoryArtifact>(file, "memory artifact");
}

VocabArtifact::VocabArtifact(Vocabulary vocab, CandidateUnits candidates)
    : vocab_(std::move(vocab)), candidates_(std::move(candidates)) {
  for (uint32_t id = 0; id < candidates_.size(); ++id) {
    for (uint32_t w : candidates_.words(id)) {
      if (w >= vocab_.unknown()) {
        throw Error("vocab artifact: unit " + std::to_string(id) + " holds word id " +
                    std::to_string(w) + ", not one of the " + std::to_string(vocab_.unknown()) +
                    " words of the vocabulary.");
      }
    }
  }
}

std::vector<uint8_t> VocabArtifact::serialize() const {
  const std::vector<uint8_t> sections[] = {vocabulary_bytes(vocab_), candidates_.serialize()};
  return seal(kVocabArtifactMagic, sections);
}

ParseResult<VocabArtifact> VocabArtifact::parse(std::span<const uint8_t> bytes) {
  ParseResult<std::vector<Section>> s =
      unseal(bytes, kVocabArtifactMagic, "vocab artifact", kVocabSections);
  if (!s.ok()) return s.error();
  const std::vector<Section>& section = s.value();
  ParseResult<Vocabulary> vocab = parse_vocabulary(section[0]);
  if (!vocab.ok()) return vocab.error();
  // parse() checks every word id against the vocabulary: the constructor cannot throw.
  ParseResult<CandidateUnits> candidates =
      CandidateUnits::parse(section[1].bytes, vocab.value().unknown());
  if (!candidates.ok()) return in_file(candidates.error(), section[1]);
  return VocabArtifact(std::move(vocab).value(), std::move(candidates).value());
}

void VocabArtifact::write(const std::filesystem::path& file) const {
  matrix_file::write_bytes(file, serialize(), "vocab artifact");
}

VocabArtifact VocabArtifact::read(const std::filesystem::path& file) {
  return read_file<VocabArtifact>(file, "vocab artifact");
}

uint32_t memory_value(const MemoryArtifact& artifact, std::span<const std::string> words_before,
                      std::string_view next_word) {
  if (next_word.empty())
    throw Error("memory_value: next_word is empty; there is nothing to report.");
  const Vocabulary& vocab = artifact.vocab();
  const KeyEncoder& encoder = artifact.encoder();
  // Only the last `window` tokens enter the key (key_encoder.h), <s> when the context is short.
  const std::size_t used = std::min<std::size_t>(words_before.size(), encoder.options().window);
  std::vector<uint32_t> history;
  if (used < encoder.options().window) history.push_back(encoder.bos());
  for (const std::string& w : words_before.last(used)) history.push_back(vocab.id(w));
  const uint32_t cell = artifact.codebook().cell(encoder.encode(history));
  const uint32_t token = vocab.id(next_word);
  if (artifact.shortlist().empty()) {
    return static_cast<uint32_t>(joint_value(cell, token, vocab.size()));
  }
  const auto size = static_cast<uint32_t>(artifact.shortlist().size());
  return static_cast<uint32_t>(joint_value(cell, artifact.shortlist_index(token), size + 1));
}

uint32_t memory_stage_domain(const MemoryArtifact& artifact, MemoryStage stage) {
  const bool shortlist = !artifact.shortlist().empty();
  if (shortlist != (stage == MemoryStage::kShortlist)) {
    std::string message = "a \"";
    message += memory_stage_name(stage);
    message += shortlist
                   ? "\" memory task needs an artifact without a shortlist (this one has one: "
                     "it is for stage = \"shortlist\")."
                   : "\" memory task needs an artifact with a shortlist (`residue memory "
                     "shortlist` writes one).";
    throw Error(message);
  }
  return stage == MemoryStage::kTokens ? artifact.vocab().size() : artifact.domain();
}

uint32_t memory_stage_value(const MemoryArtifact& artifact, MemoryStage stage,
                            std::span<const std::string> words_before, std::string_view next_word) {
  memory_stage_domain(artifact, stage);  // throws when the artifact does not fit the stage
  if (stage != MemoryStage::kTokens) return memory_value(artifact, words_before, next_word);
  if (next_word.empty())
    throw Error("memory_value: next_word is empty; there is nothing to report.");
  return artifact.vocab().id(next_word);
}

std::optional<uint32_t> pick_unit(const VocabArtifact& artifact, std::string_view text, Rng& rng) {
  const std::vector<uint32_t> ids = artifact.vocab().ids(text_tokens(text));
  const std::vector<uint32_t> found = artifact.candidates().occurrences(ids);
  if (found.empty()) return std::nullopt;
  return found[rng.uniform(found.size())];
}

}  // namespace residue

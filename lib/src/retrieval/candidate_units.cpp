#include "residue/retrieval/candidate_units.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "residue/core/error.h"
#include "residue/lm/vocabulary.h"
#include "retrieval/byte_cursor.h"

namespace residue {
namespace {

void check_options(const CandidateOptions& o) {
  if (o.max_units == 0) throw Error("candidates: max_units must be at least 1, but is 0.");
  if (o.min_length < 2 || o.max_length > CandidateUnits::kMaxUnitWords ||
      o.min_length > o.max_length) {
    throw Error("candidates: unit lengths must satisfy 2 <= min_length <= max_length <= " +
                std::to_string(CandidateUnits::kMaxUnitWords) + ", but are " +
                std::to_string(o.min_length) + " and " + std::to_string(o.max_length) + ".");
  }
}

// Unpacks key() again: slots hold word + 1, highest slot first, 0 = unused.
std::vector<uint32_t> unpack(uint64_t key) {
  std::vector<uint32_t> words;
  for (int slot = 2; slot >= 0; --slot) {
    const auto w = static_cast<uint32_t>((key >> (21 * slot)) & 0x1fffff);
    if (w != 0) words.push_back(w - 1);
  }
  return words;
}

}  // namespace

uint64_t CandidateUnits::key(std::span<const uint32_t> words) {
  uint64_t k = 0;
  for (uint32_t w : words) k = (k << 21) | (uint64_t{w} + 1);
  // Left-align, so that "a b" and "a b c" differ and unpack() reads slots from the top.
  return k << (21 * (kMaxUnitWords - words.size()));
}

CandidateUnits CandidateUnits::extract(std::span<const std::vector<uint32_t>> sentences,
                                       const Vocabulary& vocab, const CandidateOptions& options) {
  check_options(options);
  const uint32_t unknown = vocab.unknown();
  if (unknown > kMaxWordId + 1) {
    throw Error("candidates: the vocabulary has " + std::to_string(unknown) + " words; at most " +
                std::to_string(kMaxWordId + 1) + " are supported.");
  }
  // Tokens that may be part of a unit: every known word, or only those with a letter or digit.
  std::vector<bool> allowed(unknown, true);
  if (options.words_only) {
    for (uint32_t w = 0; w < unknown; ++w) {
      const std::string_view word = vocab.word(w);
      allowed[w] = std::any_of(word.begin(), word.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch));
      });
    }
  }
  std::unordered_map<uint64_t, uint64_t> counts;
  for (std::size_t s = 0; s < sentences.size(); ++s) {
    const std::vector<uint32_t>& sentence = sentences[s];
    for (std::size_t i = 0; i < sentence.size(); ++i) {
      if (sentence[i] >= vocab.size()) {
        throw Error("candidates: sentence " + std::to_string(s) + " holds word id " +
                    std::to_string(sentence[i]) + ", outside a vocabulary of " +
                    std::to_string(vocab.size()) + ".");
      }
      // Grow the n-gram starting at i word by word; stop at <unk> or the sentence's end.
      uint64_t k = 0;
      for (std::size_t len = 1; len <= options.max_length && i + len <= sentence.size(); ++len) {
        const uint32_t w = sentence[i + len - 1];
        if (w >= unknown || !allowed[w]) break;
        k = (k << 21) | (uint64_t{w} + 1);
        if (len >= options.min_length) ++counts[k << (21 * (kMaxUnitWords - len))];
      }
    }
  }
  std::vector<std::pair<uint64_t, uint64_t>> ranked(counts.begin(), counts.end());
  // Count descending, then by word ids (the packed key orders them lexicographically, with a
  // shorter unit before its extensions).
  auto by_rank = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  const std::size_t keep = std::min(options.max_units, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep),
                    ranked.end(), by_rank);
  std::vector<std::vector<uint32_t>> units;
  std::vector<uint64_t> unit_counts;
  units.reserve(keep);
  unit_counts.reserve(keep);
  for (std::size_t i = 0; i < keep; ++i) {
    units.push_back(unpack(ranked[i].first));
    unit_counts.push_back(ranked[i].second);
  }
  return CandidateUnits(std::move(units), std::move(unit_counts));
}

CandidateUnits::CandidateUnits(std::vector<std::vector<uint32_t>> units,
                               std::vector<uint64_t> counts)
    : counts_(std::move(counts)) {
  if (units.size() != counts_.size()) {
    throw Error("candidates: " + std::to_string(units.size()) + " units but " +
                std::to_string(counts_.size()) + " counts.");
  }
  if (units.size() > UINT32_MAX) throw Error("candidates: more than 2^32 - 1 units.");
  ids_.reserve(units.size());
  for (std::size_t id = 0; id < units.size(); ++id) {
    const std::vector<uint32_t>& u = units[id];
    if (u.size() < 2 || u.size() > kMaxUnitWords) {
      throw Error("candidates: unit " + std::to_string(id) + " has " + std::to_string(u.size()) +
                  " words; units have 2 to " + std::to_string(kMaxUnitWords) + ".");
    }
    for (uint32_t w : u) {
      if (w > kMaxWordId) {
        throw Error("candidates: unit " + std::to_string(id) + " holds word id " +
                    std::to_string(w) + ", above the largest supported " +
                    std::to_string(kMaxWordId) + ".");
      }
    }
    if (!ids_.emplace(key(u), static_cast<uint32_t>(id)).second) {
      throw Error("candidates: unit " + std::to_string(id) + " repeats unit " +
                  std::to_string(ids_.at(key(u))) + ".");
    }
    words_.insert(words_.end(), u.begin(), u.end());
    offsets_.push_back(words_.size());
  }
}

std::optional<uint32_t> CandidateUnits::find(std::span<const uint32_t> words) const {
  if (words.size() < 2 || words.size() > kMaxUnitWords) return std::nullopt;
  for (uint32_t w : words) {
    if (w > kMaxWordId) return std::nullopt;
  }
  auto it = ids_.find(key(words));
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::string CandidateUnits::text(uint32_t id, const Vocabulary& vocab) const {
  std::string out;
  for (uint32_t w : words(id)) {
    if (!out.empty()) out += ' ';
    out += vocab.word(w);
  }
  return out;
}

std::vector<uint64_t> CandidateUnits::count_occurrences(
    std::span<const std::vector<uint32_t>> sentences) const {
  std::vector<uint64_t> counts(size(), 0);
  for (const std::vector<uint32_t>& sentence : sentences) {
    for (uint32_t id : occurrences(sentence)) ++counts[id];
  }
  return counts;
}

std::vector<uint32_t> CandidateUnits::occurrences(std::span<const uint32_t> words) const {
  std::vector<uint32_t> ids;
  for (std::size_t i = 0; i < words.size(); ++i) {
    for (std::size_t len = 2; len <= kMaxUnitWords && i + len <= words.size(); ++len) {
      if (auto id = find(words.subspan(i, len))) ids.push_back(*id);
    }
  }
  return ids;
}

Tokenizer CandidateUnits::tokenizer(std::span<const uint32_t> units) const {
  std::vector<VocabUnit> v;
  v.reserve(units.size());
  for (uint32_t u : units) {
    const std::span<const uint32_t> w = words(u);
    v.push_back({.id = u, .words = {w.begin(), w.end()}});
  }
  return Tokenizer(std::move(v));
}

std::vector<uint8_t> CandidateUnits::serialize() const {
  std::vector<uint8_t> out;
  byte_cursor::put_u64(out, size());
  for (uint32_t id = 0; id < size(); ++id) {
    out.push_back(static_cast<uint8_t>(words(id).size()));
    for (uint32_t w : words(id)) byte_cursor::put_u32(out, w);
    byte_cursor::put_u64(out, counts_[id]);
  }
  return out;
}

ParseResult<CandidateUnits> CandidateUnits::parse(std::span<const uint8_t> bytes, uint32_t words,
                                                  std::size_t* used) {
  byte_cursor::Cursor r(bytes);
  // Errors point at the field that was read last.
  std::size_t at = 0;
  const auto fail = [&](std::string message) {
    return ParseError{"candidates: " + std::move(message), at};
  };
  const std::optional<uint64_t> n = r.uint(8);
  // Each unit takes at least 1 + 2 * 4 + 8 bytes: a corrupt count cannot make us allocate.
  if (!n || *n > r.left() / 17) return fail("the unit count exceeds the bytes (truncated?)");
  std::vector<std::vector<uint32_t>> units(static_cast<std::size_t>(*n));
  std::vector<uint64_t> counts(static_cast<std::size_t>(*n));
  std::unordered_map<uint64_t, uint32_t> seen;
  for (std::size_t i = 0; i < units.size(); ++i) {
    at = r.pos();
    const std::optional<uint64_t> length = r.uint(1);
    if (!length) return fail("the bytes end inside unit " + std::to_string(i));
    if (*length < 2 || *length > kMaxUnitWords) {
      return fail("unit " + std::to_string(i) + " has " + std::to_string(*length) +
                  " words; units have 2 to " + std::to_string(kMaxUnitWords));
    }
    for (uint64_t k = 0; k < *length; ++k) {
      at = r.pos();
      const std::optional<uint64_t> w = r.uint(4);
      if (!w) return fail("the bytes end inside unit " + std::to_string(i));
      if (*w >= words || *w > kMaxWordId) {
        return fail("unit " + std::to_string(i) + " holds word id " + std::to_string(*w) +
                    ", not one of the " + std::to_string(words) + " words");
      }
      units[i].push_back(static_cast<uint32_t>(*w));
    }
    if (!seen.emplace(key(units[i]), static_cast<uint32_t>(i)).second) {
      return fail("unit " + std::to_string(i) + " repeats unit " +
                  std::to_string(seen.at(key(units[i]))));
    }
    at = r.pos();
    const std::optional<uint64_t> count = r.uint(8);
    if (!count) return fail("the bytes end inside unit " + std::to_string(i));
    counts[i] = *count;
  }
  at = r.pos();
  if (used != nullptr) {
    *used = r.pos();
  } else if (r.left() != 0) {
    return fail(std::to_string(r.left()) + " bytes after the last unit");
  }
  // Every check of the constructor was made above: it cannot throw here.
  return CandidateUnits(std::move(units), std::move(counts));
}

}  // namespace residue

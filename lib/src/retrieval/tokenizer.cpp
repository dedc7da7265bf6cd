#include "residue/retrieval/tokenizer.h"

#include <string>

#include "residue/core/error.h"
#include "residue/lm/vocabulary.h"

namespace residue {

VocabUnit make_unit(int64_t id, std::string_view text, const Vocabulary& vocab) {
  VocabUnit unit{.id = id, .words = {}};
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find(' ', pos), text.size());
    if (end > pos) {
      const std::string_view word = text.substr(pos, end - pos);
      const uint32_t w = vocab.id(word);
      if (w == vocab.unknown())
        throw Error("make_unit: word '" + std::string(word) + "' of unit '" + std::string(text) +
                    "' is not in the vocabulary.");
      unit.words.push_back(w);
    }
    pos = end + 1;
  }
  return unit;
}

Tokenizer::Tokenizer(std::vector<VocabUnit> units) : units_(std::move(units)) {
  unit_at_.push_back(-1);  // the root
  by_id_.reserve(units_.size());
  for (std::size_t u = 0; u < units_.size(); ++u) {
    const VocabUnit& unit = units_[u];
    if (unit.id < 0)
      throw Error("Tokenizer: unit ids must be >= 0, but one is " + std::to_string(unit.id) + ".");
    if (unit.words.size() < 2)
      throw Error("Tokenizer: unit " + std::to_string(unit.id) + " has " +
                  std::to_string(unit.words.size()) + " word(s); a unit needs at least 2.");
    if (!by_id_.emplace(unit.id, u).second)
      throw Error("Tokenizer: unit id " + std::to_string(unit.id) + " appears twice.");
    uint32_t node = 0;
    for (uint32_t w : unit.words) {
      auto [it, added] = edges_.try_emplace(edge(node, w), static_cast<uint32_t>(unit_at_.size()));
      if (added) unit_at_.push_back(-1);
      node = it->second;
    }
    if (unit_at_[node] >= 0)
      throw Error("Tokenizer: units " + std::to_string(units_[unit_at_[node]].id) + " and " +
                  std::to_string(unit.id) + " have the same words.");
    unit_at_[node] = static_cast<int64_t>(u);
    max_length_ = std::max(max_length_, unit.words.size());
  }
}

std::vector<Token> Tokenizer::tokenize(std::span<const uint32_t> words) const {
  std::vector<Token> out;
  out.reserve(words.size());
  std::size_t i = 0;
  while (i < words.size()) {
    // Walk the trie as far as the words allow, remembering the longest unit passed.
    uint32_t node = 0;
    std::size_t best_length = 0;
    int64_t best_unit = -1;
    for (std::size_t j = i; j < words.size(); ++j) {
      auto it = edges_.find(edge(node, words[j]));
      if (it == edges_.end()) break;
      node = it->second;
      if (unit_at_[node] >= 0) {
        best_length = j - i + 1;
        best_unit = unit_at_[node];
      }
    }
    if (best_unit >= 0) {
      out.push_back({.is_unit = true, .id = units_[static_cast<std::size_t>(best_unit)].id});
      i += best_length;
    } else {
      out.push_back({.is_unit = false, .id = words[i]});
      ++i;
    }
  }
  return out;
}

std::span<const uint32_t> Tokenizer::words_of(int64_t id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end())
    throw Error("Tokenizer: unit id " + std::to_string(id) + " is not in this tokenizer.");
  return units_[it->second].words;
}

std::vector<uint32_t> Tokenizer::detokenize(std::span<const Token> tokens) const {
  std::vector<uint32_t> out;
  out.reserve(tokens.size() * 2);
  for (const Token& t : tokens) {
    if (t.is_unit) {
      const std::span<const uint32_t> w = words_of(t.id);
      out.insert(out.end(), w.begin(), w.end());
    } else {
      if (t.id < 0 || t.id > int64_t{UINT32_MAX})
        throw Error("Tokenizer::detokenize: word id " + std::to_string(t.id) + " out of range.");
      out.push_back(static_cast<uint32_t>(t.id));
    }
  }
  return out;
}

LengthReduction measure_length_reduction(const Tokenizer& tokenizer,
                                         std::span<const std::vector<uint32_t>> sequences) {
  LengthReduction r;
  for (const std::vector<uint32_t>& s : sequences) {
    const std::vector<Token> tokens = tokenizer.tokenize(s);
    ++r.sequences;
    r.words += s.size();
    r.tokens += tokens.size();
    for (const Token& t : tokens) r.unit_tokens += t.is_unit ? 1 : 0;
  }
  return r;
}

}  // namespace residue

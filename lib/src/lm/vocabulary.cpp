#include "residue/lm/vocabulary.h"

#include <algorithm>

#include "residue/core/error.h"

namespace residue {

Vocabulary Vocabulary::most_frequent(std::span<const std::string> tokens, std::size_t size) {
  std::unordered_map<std::string_view, uint64_t> counts;
  for (const std::string& t : tokens) ++counts[t];
  std::vector<std::pair<std::string_view, uint64_t>> ranked(counts.begin(), counts.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  ranked.resize(std::min(size, ranked.size()));
  std::vector<std::string> words;
  for (const auto& [word, count] : ranked) words.emplace_back(word);
  return Vocabulary(std::move(words));
}

Vocabulary::Vocabulary(std::vector<std::string> words) : words_(std::move(words)) {
  for (uint32_t i = 0; i < words_.size(); ++i) {
    if (words_[i].empty()) throw Error("vocabulary: word " + std::to_string(i) + " is empty.");
    if (!index_.emplace(words_[i], i).second) {
      throw Error("vocabulary: \"" + words_[i] + "\" appears twice.");
    }
  }
}

uint32_t Vocabulary::id(std::string_view word) const {
  const auto it = index_.find(word);
  return it == index_.end() ? unknown() : it->second;
}

std::string_view Vocabulary::word(uint32_t id) const {
  return id < words_.size() ? std::string_view(words_[id]) : std::string_view("<unk>");
}

std::vector<uint32_t> Vocabulary::ids(std::span<const std::string> tokens) const {
  std::vector<uint32_t> out;
  out.reserve(tokens.size());
  for (const std::string& t : tokens) out.push_back(id(t));
  return out;
}

}  // namespace residue

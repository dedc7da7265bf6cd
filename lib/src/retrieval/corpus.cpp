#include "residue/retrieval/corpus.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "residue/core/error.h"
#include "residue/random/seeded_rng.h"

namespace residue {
namespace {

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("corpus: cannot open " + file.string() + ".");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error("corpus: cannot read " + file.string() + ".");
  return text;
}

std::vector<std::string> split_tokens(std::string_view text) {
  std::vector<std::string> tokens;
  std::size_t start = 0;
  while (true) {
    const std::size_t space = text.find(' ', start);
    tokens.emplace_back(text.substr(start, space - start));
    if (space == std::string_view::npos) break;
    start = space + 1;
  }
  return tokens;
}

}  // namespace

Corpus Corpus::load(const std::filesystem::path& dir, std::string_view domain_category) {
  const std::filesystem::path file = dir / "sentences.tsv";
  const std::string text = read_file(file);
  if (text.empty()) throw Error("corpus: " + file.string() + " is empty.");

  std::vector<Document> documents;
  std::unordered_map<std::string, std::size_t> first_line;  // document id -> line it starts on
  std::size_t line_number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line_number;
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto fail = [&](const std::string& what) {
      throw Error("corpus: " + file.string() + " line " + std::to_string(line_number) + ": " +
                  what + " (expected category<TAB>document<TAB>space-separated tokens).");
    };
    const std::size_t tab1 = line.find('\t');
    const std::size_t tab2 = tab1 == std::string_view::npos ? tab1 : line.find('\t', tab1 + 1);
    if (tab2 == std::string_view::npos) fail("fewer than 3 fields");
    if (line.find('\t', tab2 + 1) != std::string_view::npos) fail("more than 3 fields");
    const std::string_view category = line.substr(0, tab1);
    const std::string_view id = line.substr(tab1 + 1, tab2 - tab1 - 1);
    const std::string_view tokens = line.substr(tab2 + 1);
    if (category.empty()) fail("empty category");
    if (id.empty()) fail("empty document id");
    if (tokens.empty()) fail("empty sentence");
    Sentence sentence = split_tokens(tokens);
    for (const std::string& token : sentence) {
      if (token.empty()) fail("empty token (two spaces in a row, or a space at an end)");
    }

    if (documents.empty() || documents.back().id != id) {
      const auto [it, inserted] = first_line.emplace(std::string(id), line_number);
      if (!inserted) {
        fail("document " + std::string(id) + " continues here but was interrupted after line " +
             std::to_string(it->second));
      }
      documents.push_back({std::string(id), std::string(category), {}});
    } else if (documents.back().category != category) {
      fail("document " + std::string(id) + " changes category from " + documents.back().category +
           " to " + std::string(category));
    }
    documents.back().sentences.push_back(std::move(sentence));
  }
  return Corpus(std::move(documents), domain_category);
}

Corpus::Corpus(std::vector<Document> documents, std::string_view domain_category) {
  std::unordered_map<std::string_view, int> seen;
  for (const Document& d : documents) {
    if (d.id.empty()) throw Error("corpus: a document has an empty id.");
    if (!seen.emplace(d.id, 0).second) {
      throw Error("corpus: document id \"" + d.id + "\" appears twice.");
    }
  }
  for (Document& d : documents) {
    (d.category == domain_category ? domain_ : general_).push_back(std::move(d));
  }
}

DomainSplit Corpus::split_domain(uint64_t seed) const {
  const std::size_t n = domain_.size();
  if (n < 3) {
    throw Error("corpus: split_domain needs at least 3 domain documents, but there are " +
                std::to_string(n) + ".");
  }
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  SeededRng rng(seed);
  for (std::size_t i = n - 1; i > 0; --i) {  // Fisher-Yates
    std::swap(order[i], order[rng.uniform(i + 1)]);
  }
  // Rounded 60% and 20%, each part kept non-empty (n = 3 gives 1/1/1, n = 80 gives 48/16/16).
  std::size_t n_client = static_cast<std::size_t>(std::llround(0.6 * static_cast<double>(n)));
  std::size_t n_tuning = static_cast<std::size_t>(std::llround(0.2 * static_cast<double>(n)));
  n_tuning = std::max<std::size_t>(n_tuning, 1);
  n_client = std::min(std::max<std::size_t>(n_client, 1), n - n_tuning - 1);

  DomainSplit split;
  for (std::size_t i = 0; i < n; ++i) {
    const Document& d = domain_[order[i]];
    if (i < n_client) {
      split.client.push_back(d);
    } else if (i < n_client + n_tuning) {
      split.tuning.push_back(d);
    } else {
      split.test.push_back(d);
    }
  }
  return split;
}

std::vector<std::string> tokens_of(std::span<const Document> documents) {
  std::vector<std::string> tokens;
  tokens.reserve(token_count(documents));
  for (const Document& d : documents) {
    for (const Sentence& s : d.sentences) tokens.insert(tokens.end(), s.begin(), s.end());
  }
  return tokens;
}

std::size_t token_count(std::span<const Document> documents) {
  std::size_t n = 0;
  for (const Document& d : documents) {
    for (const Sentence& s : d.sentences) n += s.size();
  }
  return n;
}

std::vector<std::vector<uint32_t>> sentence_ids(std::span<const Document> documents,
                                                const Vocabulary& vocab) {
  std::vector<std::vector<uint32_t>> out;
  for (const Document& d : documents) {
    for (const Sentence& s : d.sentences) out.push_back(vocab.ids(s));
  }
  return out;
}

std::vector<std::string> text_tokens(std::string_view text) {
  std::string spaced;
  for (char c : text) {
    if (std::string_view(".,;:!?()\"").find(c) != std::string_view::npos) {
      spaced += ' ';
      spaced += c;
      spaced += ' ';
    } else {
      spaced += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  std::vector<std::string> tokens;
  std::istringstream in(spaced);
  for (std::string t; in >> t;) tokens.push_back(t);
  return tokens;
}

}  // namespace residue

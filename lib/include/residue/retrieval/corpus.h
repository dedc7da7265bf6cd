// Corpus: documents of tokenized sentences, split into the public general corpus and a private
// domain (the documents of one category), and the domain into client / tuning / test documents.
//
// The file is `dir`/sentences.tsv: one sentence a line, `category<TAB>document<TAB>tokens`,
// tokens lower-cased and separated by single spaces, the lines of a document consecutive (the
// form scripts/fetch-data writes the Brown corpus in; the tools' Brown defaults are in
// aggregator/tool/experiments/brown.h).
//
//   Corpus corpus = Corpus::load("data/brown", "learned");
//   Vocabulary vocab = Vocabulary::most_frequent(tokens_of(corpus.general()), 4096);
//   DomainSplit split = corpus.split_domain(/*seed=*/1);
//   auto test = sentence_ids(split.test, vocab);   // one id vector per sentence
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "residue/lm/vocabulary.h"

namespace residue {

using Sentence = std::vector<std::string>;

struct Document {
  std::string id;        ///< unique, e.g. "cj01" (a file of the Brown distribution)
  std::string category;  ///< e.g. "learned", "news"
  std::vector<Sentence> sentences;
};

/// The domain's documents in three disjoint parts, 60/20/20 by document.
struct DomainSplit {
  std::vector<Document> client;  ///< the text clients report from
  std::vector<Document> tuning;  ///< hyper-parameters (K, T, alpha, lambda) are chosen here
  std::vector<Document> test;    ///< perplexity is reported here
};

/// An immutable set of documents, partitioned into general and domain documents. Thread-safe
/// for concurrent reads.
class Corpus {
 public:
  /// Reads `dir`/sentences.tsv into Corpus(documents, domain_category). Throws Error naming
  /// the file (and line, when malformed) if it is missing, unreadable, empty or not in the
  /// format above.
  static Corpus load(const std::filesystem::path& dir, std::string_view domain_category);
  /// Documents of category `domain_category` form the domain, the others the general corpus;
  /// both keep their order. Throws Error on an empty or duplicate document id.
  Corpus(std::vector<Document> documents, std::string_view domain_category);

  const std::vector<Document>& general() const { return general_; }
  const std::vector<Document>& domain() const { return domain_; }

  /// The domain documents shuffled with SeededRng(seed), then cut into the first 60%
  /// (rounded), the next 20% (rounded) and the rest. The same seed always gives the same
  /// split. Throws Error if the domain has fewer than 3 documents (a part would be empty).
  DomainSplit split_domain(uint64_t seed) const;

 private:
  std::vector<Document> general_;
  std::vector<Document> domain_;
};

/// The tokens of free text as the corpus has them: lower-cased, split at white space, with
/// punctuation as tokens of its own ("World," -> "world" ","). For queries typed by people.
std::vector<std::string> text_tokens(std::string_view text);
/// Every token of `documents`, in order (what Vocabulary::most_frequent counts).
std::vector<std::string> tokens_of(std::span<const Document> documents);
/// Number of tokens in `documents`.
std::size_t token_count(std::span<const Document> documents);
/// Each sentence of `documents` as vocabulary ids (unknown words -> vocab.unknown()).
std::vector<std::vector<uint32_t>> sentence_ids(std::span<const Document> documents,
                                                const Vocabulary& vocab);

}  // namespace residue

// KneserNey: an interpolated modified Kneser-Ney trigram language model over Vocabulary ids,
// the base model p_LM(w | u v) that retrieval memories are interpolated with.
//
// Tokens are ids in [0, V) (V = Vocabulary::size(), the unknown token included); id V is the
// sentence start <s>. Every sentence is read as <s> <s> w_1 ... w_n, so w_1 is predicted from
// (<s>, <s>) and w_2 from (<s>, w_1); <s> is context only, never a target, and there is no
// end-of-sentence token. All V ids are targets, the unknown token like any word.
//
// The estimate is Chen & Goodman's interpolated modified Kneser-Ney (1998, sec. 3.5), as
// KenLM builds it:
//   p3(w|u v) = max(c(u v w) - D3(c), 0) / c(u v .) + g(u v) p2(w|v)
//   p2(w|v)   = max(a(v w) - D2(a), 0) / a(v .)     + g(v)   p1(w)
//   p1(w)     = max(a(w) - D1(a), 0) / a(.)         + g()    / V
// c are trigram counts; a(v w) is the number of distinct words u seen before "v w" (raw counts
// for v = <s>, which nothing precedes), a(w) the number of distinct v seen before w. D(x) is
// D_1, D_2 or D_3+ for x = 1, 2, >= 3, estimated per order from the counts of counts:
// Y = n1 / (n1 + 2 n2), D_k = k - (k + 1) Y n_{k+1} / n_k. Each g() is the mass the discounts
// freed, so every distribution sums to one; a context never seen backs off entirely.
// Where the closed form fails (some n_k is 0, or a D_k falls outside (0, k]) the order uses
// fallback discounts instead, as KenLM's --discount_fallback does. That is the usual case for
// unigrams over a truncated vocabulary: every kept word has many distinct predecessors, so
// n1 = 0. Options can also fix one discount for all orders and counts (plain interpolated KN).
//
//   KneserNey lm = KneserNey::train(sentence_ids(corpus.general(), vocab), vocab.size());
//   double p = lm.probability(w, lm.bos(), lm.bos());  // p(w | <s> <s>)
//   std::vector<double> next = lm.distribution(u, v);  // size V, sums to 1
//
// Immutable after train(): thread-safe for concurrent reads.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace residue {

struct KneserNeyOptions {
  /// When set, every order uses this one discount for all counts (plain interpolated
  /// Kneser-Ney; 0.75 is the classic choice). REQUIRES: 0 < discount < 1.
  /// When empty, modified Kneser-Ney with discounts estimated from the counts of counts.
  std::optional<double> fixed_discount;
  /// D_1, D_2, D_3+ of an order whose counts of counts give no valid closed-form estimate
  /// (KenLM's defaults). REQUIRES: 0 < D_k <= k.
  std::array<double, 3> fallback_discounts = {0.5, 1.0, 1.5};
};

class KneserNey {
 public:
  /// Trains on `sentences` (ids in [0, vocab_size), without <s>). Throws Error if an id is out
  /// of range (naming the sentence and position), if there is no token, if vocab_size is 0 or
  /// above 2^20, or if a discount option is out of range.
  static KneserNey train(std::span<const std::vector<uint32_t>> sentences, uint32_t vocab_size,
                         const KneserNeyOptions& options = {});

  /// V: the number of target ids.
  uint32_t vocab_size() const { return vocab_size_; }
  /// The sentence-start id, V.
  uint32_t bos() const { return vocab_size_; }
  /// Discounts D_1, D_2, D_3+ of order 1 (unigrams), 2 and 3.
  const std::array<double, 3>& discounts(int order) const;
  /// Whether the discounts of `order` are the closed-form estimate (false: fixed or fallback).
  bool discounts_estimated(int order) const;

  /// p(w | u v). REQUIRES: w < V; u, v <= V (bos() allowed). Throws Error otherwise.
  double probability(uint32_t w, uint32_t u, uint32_t v) const;
  /// p(. | u v) for every target into `out`. O(V + successors of v and of (u, v)).
  /// REQUIRES: out.size() == V; u, v <= V. Throws Error otherwise.
  void distribution(uint32_t u, uint32_t v, std::span<double> out) const;
  std::vector<double> distribution(uint32_t u, uint32_t v) const;

  /// Natural-log probability of one sentence (without <s>) given its <s> <s> start.
  double log_probability(std::span<const uint32_t> sentence) const;
  /// exp(-mean log p) over every position of `sentences`, skipping positions whose target is
  /// `skip_target` (e.g. the unknown token; they still serve as context). Throws Error if no
  /// position is left.
  double perplexity(std::span<const std::vector<uint32_t>> sentences,
                    std::optional<uint32_t> skip_target = std::nullopt) const;

 private:
  struct Successor {
    uint32_t word;
    uint32_t count;  // raw count (trigrams) or continuation count (bigrams)
  };
  // One context's successors (a slice of successors_) and its interpolation terms.
  struct Context {
    uint32_t begin = 0;
    uint32_t end = 0;
    double total = 0;    // c(u v .) or a(v .)
    double backoff = 1;  // g(): weight of the lower order
  };

  KneserNey() = default;
  double bigram(uint32_t w, uint32_t v) const;
  const Context* trigram_context(uint32_t u, uint32_t v) const;
  static double find(std::span<const Successor> successors, uint32_t w);
  double discount(int order, uint32_t count) const;
  void check_context(uint32_t u, uint32_t v) const;

  uint32_t vocab_size_ = 0;
  std::array<std::array<double, 3>, 3> discounts_{};  // [order - 1][min(count, 3) - 1]
  std::array<bool, 3> estimated_{};
  std::vector<double> unigram_;                             // p1, size V
  std::vector<Context> bigram_contexts_;                    // indexed by v in [0, V]
  std::vector<Successor> bigram_successors_;                // sorted by word within a context
  std::unordered_map<uint64_t, Context> trigram_contexts_;  // key u * (V + 1) + v
  std::vector<Successor> trigram_successors_;
};

}  // namespace residue

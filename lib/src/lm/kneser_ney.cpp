#include "residue/lm/kneser_ney.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "residue/core/error.h"

namespace residue {
namespace {

// Ids stay below 2^20 + 1, so a trigram (u, v, w) packs into 63 bits.
constexpr uint32_t kMaxVocab = 1u << 20;

// Counts of counts n_1 .. n_4 of one order.
using CountsOfCounts = std::array<uint64_t, 4>;

void count_count(CountsOfCounts& n, uint64_t count) {
  if (count >= 1 && count <= 4) ++n[count - 1];
}

// Chen & Goodman's closed form; empty when some n_k is 0 or a discount leaves (0, k].
std::optional<std::array<double, 3>> estimate_discounts(const CountsOfCounts& n) {
  for (uint64_t nk : n) {
    if (nk == 0) return std::nullopt;
  }
  const auto at = [&](int k) { return static_cast<double>(n[k - 1]); };
  const double y = at(1) / (at(1) + 2 * at(2));
  std::array<double, 3> d{};
  for (int k = 1; k <= 3; ++k) {
    d[k - 1] = k - (k + 1) * y * at(k + 1) / at(k);
    if (!(d[k - 1] > 0 && d[k - 1] <= k)) return std::nullopt;
  }
  return d;
}

}  // namespace

KneserNey KneserNey::train(std::span<const std::vector<uint32_t>> sentences, uint32_t vocab_size,
                           const KneserNeyOptions& options) {
  if (vocab_size == 0 || vocab_size > kMaxVocab) {
    throw Error("kneser_ney: vocab_size must be in [1, 2^20], but is " +
                std::to_string(vocab_size) + ".");
  }
  if (options.fixed_discount && !(*options.fixed_discount > 0 && *options.fixed_discount < 1)) {
    throw Error("kneser_ney: fixed_discount must be in (0, 1), but is " +
                std::to_string(*options.fixed_discount) + ".");
  }
  for (int k = 1; k <= 3; ++k) {
    const double d = options.fallback_discounts[k - 1];
    if (!(d > 0 && d <= k)) {
      throw Error("kneser_ney: fallback discount D_" + std::to_string(k) + " must be in (0, " +
                  std::to_string(k) + "], but is " + std::to_string(d) + ".");
    }
  }

  KneserNey lm;
  lm.vocab_size_ = vocab_size;
  const uint64_t base = uint64_t{vocab_size} + 1;
  const uint32_t bos = vocab_size;

  // Trigram occurrences, packed and sorted: equal trigrams become runs, and each context's
  // successors end up contiguous and sorted by word.
  std::vector<uint64_t> trigrams;
  for (std::size_t s = 0; s < sentences.size(); ++s) {
    uint64_t u = bos, v = bos;
    for (std::size_t i = 0; i < sentences[s].size(); ++i) {
      const uint32_t w = sentences[s][i];
      if (w >= vocab_size) {
        throw Error("kneser_ney: sentence " + std::to_string(s) + " position " + std::to_string(i) +
                    " has id " + std::to_string(w) + ", outside the vocabulary [0, " +
                    std::to_string(vocab_size) + ").");
      }
      trigrams.push_back((u * base + v) * base + w);
      u = v;
      v = w;
    }
  }
  if (trigrams.empty()) throw Error("kneser_ney: the training sentences have no token.");
  std::sort(trigrams.begin(), trigrams.end());

  // Trigram types with raw counts, and the bigram (v, w) adjusted counts they imply: one per
  // distinct u, or the raw count when v = <s> (only <s> precedes it).
  std::array<CountsOfCounts, 3> counts_of_counts{};
  std::vector<std::pair<uint64_t, uint32_t>> bigram_pairs;  // (v * base + w, contribution)
  uint64_t previous_context = UINT64_MAX;
  Context* context = nullptr;
  for (std::size_t i = 0; i < trigrams.size();) {
    std::size_t j = i;
    while (j < trigrams.size() && trigrams[j] == trigrams[i]) ++j;
    const uint64_t count = j - i;
    const uint64_t key = trigrams[i];
    const uint32_t w = static_cast<uint32_t>(key % base);
    const uint64_t uv = key / base;
    const uint32_t v = static_cast<uint32_t>(uv % base);
    if (uv != previous_context) {
      if (context != nullptr) context->end = static_cast<uint32_t>(lm.trigram_successors_.size());
      context = &lm.trigram_contexts_[uv];
      context->begin = static_cast<uint32_t>(lm.trigram_successors_.size());
      previous_context = uv;
    }
    lm.trigram_successors_.push_back({w, static_cast<uint32_t>(count)});
    count_count(counts_of_counts[2], count);
    bigram_pairs.emplace_back(uint64_t{v} * base + w, v == bos ? static_cast<uint32_t>(count) : 1u);
    i = j;
  }
  context->end = static_cast<uint32_t>(lm.trigram_successors_.size());

  std::sort(bigram_pairs.begin(), bigram_pairs.end());
  lm.bigram_contexts_.assign(base, Context{});
  std::vector<uint64_t> continuation(vocab_size, 0);  // a(w): distinct v before w
  for (std::size_t i = 0; i < bigram_pairs.size();) {
    const uint64_t key = bigram_pairs[i].first;
    uint64_t count = 0;
    std::size_t j = i;
    for (; j < bigram_pairs.size() && bigram_pairs[j].first == key; ++j) {
      count += bigram_pairs[j].second;
    }
    const uint32_t v = static_cast<uint32_t>(key / base);
    const uint32_t w = static_cast<uint32_t>(key % base);
    Context& c = lm.bigram_contexts_[v];
    if (c.end == 0) c.begin = static_cast<uint32_t>(lm.bigram_successors_.size());
    lm.bigram_successors_.push_back({w, static_cast<uint32_t>(count)});
    c.end = static_cast<uint32_t>(lm.bigram_successors_.size());
    count_count(counts_of_counts[1], count);
    ++continuation[w];
    i = j;
  }
  for (uint64_t a : continuation) count_count(counts_of_counts[0], a);

  for (int order = 1; order <= 3; ++order) {
    std::optional<std::array<double, 3>> d;
    if (options.fixed_discount) {
      const double f = *options.fixed_discount;
      d = std::array<double, 3>{f, f, f};
    } else {
      d = estimate_discounts(counts_of_counts[order - 1]);
      lm.estimated_[order - 1] = d.has_value();
    }
    lm.discounts_[order - 1] = d.value_or(options.fallback_discounts);
  }

  // Totals and backoff weights: the mass each context's discounts free.
  const auto finish = [&lm](Context& c, std::span<const Successor> successors, int order) {
    double total = 0, freed = 0;
    for (const Successor& s : successors) {
      total += s.count;
      freed += lm.discount(order, s.count);
    }
    c.total = total;
    c.backoff = total > 0 ? freed / total : 1.0;
  };
  for (auto& [key, c] : lm.trigram_contexts_) {
    finish(c, {lm.trigram_successors_.data() + c.begin, c.end - c.begin}, 3);
  }
  for (Context& c : lm.bigram_contexts_) {
    finish(c, {lm.bigram_successors_.data() + c.begin, c.end - c.begin}, 2);
  }
  double total = 0, freed = 0;
  for (uint64_t a : continuation) {
    total += static_cast<double>(a);
    if (a > 0) freed += lm.discount(1, static_cast<uint32_t>(a));
  }
  lm.unigram_.resize(vocab_size);
  const double uniform = freed / total / vocab_size;
  for (uint32_t w = 0; w < vocab_size; ++w) {
    const double a = static_cast<double>(continuation[w]);
    lm.unigram_[w] =
        std::max(a - (a > 0 ? lm.discount(1, static_cast<uint32_t>(a)) : 0.0), 0.0) / total +
        uniform;
  }
  return lm;
}

const std::array<double, 3>& KneserNey::discounts(int order) const {
  if (order < 1 || order > 3) {
    throw Error("kneser_ney: order must be 1, 2 or 3, but is " + std::to_string(order) + ".");
  }
  return discounts_[order - 1];
}

bool KneserNey::discounts_estimated(int order) const {
  discounts(order);  // checks the order
  return estimated_[order - 1];
}

double KneserNey::discount(int order, uint32_t count) const {
  return discounts_[order - 1][std::min<uint32_t>(count, 3) - 1];
}

void KneserNey::check_context(uint32_t u, uint32_t v) const {
  if (u > vocab_size_ || v > vocab_size_) {
    throw Error("kneser_ney: context (" + std::to_string(u) + ", " + std::to_string(v) +
                ") has an id above bos() = " + std::to_string(vocab_size_) + ".");
  }
}

double KneserNey::find(std::span<const Successor> successors, uint32_t w) {
  const auto it = std::lower_bound(successors.begin(), successors.end(), w,
                                   [](const Successor& s, uint32_t x) { return s.word < x; });
  return it != successors.end() && it->word == w ? it->count : 0.0;
}

const KneserNey::Context* KneserNey::trigram_context(uint32_t u, uint32_t v) const {
  const auto it = trigram_contexts_.find(uint64_t{u} * (uint64_t{vocab_size_} + 1) + v);
  return it == trigram_contexts_.end() ? nullptr : &it->second;
}

double KneserNey::bigram(uint32_t w, uint32_t v) const {
  const Context& c = bigram_contexts_[v];
  const double lower = unigram_[w];
  if (c.total == 0) return lower;
  const double a = find({bigram_successors_.data() + c.begin, c.end - c.begin}, w);
  const double own = a > 0 ? (a - discount(2, static_cast<uint32_t>(a))) / c.total : 0.0;
  return std::max(own, 0.0) + c.backoff * lower;
}

double KneserNey::probability(uint32_t w, uint32_t u, uint32_t v) const {
  check_context(u, v);
  if (w >= vocab_size_) {
    throw Error("kneser_ney: target " + std::to_string(w) + " is outside the vocabulary [0, " +
                std::to_string(vocab_size_) + ").");
  }
  const double lower = bigram(w, v);
  const Context* c = trigram_context(u, v);
  if (c == nullptr) return lower;
  const double n = find({trigram_successors_.data() + c->begin, c->end - c->begin}, w);
  const double own = n > 0 ? (n - discount(3, static_cast<uint32_t>(n))) / c->total : 0.0;
  return std::max(own, 0.0) + c->backoff * lower;
}

void KneserNey::distribution(uint32_t u, uint32_t v, std::span<double> out) const {
  check_context(u, v);
  if (out.size() != vocab_size_) {
    throw Error("kneser_ney: distribution needs an output of size " + std::to_string(vocab_size_) +
                ", but got " + std::to_string(out.size()) + ".");
  }
  // Lower orders first, then scale by the backoff and add the discounted own counts.
  std::copy(unigram_.begin(), unigram_.end(), out.begin());
  const auto raise = [&](const Context& c, const std::vector<Successor>& successors, int order) {
    if (c.total == 0) return;
    for (double& p : out) p *= c.backoff;
    for (uint32_t i = c.begin; i < c.end; ++i) {
      const Successor& s = successors[i];
      out[s.word] += std::max(s.count - discount(order, s.count), 0.0) / c.total;
    }
  };
  raise(bigram_contexts_[v], bigram_successors_, 2);
  if (const Context* c = trigram_context(u, v)) raise(*c, trigram_successors_, 3);
}

std::vector<double> KneserNey::distribution(uint32_t u, uint32_t v) const {
  std::vector<double> out(vocab_size_);
  distribution(u, v, out);
  return out;
}

double KneserNey::log_probability(std::span<const uint32_t> sentence) const {
  double sum = 0;
  uint32_t u = bos(), v = bos();
  for (uint32_t w : sentence) {
    sum += std::log(probability(w, u, v));
    u = v;
    v = w;
  }
  return sum;
}

double KneserNey::perplexity(std::span<const std::vector<uint32_t>> sentences,
                             std::optional<uint32_t> skip_target) const {
  double sum = 0;
  uint64_t positions = 0;
  for (const std::vector<uint32_t>& sentence : sentences) {
    uint32_t u = bos(), v = bos();
    for (uint32_t w : sentence) {
      if (w != skip_target) {
        sum += std::log(probability(w, u, v));
        ++positions;
      }
      u = v;
      v = w;
    }
  }
  if (positions == 0) throw Error("kneser_ney: perplexity over no position.");
  return std::exp(-sum / static_cast<double>(positions));
}

}  // namespace residue

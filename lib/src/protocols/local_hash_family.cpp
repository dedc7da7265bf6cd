// LocalHashFamily (protocols/local_hash.h), the projective hash family of GF(g)^d, and the
// geometry and limits of its pool (local_hash_family.h).
#include "protocols/local_hash_family.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "protocols/galois_field.h"
#include "residue/core/error.h"
#include "residue/protocols/local_hash.h"

namespace residue {
namespace {

// The tally holds S g counters; above this many (512 MB of counts) OLH is the wrong tool.
constexpr uint64_t kMaxCells = uint64_t{1} << 26;

}  // namespace

LocalHashPool local_hash_pool(uint32_t k, uint64_t g) {
  LocalHashPool pool;
  uint64_t power = 1;  // g^d; k <= 2^26 keeps it far from overflow
  while (power < k || pool.dimension == 0) {
    power *= g;
    ++pool.dimension;
  }
  pool.seeds = (power - 1) / (g - 1);
  pool.collision_rate =
      static_cast<double>(power / g - 1) / static_cast<double>(power - 1);  // 0 when d = 1
  return pool;
}

void check_local_hash_domain(uint32_t k) {
  if (k > kMaxCells) {
    throw Error("olh: k must be at most 2^26, but is " + std::to_string(k) +
                "; use ss, mss or hr for a domain this large.");
  }
}

void check_pool_size(uint32_t k, uint64_t g, const LocalHashPool& pool,
                     const std::string& context) {
  if (pool.seeds * g > kMaxCells) {
    throw Error("olh: " + context + " needs a pool of S = " + std::to_string(pool.seeds) +
                " hash functions of g = " + std::to_string(g) + " buckets for k = " +
                std::to_string(k) + ", S g = " + std::to_string(pool.seeds * g) +
                " tally counters, above the limit of 2^26; use ss, mss or hr for a domain "
                "this large.");
  }
}

// The hash family. Seed s names the line through a_s in GF(g)^d: a_s has a 1 at its leading
// index j and arbitrary coordinates below, and the seeds run through j = 0, 1, ..., d - 1,
// inside each j in the order of the integer r = s - (g^j - 1)/(g - 1) whose base-g digits
// are a_0 .. a_{j-1}. H_s(v) = sum_i a_i v_i with v_i the base-g digits of v.

struct LocalHashFamily::Impl {
  Impl(uint32_t k_in, uint32_t g_in) : field(g_in), k(k_in), g(g_in) {
    const LocalHashPool pool = local_hash_pool(k, g);
    d = pool.dimension;
    seeds = static_cast<uint32_t>(pool.seeds);
    collision_rate = pool.collision_rate;
    uint64_t offset = 0, power = 1;
    for (uint32_t j = 0; j <= d; ++j) {
      offsets.push_back(static_cast<uint32_t>(offset));
      offset += power;
      power *= g;
    }
    low_digits = (d + 1) / 2;
    low_size = 1;
    for (uint32_t i = 0; i < low_digits; ++i) low_size *= g;
    high_size = 1;
    for (uint32_t i = low_digits; i < d; ++i) high_size *= g;
  }

  // Leading index j of seed s and r, whose base-g digits are a_0 .. a_{j-1}.
  std::pair<uint32_t, uint32_t> split(uint32_t s) const {
    uint32_t j = 0;
    while (j + 1 < d && offsets[j + 1] <= s) ++j;
    return {j, s - offsets[j]};
  }

  uint32_t hash(uint32_t s, uint32_t v) const {
    auto [j, r] = split(s);
    uint32_t h = 0;
    for (uint32_t i = 0; i < j; ++i, r /= g, v /= g) h = field.add(h, field.multiply(r % g, v % g));
    return field.add(h, v % g);
  }

  // table[u] = sum_i coef[i] u_i over the `digits` base-g digits u_i of u, by appending one
  // digit at a time: O(g^digits).
  void build(std::vector<uint32_t>& table, const uint32_t* coef, uint32_t digits,
             uint32_t size) const {
    table.resize(size);
    table[0] = 0;
    std::size_t filled = 1;
    for (uint32_t m = 0; m < digits; ++m) {
      for (uint32_t r = 1; r < g; ++r) {
        const uint32_t term = field.multiply(coef[m], r);
        for (std::size_t u = 0; u < filled; ++u) table[r * filled + u] = field.add(table[u], term);
      }
      filled *= g;
    }
  }

  // The thread's tables of seed s: low[u] for the low ceil(d/2) digits of u < G = g^ceil(d/2),
  // high[w] for the digits above, so that H_s(v) = high[v / G] + low[v mod G]. Valid until
  // the next call on this thread.
  struct Tables {
    const std::vector<uint32_t>& low;
    const std::vector<uint32_t>& high;
  };
  Tables prepare(uint32_t s) const {
    thread_local std::vector<uint32_t> coef, low, high;
    coef.assign(d, 0);
    auto [j, r] = split(s);
    for (uint32_t i = 0; i < j; ++i, r /= g) coef[i] = r % g;
    coef[j] = 1;
    build(low, coef.data(), low_digits, low_size);
    build(high, coef.data() + low_digits, d - low_digits, high_size);
    return {low, high};
  }

  // sizes[y] = |{v < k : H_s(v) = y}| (size g) in O(G + (k / G) g): each full block of G
  // values adds the histogram of the low table, shifted by the block's high part.
  void bucket_sizes(uint32_t s, std::span<uint32_t> sizes) const {
    const Tables t = prepare(s);
    thread_local std::vector<uint32_t> histogram;
    histogram.assign(g, 0);
    for (uint32_t u = 0; u < low_size; ++u) ++histogram[t.low[u]];
    std::fill(sizes.begin(), sizes.end(), 0u);
    const uint32_t full = k / low_size;
    for (uint32_t hi = 0; hi < full; ++hi) {
      for (uint32_t z = 0; z < g; ++z) sizes[field.add(t.high[hi], z)] += histogram[z];
    }
    for (uint32_t v = full * low_size; v < k; ++v)
      ++sizes[field.add(t.high[full], t.low[v - full * low_size])];
  }

  // Calls sink(v, H_s(v)) for v = 0, 1, ..., k - 1: one field addition per value.
  template <typename Sink>
  void scan(uint32_t s, Sink&& sink) const {
    const Tables t = prepare(s);
    const std::vector<uint32_t>& low = t.low;
    const std::vector<uint32_t>& high = t.high;
    switch (field.kind()) {
      case GaloisField::Kind::kBinary:
        run(
            low, high, [](uint32_t a, uint32_t b) { return a ^ b; }, sink);
        break;
      case GaloisField::Kind::kPrime:
        run(
            low, high,
            [m = g](uint32_t a, uint32_t b) {
              const uint32_t x = a + b;
              return x >= m ? x - m : x;
            },
            sink);
        break;
      case GaloisField::Kind::kTable:
        run(
            low, high,
            [table = field.add_table(), m = g](uint32_t a, uint32_t b) -> uint32_t {
              return table[std::size_t{a} * m + b];
            },
            sink);
        break;
    }
  }

  template <typename Add, typename Sink>
  void run(const std::vector<uint32_t>& low, const std::vector<uint32_t>& high, Add add,
           Sink& sink) const {
    const uint32_t* lo = low.data();
    uint32_t v = 0;
    for (uint32_t hi = 0; v < k; ++hi) {
      const uint32_t base = high[hi];
      const uint32_t n = std::min(low_size, k - v);
      for (uint32_t i = 0; i < n; ++i) sink(v + i, add(base, lo[i]));
      v += n;
    }
  }

  GaloisField field;
  uint32_t k, g, d = 0, seeds = 0;
  double collision_rate = 0;
  std::vector<uint32_t> offsets;  // (g^j - 1) / (g - 1): the first seed with leading index j
  uint32_t low_digits = 0, low_size = 1, high_size = 1;
};

LocalHashFamily::LocalHashFamily(uint32_t k, uint32_t buckets) {
  if (k < 1) throw Error("olh: k must be at least 1, but is 0.");
  check_local_hash_domain(k);
  if (!supported_field_order(buckets)) {
    throw Error(
        "olh: buckets must be a prime or a prime power up to 256 (the order of a "
        "field), but is " +
        std::to_string(buckets) + ".");
  }
  check_pool_size(k, buckets, local_hash_pool(k, buckets), "g = " + std::to_string(buckets));
  impl_ = std::make_shared<const Impl>(k, buckets);
}

uint32_t LocalHashFamily::k() const {
  return impl_->k;
}
uint32_t LocalHashFamily::buckets() const {
  return impl_->g;
}
uint32_t LocalHashFamily::dimension() const {
  return impl_->d;
}
uint32_t LocalHashFamily::seeds() const {
  return impl_->seeds;
}
double LocalHashFamily::collision_rate() const {
  return impl_->collision_rate;
}

uint32_t LocalHashFamily::hash(uint32_t seed, uint32_t value) const {
  return impl_->hash(seed, value);
}

void LocalHashFamily::hash_all(uint32_t seed, std::span<uint32_t> out) const {
  if (seed >= impl_->seeds || out.size() != impl_->k)
    throw Error("olh: hash_all needs a seed below S and an output of size k.");
  uint32_t* o = out.data();
  impl_->scan(seed, [o](uint32_t v, uint32_t h) { o[v] = h; });
}

void LocalHashFamily::bucket_sizes(uint32_t seed, std::span<uint32_t> sizes) const {
  if (seed >= impl_->seeds || sizes.size() != impl_->g)
    throw Error("olh: bucket_sizes needs a seed below S and g sizes.");
  impl_->bucket_sizes(seed, sizes);
}

void LocalHashFamily::add_support_counts(uint32_t seed, std::span<const uint64_t> counts,
                                         std::span<uint64_t> sums) const {
  if (seed >= impl_->seeds || counts.size() != impl_->g || sums.size() != impl_->k)
    throw Error("olh: add_support_counts needs a seed below S, g counts and k sums.");
  const uint64_t* c = counts.data();
  uint64_t* out = sums.data();
  impl_->scan(seed, [c, out](uint32_t v, uint32_t h) { out[v] += c[h]; });
}

}  // namespace residue

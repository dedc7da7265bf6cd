#include "residue/protocols/local_hash.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "protocols/registry_internal.h"
#include "residue/core/error.h"
#include "residue/rns/primes.h"

namespace residue {
namespace {

// The tally holds S g counters; above this many (512 MB of counts) OLH is the wrong tool.
constexpr uint64_t kMaxCells = uint64_t{1} << 26;
// Prime powers that are not primes are supported up to this order: their arithmetic is
// tables of g^2 bytes.
constexpr uint32_t kMaxTableField = 256;
// The attacker's rejection sampler tries this many uniform values per bucket before it
// scans the whole domain (the preimage of a bucket holds about k / g values).
constexpr uint32_t kTriesPerBucket = 8;

// g works as a bucket count when GF(g) exists and its arithmetic is cheap here.
bool supported_order(uint64_t g) {
  if (g < 2) return false;
  if (is_prime(g)) return true;
  if (g > kMaxTableField) return false;
  uint64_t p = 2;
  while (g % p != 0) ++p;
  while (g % p == 0) g /= p;
  return g == 1;
}

uint64_t next_supported(uint64_t x) {
  while (!supported_order(x)) ++x;
  return x;
}

// REQUIRES: x >= 2.
uint64_t previous_supported(uint64_t x) {
  while (!supported_order(x)) --x;
  return x;
}

// The finite field GF(g) on the integers [0, g). For a prime g, arithmetic mod g. For
// g = p^e (e > 1, g <= 256) the base-p digits of an element are its coefficients, lowest
// first, as a polynomial in x modulo the first monic irreducible polynomial of degree e,
// counting polynomials in the order of the integer their lower coefficients spell in base p
// (GF(4): x^2 + x + 1, GF(8): x^3 + x + 1, GF(9): x^2 + 1, GF(256): x^8 + x^4 + x^3 + x + 1).
class GaloisField {
 public:
  enum class Kind { kPrime, kBinary, kTable };

  explicit GaloisField(uint32_t order) : order_(order) {
    if (is_prime(order)) {
      kind_ = Kind::kPrime;
      characteristic_ = order;
      return;
    }
    uint32_t p = 2;
    while (order % p != 0) ++p;
    characteristic_ = p;
    degree_ = 0;
    for (uint32_t rest = order; rest > 1; rest /= p) ++degree_;
    kind_ = p == 2 ? Kind::kBinary : Kind::kTable;
    polynomial_ = first_irreducible(p, degree_);
    // Products through the powers of a generator of the multiplicative group: g slow
    // products per candidate instead of g^2 (the table is the same for any generator).
    std::vector<uint32_t> power, log(order, 0);
    for (uint32_t alpha = 2; power.size() != order - 1; ++alpha) {
      power.assign(1, 1);
      for (uint32_t x = slow_multiply(1, alpha); x != 1; x = slow_multiply(x, alpha))
        power.push_back(x);
    }
    for (uint32_t i = 0; i < order - 1; ++i) log[power[i]] = i;
    if (kind_ == Kind::kTable) add_.resize(std::size_t{order} * order);  // binary adds by XOR
    mul_.assign(std::size_t{order} * order, 0);
    for (uint32_t a = 0; a < order; ++a) {
      for (uint32_t b = 0; b < order; ++b) {
        if (kind_ == Kind::kTable)
          add_[std::size_t{a} * order + b] = static_cast<uint8_t>(slow_add(a, b));
        if (a != 0 && b != 0) {
          mul_[std::size_t{a} * order + b] =
              static_cast<uint8_t>(power[(log[a] + log[b]) % (order - 1)]);
        }
      }
    }
  }

  Kind kind() const { return kind_; }
  uint32_t order() const { return order_; }
  const uint8_t* add_table() const { return add_.data(); }

  uint32_t add(uint32_t a, uint32_t b) const {
    switch (kind_) {
      case Kind::kPrime: {
        const uint32_t s = a + b;  // < 2^27: the order is at most 2^26
        return s >= order_ ? s - order_ : s;
      }
      case Kind::kBinary:
        return a ^ b;
      case Kind::kTable:
        break;
    }
    return add_[std::size_t{a} * order_ + b];
  }

  uint32_t multiply(uint32_t a, uint32_t b) const {
    if (kind_ == Kind::kPrime) return static_cast<uint32_t>(uint64_t{a} * b % order_);
    return mul_[std::size_t{a} * order_ + b];
  }

 private:
  using Polynomial = std::vector<uint32_t>;  // coefficients over GF(p), lowest first

  static Polynomial digits(uint32_t x, uint32_t p, uint32_t count) {
    Polynomial out(count);
    for (uint32_t i = 0; i < count; ++i, x /= p) out[i] = x % p;
    return out;
  }

  // True if the monic `divisor` divides `a` over GF(p).
  static bool divides(const Polynomial& divisor, Polynomial a, uint32_t p) {
    const std::size_t t = divisor.size() - 1;
    for (std::size_t deg = a.size() - 1; deg >= t; --deg) {
      const uint32_t c = a[deg];
      if (c != 0) {
        for (std::size_t i = 0; i <= t; ++i)
          a[deg - t + i] = (a[deg - t + i] + (p - c) * divisor[i]) % p;
      }
      if (deg == t) break;
    }
    return std::all_of(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(t),
                       [](uint32_t c) { return c == 0; });
  }

  static bool irreducible(const Polynomial& m, uint32_t p) {
    const uint32_t e = static_cast<uint32_t>(m.size()) - 1;
    uint32_t count = 1;  // p^t monic polynomials of degree t
    for (uint32_t t = 1; 2 * t <= e; ++t) {
      count *= p;
      for (uint32_t r = 0; r < count; ++r) {
        Polynomial f = digits(r, p, t);
        f.push_back(1);
        if (divides(f, m, p)) return false;
      }
    }
    return true;
  }

  static Polynomial first_irreducible(uint32_t p, uint32_t e) {
    uint32_t count = 1;
    for (uint32_t i = 0; i < e; ++i) count *= p;
    for (uint32_t r = 0;; ++r) {  // terminates: GF(p^e) exists
      Polynomial m = digits(r, p, e);
      m.push_back(1);
      if (irreducible(m, p)) return m;
      if (r + 1 == count) throw Error("olh: no irreducible polynomial found (a bug).");
    }
  }

  uint32_t slow_add(uint32_t a, uint32_t b) const {
    const uint32_t p = characteristic_;
    uint32_t out = 0, place = 1;
    for (uint32_t i = 0; i < degree_; ++i, a /= p, b /= p, place *= p)
      out += (a % p + b % p) % p * place;
    return out;
  }

  uint32_t slow_multiply(uint32_t a, uint32_t b) const {
    const uint32_t p = characteristic_, e = degree_;
    std::array<uint32_t, 8> da{}, db{};  // e <= 8 since g <= 256
    for (uint32_t i = 0; i < e; ++i, a /= p, b /= p) {
      da[i] = a % p;
      db[i] = b % p;
    }
    std::array<uint32_t, 2 * 8> product{};
    for (uint32_t i = 0; i < e; ++i)
      for (uint32_t j = 0; j < e; ++j) product[i + j] = (product[i + j] + da[i] * db[j]) % p;
    // x^e = -(m_0 + ... + m_{e-1} x^{e-1}): fold the high coefficients down.
    for (uint32_t deg = 2 * e - 2; deg >= e; --deg) {
      const uint32_t c = product[deg];
      product[deg] = 0;
      for (uint32_t i = 0; i < e; ++i)
        product[deg - e + i] = (product[deg - e + i] + (p - c) * polynomial_[i]) % p;
    }
    uint32_t out = 0, place = 1;
    for (uint32_t i = 0; i < e; ++i, place *= p) out += product[i] * place;
    return out;
  }

  uint32_t order_;
  Kind kind_ = Kind::kPrime;
  uint32_t characteristic_ = 0;
  uint32_t degree_ = 1;
  Polynomial polynomial_;
  std::vector<uint8_t> add_, mul_;
};

// d, S and c of the pool for k values and g buckets.
struct Pool {
  uint32_t dimension = 0;
  uint64_t seeds = 0;
  double collision_rate = 0;
};

Pool pool_for(uint32_t k, uint64_t g) {
  Pool pool;
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

// The probabilities of one report, each computed without cancellation (epsilon up to 50).
struct OlhRates {
  double p = 0;           // P[y = H_s(x)]: GRR keeps the bucket
  double not_p = 0;       // 1 - p
  double q = 0;           // P[y = b] for each other bucket b
  double q_star = 0;      // P[H_s(v) = y | x != v] = q + (p - q) c: the support rate
  double not_q_star = 0;  // 1 - q_star
  double gap = 0;         // p - q_star = (p - q)(1 - c)

  // Exact Var[f_v] for true frequency f and n reports (protocols.md section 1).
  double variance(double f, double n) const {
    return (f * p * not_p + (1 - f) * q_star * not_q_star) / (n * gap * gap);
  }
  double variance_constant() const { return q_star * not_q_star / (gap * gap); }
};

OlhRates olh_rates(uint64_t g, double c, double epsilon) {
  const double e = std::exp(epsilon), gd = static_cast<double>(g), denominator = e + gd - 1;
  const double grr_gap = std::expm1(epsilon) / denominator;
  OlhRates r;
  r.p = e / denominator;
  r.not_p = (gd - 1) / denominator;
  r.q = 1 / denominator;
  r.q_star = r.q + grr_gap * c;
  r.not_q_star = (e + gd - 2) / denominator - grr_gap * c;
  r.gap = grr_gap * (1 - c);
  return r;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// The hash family. Seed s names the line through a_s in GF(g)^d: a_s has a 1 at its leading
// index j and arbitrary coordinates below, and the seeds run through j = 0, 1, ..., d - 1,
// inside each j in the order of the integer r = s - (g^j - 1)/(g - 1) whose base-g digits
// are a_0 .. a_{j-1}. H_s(v) = sum_i a_i v_i with v_i the base-g digits of v.

struct LocalHashFamily::Impl {
  Impl(uint32_t k_in, uint32_t g_in) : field(g_in), k(k_in), g(g_in) {
    const Pool pool = pool_for(k, g);
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

namespace {

void check_pool_size(uint32_t k, uint64_t g, const Pool& pool, const std::string& context) {
  if (pool.seeds * g > kMaxCells) {
    throw Error("olh: " + context + " needs a pool of S = " + std::to_string(pool.seeds) +
                " hash functions of g = " + std::to_string(g) + " buckets for k = " +
                std::to_string(k) + ", S g = " + std::to_string(pool.seeds * g) +
                " tally counters, above the limit of 2^26; use ss, mss or hr for a domain "
                "this large.");
  }
}

}  // namespace

LocalHashFamily::LocalHashFamily(uint32_t k, uint32_t buckets) {
  if (k < 1) throw Error("olh: k must be at least 1, but is 0.");
  if (k > kMaxCells) {
    throw Error("olh: k must be at most 2^26, but is " + std::to_string(k) +
                "; use ss, mss or hr for a domain this large.");
  }
  if (!supported_order(buckets)) {
    throw Error(
        "olh: buckets must be a prime or a prime power up to 256 (the order of a "
        "field), but is " +
        std::to_string(buckets) + ".");
  }
  check_pool_size(k, buckets, pool_for(k, buckets), "g = " + std::to_string(buckets));
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

LocalHashDesign local_hash_design(uint32_t k, double epsilon) {
  check_k_and_epsilon(ProtocolParams{.protocol = "olh", .k = k, .epsilon = epsilon});
  if (k > kMaxCells) {
    throw Error("olh: k must be at most 2^26, but is " + std::to_string(k) +
                "; use ss, mss or hr for a domain this large.");
  }
  // With g >= k one hash suffices (d = 1, OLH is GRR on g values) and larger g only adds
  // outputs, so the target e^eps + 1 is capped at the smallest supported g >= k.
  const uint64_t cap = next_supported(k);
  const double target = std::min(std::exp(epsilon) + 1, static_cast<double>(cap));
  const uint64_t lo = previous_supported(static_cast<uint64_t>(std::floor(target)));
  const uint64_t hi = next_supported(static_cast<uint64_t>(std::ceil(target)));
  const Pool lo_pool = pool_for(k, lo), hi_pool = pool_for(k, hi);
  const bool take_hi = olh_rates(hi, hi_pool.collision_rate, epsilon).variance_constant() <
                       olh_rates(lo, lo_pool.collision_rate, epsilon).variance_constant();
  const uint64_t g = take_hi ? hi : lo;
  const Pool& pool = take_hi ? hi_pool : lo_pool;
  check_pool_size(k, g, pool, "epsilon = " + std::to_string(epsilon));
  return {.buckets = static_cast<uint32_t>(g),
          .dimension = pool.dimension,
          .seeds = static_cast<uint32_t>(pool.seeds),
          .collision_rate = pool.collision_rate};
}

namespace {

struct OlhModel {
  OlhModel(std::string id_in, LocalHashFamily family_in, OlhRates rates_in)
      : id(std::move(id_in)),
        family(std::move(family_in)),
        rates(rates_in),
        keep(rates_in.p, rates_in.not_p) {}

  // Bucket sizes |{v : H_s(v) = y}| at [s g + y] and the empty buckets of each seed, for
  // the attack's exact success rate: O(S (G + g k / G)), computed once on first use.
  void ensure_sizes() const {
    std::call_once(sizes_once, [this] {
      const uint32_t g = family.buckets(), seeds = family.seeds();
      bucket_sizes.assign(std::size_t{seeds} * g, 0);
      empty_buckets.assign(seeds, 0);
      for (uint32_t s = 0; s < seeds; ++s) {
        const std::span<uint32_t> sizes(bucket_sizes.data() + std::size_t{s} * g, g);
        family.bucket_sizes(s, sizes);
        empty_buckets[s] = static_cast<uint32_t>(std::count(sizes.begin(), sizes.end(), 0u));
      }
    });
  }

  std::string id;
  LocalHashFamily family;
  OlhRates rates;
  Coin keep;  // GRR keeps the bucket: exact on the rarer of p and 1 - p
  mutable std::once_flag sizes_once;
  mutable std::vector<uint32_t> bucket_sizes;
  mutable std::vector<uint32_t> empty_buckets;
};

std::string outside(uint32_t value, uint32_t k) {
  return "olh: value " + std::to_string(value) + " is outside [0, " + std::to_string(k) + ").";
}

class OlhEncoder final : public Encoder {
 public:
  explicit OlhEncoder(std::shared_ptr<const OlhModel> model) : model_(std::move(model)) {}

  // Draws: uniform(S) for the seed, GRR's coin (on the rarer of p and 1 - p, which is 1e-20
  // at eps = 50), then, when the bucket is not kept, one uniform(g - 1). O(d).
  void encode(uint32_t value, Rng& rng, Report& out) const override {
    const LocalHashFamily& family = model_->family;
    if (value >= family.k()) throw Error(outside(value, family.k()));
    const auto seed = static_cast<uint32_t>(rng.uniform(family.seeds()));
    const uint32_t h = family.hash(seed, value);
    uint32_t y = h;
    if (!rng.flip(model_->keep)) {
      // Index r of the g - 1 other buckets is the bucket r + (r >= h).
      const auto r = static_cast<uint32_t>(rng.uniform(family.buckets() - 1));
      y = r + (r >= h);
    }
    out.block = seed;
    out.items.assign(1, y);
  }

  double probability(const Report& report, uint32_t value) const override {
    const LocalHashFamily& family = model_->family;
    if (value >= family.k()) throw Error(outside(value, family.k()));
    const bool kept = report.items[0] == family.hash(report.block, value);
    return (kept ? model_->rates.p : model_->rates.q) / static_cast<double>(family.seeds());
  }

 private:
  std::shared_ptr<const OlhModel> model_;
};

class OlhEstimator final : public Estimator {
 public:
  explicit OlhEstimator(std::shared_ptr<const OlhModel> model) : model_(std::move(model)) {}

  // C_v = sum_s count[s][H_s(v)] over the seeds that have reports: O(min(n, S) k) field
  // additions, then f_v = (C_v / n - q*) / (p - q*).
  Estimate estimate(const Tally& tally, const EstimateOptions&) const override {
    check(tally);
    const uint64_t n = tally.total_reports();
    if (n == 0) throw Error("olh: the tally holds no reports.");
    const LocalHashFamily& family = model_->family;
    std::vector<uint64_t> support(family.k(), 0);
    for (uint32_t s = 0; s < family.seeds(); ++s) {
      if (tally.reports(s) != 0) family.add_support_counts(s, tally.counts(s), support);
    }
    const OlhRates& r = model_->rates;
    const double nd = static_cast<double>(n);
    Estimate e;
    e.reports = n;
    e.frequencies.resize(family.k());
    for (uint32_t v = 0; v < family.k(); ++v)
      e.frequencies[v] = (static_cast<double>(support[v]) / nd - r.q_star) / r.gap;
    return e;
  }

  double mean_variance(std::span<const double> f, uint64_t n) const override {
    check_size(f);
    double sum = 0;
    for (double fv : f) sum += model_->rates.variance(fv, static_cast<double>(n));
    return sum / static_cast<double>(f.size());
  }

  std::vector<double> variances(std::span<const double> f, const Tally& tally,
                                std::span<const uint32_t> values) const override {
    check(tally);
    check_size(f);
    const uint32_t k = model_->family.k();
    std::vector<double> out;
    out.reserve(values.size());
    for (uint32_t v : values) {
      if (v >= k) throw Error(outside(v, k));
      out.push_back(model_->rates.variance(f[v], static_cast<double>(tally.total_reports())));
    }
    return out;
  }

 private:
  void check(const Tally& tally) const {
    const LocalHashFamily& family = model_->family;
    if (tally.protocol_id() != model_->id || tally.block_count() != family.seeds() ||
        tally.universe(0) != family.buckets()) {
      throw Error("olh: the tally is for \"" + tally.protocol_id() + "\" with " +
                  std::to_string(tally.block_count()) + " blocks, not this " + model_->id +
                  " protocol with S = " + std::to_string(family.seeds()) +
                  " seeds of g = " + std::to_string(family.buckets()) + " buckets.");
    }
  }
  void check_size(std::span<const double> f) const {
    if (f.size() != model_->family.k()) {
      throw Error("olh: expected " + std::to_string(model_->family.k()) + " frequencies, got " +
                  std::to_string(f.size()) + ".");
    }
  }

  std::shared_ptr<const OlhModel> model_;
};

// The attacker guesses a uniform element of the preimage {v : H_s(v) = y}, or a uniform
// value when it is empty (protocols.md section 10). It is right with probability
// (1/S) sum_s [ p / |pre_s(H_s(x))| + q e_s / k ], e_s the empty buckets of seed s.
class OlhAttack final : public Attack {
 public:
  explicit OlhAttack(std::shared_ptr<const OlhModel> model) : model_(std::move(model)) {}

  // Rejection sampling (uniform over the preimage when it accepts), then a full scan (also
  // uniform over the preimage): the mixture is exactly uniform over the preimage.
  uint32_t guess(const Report& report, Rng& rng) const override {
    const LocalHashFamily& family = model_->family;
    const uint32_t seed = report.block, y = report.items[0], k = family.k();
    const uint32_t tries = kTriesPerBucket * family.buckets();
    for (uint32_t t = 0; t < tries; ++t) {
      const auto v = static_cast<uint32_t>(rng.uniform(k));
      if (family.hash(seed, v) == y) return v;
    }
    thread_local std::vector<uint32_t> hashes, preimage;
    hashes.resize(k);
    family.hash_all(seed, hashes);
    preimage.clear();
    for (uint32_t v = 0; v < k; ++v) {
      if (hashes[v] == y) preimage.push_back(v);
    }
    if (preimage.empty()) return static_cast<uint32_t>(rng.uniform(k));
    return preimage[rng.uniform(preimage.size())];
  }

  double success(uint32_t value) const override {
    const LocalHashFamily& family = model_->family;
    if (value >= family.k()) throw Error(outside(value, family.k()));
    model_->ensure_sizes();
    const OlhRates& r = model_->rates;
    const uint32_t g = family.buckets();
    const double k = family.k();
    double sum = 0;
    for (uint32_t s = 0; s < family.seeds(); ++s) {
      const uint32_t size = model_->bucket_sizes[std::size_t{s} * g + family.hash(s, value)];
      sum += r.p / size + r.q * model_->empty_buckets[s] / k;
    }
    return sum / family.seeds();
  }

 private:
  std::shared_ptr<const OlhModel> model_;
};

// What both factories share: validation, the completed params, the model and the client half.
// The encoder needs the hash family's hash() alone; its scans serve the estimator and attack.
struct OlhSetup {
  ClientProtocol client;
  std::shared_ptr<const OlhModel> model;
};

OlhSetup setup_olh(const ProtocolParams& params) {
  if (params.protocol != "olh") throw Error("make_olh: protocol is \"" + params.protocol + "\".");
  check_k_and_epsilon(params);
  check_unused_params(params, {.seeds = true});
  const LocalHashDesign design = local_hash_design(params.k, params.epsilon);
  if (params.seeds != 0 && params.seeds != design.seeds) {
    throw Error("olh: seeds must be 0 (the default) or " + std::to_string(design.seeds) +
                ", the pool size that k = " + std::to_string(params.k) + " and epsilon = " +
                std::to_string(params.epsilon) + " fix (g = " + std::to_string(design.buckets) +
                ", d = " + std::to_string(design.dimension) + "), but is " +
                std::to_string(params.seeds) + ".");
  }
  ProtocolParams p = params;
  p.seeds = design.seeds;
  std::string id = protocol_id(p);
  auto model =
      std::make_shared<const OlhModel>(id, LocalHashFamily(p.k, design.buckets),
                                       olh_rates(design.buckets, design.collision_rate, p.epsilon));
  ReportShape shape{std::vector<BlockShape>(design.seeds, BlockShape{design.buckets, 1})};
  return {.client = {.params = std::move(p),
                     .id = std::move(id),
                     .shape = std::move(shape),
                     .encoder = std::make_shared<OlhEncoder>(model)},
          .model = std::move(model)};
}

}  // namespace

Protocol make_olh(const ProtocolParams& params) {
  const OlhSetup s = setup_olh(params);
  return Protocol(s.client.params, s.client.shape, s.client.encoder,
                  std::make_shared<OlhEstimator>(s.model), std::make_shared<OlhAttack>(s.model));
}

ClientProtocol make_olh_client(const ProtocolParams& params) {
  return setup_olh(params).client;
}

}  // namespace residue

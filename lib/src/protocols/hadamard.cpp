#include "residue/protocols/hadamard.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "protocols/protocol_setup.h"
#include "protocols/registry_internal.h"
#include "residue/core/error.h"

namespace residue {
namespace {

bool odd_parity(uint64_t bits) {
  return (std::popcount(bits) & 1) != 0;
}

// Everything the encoder, estimator and attack share. With e = e^eps, D = e - 1 + 2B and
// h = b/2: every output of C_x has probability e p, every other one p = 1 / (h D), and they
// sum to h e p + (B b - h) p = p h (e - 1 + 2B) = 1.
struct HadamardModel {
  std::string id;
  uint32_t k = 0;
  uint32_t blocks = 0;         // B
  uint32_t block_size = 0;     // b
  uint32_t half = 0;           // h = b / 2 = |C_x|
  uint32_t used_blocks = 0;    // blocks holding at least one value below k: ceil(k / (b - 1))
  uint64_t outputs = 0;        // B b
  double in_set = 0;           // P[y in C_x | x] = e / D
  Coin in_set_coin;            // exact on the rarer of e / D and (2B - 1) / D (1e-20 at eps 50)
  double high = 0;             // e p, the probability of each output in C_x
  double low = 0;              // p, the probability of each other output
  double scale = 0;            // D / (e - 1): count estimate per unit of the transform
  double var_other = 0;        // per-user count variance, user in another block: 2D/(e-1)^2
  double var_same = 0;         // ... user in x's block (x' != x): (e+1)D/(e-1)^2; x' = x: less 1
  uint64_t empty_outputs = 0;  // outputs in no C_x with x < k

  uint32_t block_of(uint32_t x) const { return x / (block_size - 1); }
  uint32_t row_of(uint32_t x) const { return x % (block_size - 1) + 1; }
  // Rows 1..R of block `block` hold values below k (R = 0 for padding-only blocks).
  uint32_t rows_in(uint32_t block) const {
    const uint64_t first = uint64_t{block} * (block_size - 1);
    if (first >= k) return 0;
    return static_cast<uint32_t>(std::min<uint64_t>(block_size - 1, k - first));
  }
};

// The i-th (i < b/2) column c of the row with `parity` (false: even, so H[row][c] = +1 and c
// is in C_x). The lowest set bit j of row flips the parity, so inserting bit j into i and
// setting it as needed maps [0, b/2) one to one onto either half. REQUIRES: row != 0.
uint32_t column_with_parity(uint32_t row, uint32_t i, bool parity) {
  const int j = std::countr_zero(row);
  const uint32_t low_mask = (uint32_t{1} << j) - 1;
  uint32_t c = ((i & ~low_mask) << 1) | (i & low_mask);
  if (odd_parity(row & c) != parity) c |= uint32_t{1} << j;
  return c;
}

// Number of r in [0, n) with popcount(r & c) even, in O(log n): [0, n) splits into aligned
// power-of-two ranges; one of size s starting at `base` holds s/2 such r when c has a bit
// below s, otherwise all or none, as parity(base & c) says.
uint64_t count_even_rows(uint64_t n, uint32_t c) {
  uint64_t total = 0, base = 0;
  for (int j = static_cast<int>(std::bit_width(n)) - 1; j >= 0; --j) {
    const uint64_t size = uint64_t{1} << j;
    if ((n & size) == 0) continue;
    if ((c & (size - 1)) != 0) {
      total += size / 2;
    } else if (!odd_parity(base & c)) {
      total += size;
    }
    base |= size;
  }
  return total;
}

// Outputs of a block with R value rows that lie in no C_x: columns c whose rows 1..R all
// have odd parity with c. Rows 1, 2, 3 have parities c0, c1, c0^c1, never all odd, so only
// R = 1 (c0 = 1: b/2 columns) and R = 2 (c0 = c1 = 1: b/4 columns) leave any.
uint64_t empty_columns(uint32_t rows, uint32_t block_size) {
  if (rows == 1) return block_size / 2;
  if (rows == 2) return block_size / 4;
  return 0;
}

// In-place Walsh-Hadamard transform: v[r] <- sum_c (-1)^popcount(r & c) v[c]. Size a power
// of two; O(b log b). Entries stay within [-sum |v|, sum |v|].
void walsh_hadamard(std::vector<int64_t>& v) {
  const std::size_t size = v.size();
  for (std::size_t len = 1; len < size; len <<= 1) {
    for (std::size_t i = 0; i < size; i += 2 * len) {
      for (std::size_t j = i; j < i + len; ++j) {
        const int64_t a = v[j], b = v[j + len];
        v[j] = a + b;
        v[j + len] = a - b;
      }
    }
  }
}

class HadamardEncoder final : public Encoder {
 public:
  explicit HadamardEncoder(std::shared_ptr<const HadamardModel> model) : m_(std::move(model)) {}

  // With probability e/D a uniform element of C_x; otherwise a uniform element of the
  // B b - h other outputs: the other blocks first, then the complement of C_x in x's block.
  void encode(uint32_t value, Rng& rng, Report& out) const override {
    const HadamardModel& m = *m_;
    if (value >= m.k) {
      throw Error("hr: value " + std::to_string(value) + " is outside [0, " + std::to_string(m.k) +
                  ").");
    }
    const uint32_t block = m.block_of(value), row = m.row_of(value);
    uint64_t y;
    if (rng.flip(m.in_set_coin)) {
      const auto i = static_cast<uint32_t>(rng.uniform(m.half));
      y = uint64_t{block} * m.block_size + column_with_parity(row, i, false);
    } else {
      const uint64_t t = rng.uniform(m.outputs - m.half);
      const uint64_t elsewhere = m.outputs - m.block_size;  // outputs of the other blocks
      if (t < elsewhere) {
        uint64_t other = t / m.block_size;
        other += other >= block;
        y = other * m.block_size + t % m.block_size;
      } else {
        y = uint64_t{block} * m.block_size +
            column_with_parity(row, static_cast<uint32_t>(t - elsewhere), true);
      }
    }
    out.block = 0;
    out.items.clear();
    out.items.push_back(static_cast<uint32_t>(y));
  }

  double probability(const Report& report, uint32_t value) const override {
    const HadamardModel& m = *m_;
    const uint32_t y = report.items[0];
    const bool in_set =
        y / m.block_size == m.block_of(value) && !odd_parity(m.row_of(value) & (y % m.block_size));
    return in_set ? m.high : m.low;
  }

 private:
  std::shared_ptr<const HadamardModel> m_;
};

class HadamardEstimator final : public Estimator {
 public:
  explicit HadamardEstimator(std::shared_ptr<const HadamardModel> model) : m_(std::move(model)) {}

  // c_x = 2D/(e-1) (cnt1 - cnt2/2) with cnt1 the reports in C_x and cnt2 those in x's
  // block; the transform of the block's histogram at row r is cnt1 - (cnt2 - cnt1).
  Estimate estimate(const Tally& tally, const EstimateOptions&) const override {
    const HadamardModel& m = *m_;
    check(tally);
    const uint64_t n = tally.total_reports();
    if (n == 0) throw Error("hr: the tally holds no reports.");
    Estimate e;
    e.reports = n;
    e.frequencies.resize(m.k);
    const std::span<const uint64_t> counts = tally.counts(0);
    const double factor = m.scale / static_cast<double>(n);
    std::vector<int64_t> column(m.block_size);
    for (uint32_t block = 0; block < m.used_blocks; ++block) {
      const std::size_t offset = std::size_t{block} * m.block_size;
      for (uint32_t c = 0; c < m.block_size; ++c)
        column[c] = static_cast<int64_t>(counts[offset + c]);
      walsh_hadamard(column);
      const std::size_t first = std::size_t{block} * (m.block_size - 1);
      const uint32_t rows = m.rows_in(block);
      for (uint32_t r = 1; r <= rows; ++r)
        e.frequencies[first + r - 1] = factor * static_cast<double>(column[r]);
    }
    return e;
  }

  double mean_variance(std::span<const double> f, uint64_t n) const override {
    const HadamardModel& m = *m_;
    check_size(f);
    double total = 0;
    for (double fv : f) total += fv;
    double sum = -total;  // the -f_x of each value's own users
    for (uint32_t block = 0; block < m.used_blocks; ++block) {
      const double mass = block_mass(f, block);
      sum += m.rows_in(block) * ((total - mass) * m.var_other + mass * m.var_same);
    }
    return sum / (static_cast<double>(n) * m.k);
  }

  std::vector<double> variances(std::span<const double> f, const Tally& tally,
                                std::span<const uint32_t> values) const override {
    const HadamardModel& m = *m_;
    check(tally);
    check_size(f);
    double total = 0;
    for (double fv : f) total += fv;
    const auto n = static_cast<double>(tally.total_reports());
    std::vector<double> out;
    out.reserve(values.size());
    for (uint32_t v : values) {
      if (v >= m.k) {
        throw Error("hr: value " + std::to_string(v) + " is outside [0, " + std::to_string(m.k) +
                    ").");
      }
      const double mass = block_mass(f, m.block_of(v));
      out.push_back(((total - mass) * m.var_other + mass * m.var_same - f[v]) / n);
    }
    return out;
  }

 private:
  double block_mass(std::span<const double> f, uint32_t block) const {
    const std::size_t first = std::size_t{block} * (m_->block_size - 1);
    double mass = 0;
    for (uint32_t r = 0; r < m_->rows_in(block); ++r) mass += f[first + r];
    return mass;
  }

  void check_size(std::span<const double> f) const {
    if (f.size() != m_->k) {
      throw Error("hr: expected " + std::to_string(m_->k) + " frequencies, got " +
                  std::to_string(f.size()) + ".");
    }
  }

  void check(const Tally& tally) const {
    if (tally.protocol_id() != m_->id || tally.block_count() != 1 ||
        tally.universe(0) != m_->outputs) {
      throw Error("hr: the tally is for \"" + tally.protocol_id() + "\", not this " + m_->id +
                  " protocol with " + std::to_string(m_->outputs) + " outputs.");
    }
  }

  std::shared_ptr<const HadamardModel> m_;
};

// The attacker guesses a uniform element of S(y) = {x < k : y in C_x}, or a uniform value
// of [0, k) when S(y) is empty. For y = (block, c), S(y) is the rows r in 1..R of the block
// with popcount(r & c) even.
class HadamardAttack final : public Attack {
 public:
  explicit HadamardAttack(std::shared_ptr<const HadamardModel> model) : m_(std::move(model)) {}

  uint32_t guess(const Report& report, Rng& rng) const override {
    const HadamardModel& m = *m_;
    const uint32_t y = report.items[0];
    const uint32_t block = y / m.block_size, c = y % m.block_size;
    const uint32_t rows = m.rows_in(block);
    const uint64_t candidates = rows == 0 ? 0 : count_even_rows(uint64_t{rows} + 1, c) - 1;
    if (candidates == 0) return static_cast<uint32_t>(rng.uniform(m.k));
    // The smallest row r with i + 1 candidates in 1..r (row 0 is always even).
    const uint64_t target = rng.uniform(candidates) + 2;
    uint32_t lo = 1, hi = rows;
    while (lo < hi) {
      const uint32_t mid = lo + (hi - lo) / 2;
      if (count_even_rows(uint64_t{mid} + 1, c) >= target) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return block * (m.block_size - 1) + lo - 1;
  }

  // P = e p sum_{c in C_x} 1/|S(block, c)| + p (#outputs with S empty) / k. In a full block
  // |S| is b - 1 for c = 0 and b/2 - 1 for the other b/2 - 1 columns of C_x, so the sum is
  // 1/(b-1) + [b > 2]; in the last, partial block it is summed over C_x, O(b log b).
  double success(uint32_t value) const override {
    const HadamardModel& m = *m_;
    const uint32_t block = m.block_of(value), row = m.row_of(value);
    const uint32_t rows = m.rows_in(block);
    double sum = 0;
    if (rows == m.block_size - 1) {
      sum = 1.0 / rows + (m.half > 1 ? 1.0 : 0.0);
    } else {
      for (uint32_t i = 0; i < m.half; ++i) {
        const uint32_t c = column_with_parity(row, i, false);
        sum += 1.0 / static_cast<double>(count_even_rows(uint64_t{rows} + 1, c) - 1);
      }
    }
    return m.high * sum + m.low * static_cast<double>(m.empty_outputs) / m.k;
  }

 private:
  std::shared_ptr<const HadamardModel> m_;
};

}  // namespace

HadamardLayout hadamard_layout(uint32_t k, double epsilon) {
  check_k_and_epsilon({.protocol = "hr", .k = k, .epsilon = epsilon});
  // The reference rule: the smallest L >= 1 with 2^L >= min(e^eps, 2k), B = 2^(L-1).
  const double target = std::min(std::exp(epsilon), 2.0 * k);
  int log_blocks = 1;
  while (std::ldexp(1.0, log_blocks) < target) ++log_blocks;
  const uint64_t blocks = uint64_t{1} << (log_blocks - 1);
  // b = 2^ceil(log2(k/B + 1)), i.e. the smallest power of two with B (b - 1) >= k.
  uint64_t block_size = 2;
  while (blocks * (block_size - 1) < k) block_size *= 2;
  if (blocks * block_size > UINT32_MAX) {
    throw Error("hr: k = " + std::to_string(k) + " needs " + std::to_string(blocks * block_size) +
                " outputs at epsilon " + std::to_string(epsilon) + ", more than 2^32 - 1.");
  }
  return {.blocks = static_cast<uint32_t>(blocks), .block_size = static_cast<uint32_t>(block_size)};
}

namespace {

ProtocolSetup<std::shared_ptr<const HadamardModel>> setup_hr(const ProtocolParams& params) {
  check_protocol_params(params, "hr", {});
  const HadamardLayout layout = hadamard_layout(params.k, params.epsilon);
  auto model = std::make_shared<HadamardModel>();
  HadamardModel& m = *model;
  m.id = protocol_id(params);
  m.k = params.k;
  m.blocks = layout.blocks;
  m.block_size = layout.block_size;
  m.half = layout.block_size / 2;
  m.used_blocks =
      static_cast<uint32_t>((uint64_t{params.k} + layout.block_size - 2) / (layout.block_size - 1));
  m.outputs = layout.outputs();
  const double e = std::exp(params.epsilon), d = e - 1 + 2.0 * layout.blocks;
  const double em1 = std::expm1(params.epsilon);
  m.in_set = e / d;
  m.in_set_coin = Coin(m.in_set, (2.0 * layout.blocks - 1) / d);
  m.high = m.in_set / m.half;
  m.low = 1 / (d * m.half);
  m.scale = d / em1;
  m.var_other = 2 * d / (em1 * em1);
  m.var_same = (e + 1) * d / (em1 * em1);
  // Padding-only blocks are empty; of the used blocks, all but the last are full, and a full
  // block has R = b - 1 rows, which leaves empty columns only when b = 2.
  m.empty_outputs = uint64_t{layout.blocks - m.used_blocks} * layout.block_size +
                    uint64_t{m.used_blocks - 1} * empty_columns(m.block_size - 1, m.block_size) +
                    empty_columns(m.rows_in(m.used_blocks - 1), m.block_size);
  return {.client = {.params = params,
                     .id = m.id,
                     .shape = {{BlockShape{static_cast<uint32_t>(m.outputs), 1}}},
                     .encoder = std::make_shared<HadamardEncoder>(model)},
          .model = std::move(model)};
}

}  // namespace

Protocol make_hr(const ProtocolParams& params) {
  const auto s = setup_hr(params);
  return full_protocol(s.client, std::make_shared<HadamardEstimator>(s.model),
                       std::make_shared<HadamardAttack>(s.model));
}

ClientProtocol make_hr_client(const ProtocolParams& params) {
  return setup_hr(params).client;
}

}  // namespace residue

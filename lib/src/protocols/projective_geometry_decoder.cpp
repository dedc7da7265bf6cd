// PGR's fast decoder: T_v = sum of y_u over the points u on the hyperplane <u, v> = 0, for
// every point v at once, by the bottom-up dynamic program of Feldman et al., in O(K q t)
// instead of the O(K cset) = O(K^2 / q) of enumerating each hyperplane
// (docs/protocols/pgr.md, "The fast decoder").
//
// Split u = (a, w) into a prefix a of length t - m and a suffix w of length m, and let b be a
// vector of length m. Layer m of the table holds
//   F_m(a, b, z) = sum { y_(a, w) : (a, w) canonical, <w, b> = z }       (z in F_q)
// for a and b each either zero or canonical (scaling b by g scales the dot product by g, so
// canonical b suffice). Layer 0 is y itself; the answer is T_v = F_t(empty, v, 0).
// Peeling the first coordinate: b = (b0, g c) with c zero or canonical, w = (d, w'), so
//   F_m(a, b, z) = sum_d F_{m-1}(a d, c, (z - d b0) / g),
// with d over F_q, or over {0, 1} while a = 0 (so that (a, w) stays canonical).
//
// Indexing. A zero-or-canonical vector of length l has slot 0 (zero) or 1 + its index, so
// N_l = K_l + 1 slots; layer m is stored as [slot of b][slot of a][z]. The extensions of a
// are contiguous: slot(a d) = 2 + q (slot(a) - 1) + d for a != 0, and slots 0, 1 for a = 0.
// For each c the q vectors b that reduce to it are (0, c) (slot unchanged: prepending a zero
// keeps the index) and (1, g c) for g in F_q^* (slot 1 + K_(m-1) + the base-q number g c),
// plus, for c = 0, b = 0 and b = (1, 0, ..., 0). Looping over c, then a, one q x q block
// of layer m-1 feeds q rows of layer m while it sits in cache.
#include <algorithm>
#include <string>

#include "protocols/projective_geometry_internal.h"
#include "residue/core/error.h"

namespace residue {
namespace {

// Rows of the input block and targets are processed in tiles of about this many bytes, so
// that a tile of each stays in the L2 cache when q is large (t = 3 at eps >= 6, where one
// q x q block no longer fits).
constexpr std::size_t kTileBytes = 64 * 1024;

// One row of layer m that reduces to a given c: b's slot, its first coordinate b0 and
// h = g^{-1} (1 when b0 = 0).
struct Target {
  uint32_t slot;
  uint32_t b0;
  uint32_t h;
};

// The rows b of layer m (suffix length m >= 2) that reduce to c, given by its slot; the
// first one is the b0 = 0 row.
void targets_of(const ProjectiveSpace& space, std::span<const uint32_t> inverse, uint32_t m,
                uint32_t c_slot, std::vector<Target>& out) {
  const uint32_t q = space.q(), base = 1 + space.points(m - 1);
  out.clear();
  if (c_slot == 0) {
    out.push_back({0, 0, 1});     // b = 0
    out.push_back({base, 1, 1});  // b = (1, 0, ..., 0)
    return;
  }
  out.push_back({c_slot, 0, 1});  // b = (0, c)
  uint32_t c[ProjectiveSpace::kMaxDimension], gc[ProjectiveSpace::kMaxDimension];
  space.point(c_slot - 1, std::span<uint32_t>(c, m - 1));
  std::fill(gc, gc + (m - 1), 0u);
  for (uint32_t g = 1; g < q; ++g) {
    uint64_t number = 0;  // g c as a base-q number
    for (uint32_t i = 0; i + 1 < m; ++i) {
      gc[i] += c[i];
      if (gc[i] >= q) gc[i] -= q;
      number = number * q + gc[i];
    }
    out.push_back({base + static_cast<uint32_t>(number), 1, inverse[g]});
  }
}

// acc[0, n) += in[0, n).
template <typename T>
void add_into(T* acc, const T* in, std::size_t n) {
  for (std::size_t x = 0; x < n; ++x) acc[x] += in[x];
}

// out[z] = sum_d rows[d][z] (the b0 = 0 row).
template <typename T>
void column_sum(const T* rows, uint32_t count, uint32_t q, T* out) {
  std::copy(rows, rows + q, out);
  for (uint32_t d = 1; d < count; ++d) {
    const T* row = rows + std::size_t{d} * q;
    add_into(out, row, q);
  }
}

// The b0 = 1 rows: out_g[z] = sum_d rows[d][(z - d) h_g] for every target g. Each is built
// as tmp[x] = sum_d rows[d][x - d h] (shifted contiguous adds, which vectorize) in the
// target's own row, then permuted in place to out[z] = tmp[z h]. Tiled over rows and targets.
template <typename T, typename RowOf>
void skew_sums(const T* rows, uint32_t count, uint32_t q, std::span<const Target> targets,
               RowOf row_of, T* tmp) {
  const std::size_t tile = std::clamp<std::size_t>(kTileBytes / (sizeof(T) * q), 1, q);
  for (const Target& tg : targets) std::fill(row_of(tg), row_of(tg) + q, T{0});
  for (uint32_t d0 = 0; d0 < count; d0 += static_cast<uint32_t>(tile)) {
    const uint32_t d1 = static_cast<uint32_t>(std::min<std::size_t>(count, d0 + tile));
    for (std::size_t g0 = 0; g0 < targets.size(); g0 += tile) {
      const std::size_t g1 = std::min(targets.size(), g0 + tile);
      for (std::size_t g = g0; g < g1; ++g) {
        T* acc = row_of(targets[g]);
        const uint32_t h = targets[g].h;
        auto shift = static_cast<uint32_t>(uint64_t{d0} * h % q);
        for (uint32_t d = d0; d < d1; ++d) {
          // acc[x] += row[x - shift mod q], as two contiguous runs.
          const T* row = rows + std::size_t{d} * q;
          add_into(acc, row + (q - shift), shift);
          add_into(acc + shift, row, q - shift);
          shift += h;
          if (shift >= q) shift -= q;
        }
      }
    }
  }
  for (const Target& tg : targets) {
    T* out = row_of(tg);
    std::copy(out, out + q, tmp);
    uint32_t at = 0;
    for (uint32_t z = 0; z < q; ++z) {
      out[z] = tmp[at];
      at += tg.h;
      if (at >= q) at -= q;
    }
  }
}

}  // namespace

template <typename T>
void orthogonal_sums(const ProjectiveSpace& space, std::span<const T> y, std::span<T> out) {
  const uint32_t q = space.q(), t = space.t();
  if (y.size() != space.points() || out.size() != space.points()) {
    throw Error("pgr: orthogonal_sums needs " + std::to_string(space.points()) + " values, got " +
                std::to_string(y.size()) + " and " + std::to_string(out.size()) + ".");
  }
  auto slots = [&](uint32_t l) -> std::size_t { return std::size_t{space.points(l)} + 1; };
  std::size_t largest = 0;
  for (uint32_t m = 1; m < t; ++m) largest = std::max(largest, slots(m) * slots(t - m) * q);
  std::vector<T> prev(largest), cur(largest), tmp(q);
  std::vector<uint32_t> own_inverses;
  std::span<const uint32_t> inverse = space.inverse_table();
  if (inverse.empty()) {
    own_inverses = field_inverses(q);
    inverse = own_inverses;
  }

  // Layer 1: b in {0, (1)}, a of length t - 1. F_1(a, 0, z) = [z = 0] sum_d y_(a d) and
  // F_1(a, (1), z) = y_(a z). The extensions of a != 0 are the points 1 + q (slot(a) - 1) + d,
  // q consecutive entries of y; those of a = 0 are the zero vector and point 0.
  {
    const std::size_t na = slots(t - 1);
    T* zero_b = prev.data();
    T* one_b = prev.data() + na * q;
    std::fill(prev.begin(), prev.begin() + static_cast<std::ptrdiff_t>(2 * na * q), T{0});
    zero_b[0] = y[0];
    one_b[1] = y[0];
    for (std::size_t a = 1; a < na; ++a) {
      const T* ext = y.data() + 1 + q * (a - 1);
      T sum{0};
      for (uint32_t d = 0; d < q; ++d) sum += ext[d];
      zero_b[a * q] = sum;
      std::copy(ext, ext + q, one_b + a * q);
    }
  }

  std::vector<Target> targets;
  for (uint32_t m = 2; m <= t; ++m) {
    const std::size_t na = slots(t - m), na_prev = slots(t - m + 1);
    const auto nc = static_cast<uint32_t>(slots(m - 1));
    for (uint32_t c = 0; c < nc; ++c) {
      targets_of(space, inverse, m, c, targets);
      const T* block = prev.data() + std::size_t{c} * na_prev * q;
      if (m == t) {
        // Last layer: a is empty (rows 0 and 1 of the block, a = 0 extended by 0 or 1) and
        // only z = 0 is wanted: T_b = F(0, c, 0) + F((1), c, -b0 / g).
        for (const Target& tg : targets) {
          if (tg.slot == 0) continue;  // b = 0 is not a point
          const uint32_t z1 = tg.b0 == 0 ? 0 : q - tg.h;
          out[tg.slot - 1] = block[0] + block[q + z1];
        }
        continue;
      }
      for (std::size_t a = 0; a < na; ++a) {
        const T* rows = a == 0 ? block : block + (2 + q * (a - 1)) * q;
        const uint32_t count = a == 0 ? 2 : q;
        auto row_of = [&](const Target& tg) {
          return cur.data() + (std::size_t{tg.slot} * na + a) * q;
        };
        column_sum(rows, count, q, row_of(targets[0]));
        skew_sums(rows, count, q, std::span<const Target>(targets).subspan(1), row_of, tmp.data());
      }
    }
    std::swap(prev, cur);
  }
}

template void orthogonal_sums<uint32_t>(const ProjectiveSpace&, std::span<const uint32_t>,
                                        std::span<uint32_t>);
template void orthogonal_sums<uint64_t>(const ProjectiveSpace&, std::span<const uint64_t>,
                                        std::span<uint64_t>);
template void orthogonal_sums<double>(const ProjectiveSpace&, std::span<const double>,
                                      std::span<double>);

}  // namespace residue

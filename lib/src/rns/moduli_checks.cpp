// The validity checks of rns/moduli.h: coverage, exact column rank, validate_moduli.
#include <Eigen/Dense>
#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "residue/core/error.h"
#include "residue/rns/crt.h"
#include "residue/rns/moduli.h"

namespace residue {
namespace {

// Largest k for the dense rank: its stacked matrix is kept at most 2k x k doubles (268 MB).
constexpr uint32_t kDenseLimit = 4096;

// Column-pivoted QR pivots of stacked residue matrices that are not zero stay above 1e-5 of
// the largest one (random and adversarial moduli sets up to k = 600, checked against the
// exact rank in moduli_checks_test), while rounding leaves "zero" pivots near 1e-14.
constexpr double kRankThreshold = 1e-9;

std::string join(std::span<const uint32_t> moduli) {
  std::string s = "{";
  for (size_t j = 0; j < moduli.size(); ++j) {
    if (j > 0) s += ", ";
    s += std::to_string(moduli[j]);
  }
  return s + "}";
}

// When every modulus exceeds k/2 each residue class in [0, k) is a singleton {x} (forcing
// z_x = 0 for z in the null space) or a pair {x, x + m} (forcing z_x = -z_{x+m}). A connected
// component of the pair graph carries a null vector (+-1 by colour) iff it is bipartite and
// has no singleton; otherwise every z on it is 0.
bool graph_full_rank(uint32_t k, std::span<const uint32_t> moduli) {
  std::vector<int8_t> colour(k, -1);
  std::vector<uint32_t> stack;
  for (uint32_t root = 0; root < k; ++root) {
    if (colour[root] >= 0) continue;
    colour[root] = 0;
    stack.assign(1, root);
    bool bipartite = true;
    bool has_singleton = false;
    while (!stack.empty()) {
      const uint32_t x = stack.back();
      stack.pop_back();
      for (uint64_t m : moduli) {
        const uint64_t up = x + m;
        if (x < m && up >= k) has_singleton = true;
        for (uint64_t y : {x >= m ? x - m : uint64_t{k}, up}) {
          if (y >= k) continue;
          if (colour[y] < 0) {
            colour[y] = static_cast<int8_t>(1 - colour[x]);
            stack.push_back(static_cast<uint32_t>(y));
          } else if (colour[y] == colour[x]) {
            bipartite = false;
          }
        }
      }
    }
    if (bipartite && !has_singleton) return false;
  }
  return true;
}

// Numerical rank of the stacked 0/1 matrix. Blocks are appended row-wise; whenever the stack
// would pass 2k rows it is replaced by its k x k triangular QR factor, which has the same row
// space, so memory stays O(k^2) however many moduli there are.
bool dense_full_rank(uint32_t k, std::span<const uint32_t> moduli) {
  const Eigen::Index n = k;
  Eigen::MatrixXd stacked(0, n);
  for (uint32_t m : moduli) {
    const Eigen::Index rows = std::min<Eigen::Index>(m, n);
    if (stacked.rows() + rows > 2 * n) {
      Eigen::HouseholderQR<Eigen::MatrixXd> qr(stacked);
      Eigen::MatrixXd r = qr.matrixQR().topRows(std::min(stacked.rows(), n));
      r.triangularView<Eigen::StrictlyLower>().setZero();
      stacked = std::move(r);
    }
    const Eigen::Index top = stacked.rows();
    stacked.conservativeResize(top + rows, Eigen::NoChange);
    stacked.bottomRows(rows).setZero();
    for (uint32_t x = 0; x < k; ++x) stacked(top + x % m, x) = 1;
  }
  if (stacked.rows() < n) return false;
  Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(stacked);
  qr.setThreshold(kRankThreshold);
  return qr.rank() == n;
}

}  // namespace

bool covers_domain(uint32_t k, std::span<const uint32_t> moduli) {
  return moduli_product(moduli) >= k;
}

bool has_full_column_rank(uint32_t k, std::span<const uint32_t> moduli) {
  for (size_t j = 0; j < moduli.size(); ++j) {
    if (moduli[j] == 0) {
      throw Error("modulus 0 at index " + std::to_string(j) + " has no residue classes.");
    }
  }
  const auto below_half =
      std::find_if(moduli.begin(), moduli.end(), [k](uint64_t m) { return 2 * m <= k; });
  if (below_half == moduli.end()) return graph_full_rank(k, moduli);
  if (k <= kDenseLimit) return dense_full_rank(k, moduli);
  throw Error("exact rank check needs every modulus above k/2 when k > " +
              std::to_string(kDenseLimit) + ", but modulus " + std::to_string(*below_half) +
              " <= " + std::to_string(k / 2));
}

void validate_moduli(uint32_t k, std::span<const uint32_t> moduli) {
  if (moduli.empty()) throw Error("the moduli set is empty: MSS needs at least one modulus.");
  for (size_t j = 0; j < moduli.size(); ++j) {
    if (moduli[j] < 2) {
      throw Error("modulus " + std::to_string(moduli[j]) + " at index " + std::to_string(j) +
                  " must be at least 2.");
    }
  }
  for (size_t i = 0; i < moduli.size(); ++i) {
    for (size_t j = i + 1; j < moduli.size(); ++j) {
      const uint32_t g = std::gcd(moduli[i], moduli[j]);
      if (g != 1) {
        throw Error("moduli " + std::to_string(moduli[i]) + " and " + std::to_string(moduli[j]) +
                    " share the factor " + std::to_string(g) + ".");
      }
    }
  }
  const BigInt product = moduli_product(moduli);
  if (product < k) {
    throw Error("product of moduli " + product.str() + " does not cover k = " + std::to_string(k) +
                ".");
  }
  if (!has_full_column_rank(k, moduli)) {
    throw Error("moduli " + join(moduli) + " do not identify all " + std::to_string(k) +
                " values: the residue matrix has rank < k.");
  }
}

}  // namespace residue

// Hadamard Response (HR), general multi-block form (Acharya, Sun & Zhang, AISTATS 2019;
// docs/protocols/hr.md).
//
// The padded domain [0, K), K = B (b - 1) >= k, is cut into B blocks of b - 1 values; value x
// lives in block x / (b - 1) at row (x mod (b - 1)) + 1 of the b x b Sylvester Hadamard matrix
// (row 0, all ones, is skipped). Its set C_x is the b/2 columns where that row is +1. A report
// is one of the B b outputs (block, column), sent as the single position block * b + column in
// ceil(log2(B b)) bits: each output in C_x is e^eps times as likely as any other output.
// The server histograms the outputs and runs one fast Walsh-Hadamard transform per block,
// O(n + K log b). B = 1 is the basic ("vanilla") HR.
//
//   Protocol hr = make_hr({.protocol = "hr", .k = 22000, .epsilon = 5});
//   HadamardLayout layout = hadamard_layout(22000, 5.0);  // B = 128, b = 256
#pragma once

#include <cstdint>

#include "residue/protocols/params.h"
#include "residue/protocols/protocol.h"

namespace residue {

/// The block structure HR uses for a domain of k values at a given epsilon.
struct HadamardLayout {
  /// B: the largest power of two strictly below min(e^eps, 2k), at least 1.
  uint32_t blocks = 0;
  /// b: the smallest power of two with B (b - 1) >= k; each block holds b - 1 values.
  uint32_t block_size = 0;

  /// K = B (b - 1), the padded domain (values k .. K - 1 are padding nobody holds).
  uint64_t padded_k() const { return uint64_t{blocks} * (block_size - 1); }
  /// B b, the number of distinct reports.
  uint64_t outputs() const { return uint64_t{blocks} * block_size; }
};

/// The layout for k values at `epsilon`. Throws Error if k < 2, epsilon is not in (0, 50],
/// or B b (always below 4k) exceeds 2^32 - 1, which needs k > 2^30.
HadamardLayout hadamard_layout(uint32_t k, double epsilon);

/// The HR protocol on [0, k). It takes no parameters besides k and epsilon: moduli,
/// subset_sizes and seeds must be left empty (0). Throws Error naming the bad parameter.
Protocol make_hr(const ProtocolParams& params);

}  // namespace residue

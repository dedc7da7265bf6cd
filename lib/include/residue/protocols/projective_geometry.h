// Projective Geometry Response (PGR): Feldman, Nelson, Nguyen, Talwar, "Private Frequency
// Estimation via Projective Geometry", ICML 2022 (arXiv:2203.00194).
//
// Values are points of the projective space PG(t-1, q): canonical vectors of F_q^t (first
// nonzero coordinate 1), K = (q^t - 1)/(q - 1) of them, of which the first k are the domain.
// A client holding v sends one point u, e^eps times as likely when <u, v> = 0 (u lies on the
// hyperplane S_v, cset points) as otherwise. The aggregator counts, for every v, the reports
// on S_v with a dynamic program in O(K q t) (docs/protocols/pgr.md). Reports cost
// ceil(log2 K) bits; K can be far above k (q^t overshoots), which costs bits, not accuracy.
//
//   Protocol pgr = make_pgr({.protocol = "pgr", .k = 22000, .epsilon = 5});
//   ProjectiveGeometryRates r = projective_geometry_rates(22000, 5.0);  // q 151, t 3, K 22953
#pragma once

#include <cstdint>

#include "residue/protocols/params.h"
#include "residue/protocols/protocol.h"

namespace residue {

/// The geometry and probabilities of PGR (docs/protocols/pgr.md), notation of the paper.
struct ProjectiveGeometryRates {
  /// Field size: the smallest odd prime >= ceil(e^eps + 1).
  uint32_t q = 0;
  /// Dimension: the smallest t >= 2 with (q^t - 1)/(q - 1) >= k.
  uint32_t t = 0;
  /// K = (q^t - 1)/(q - 1): the points of PG(t-1, q), the message universe.
  uint32_t universe = 0;
  /// cset = (q^(t-1) - 1)/(q - 1) = |S_v|, the points of a hyperplane.
  uint32_t cset = 0;
  /// cint = (q^(t-2) - 1)/(q - 1) = |S_v n S_w| for v != w.
  uint32_t cint = 0;
  double epsilon = 0;
  /// p = 1/((e^eps - 1) cset + K): P[u | v] for u off S_v; e^eps p on it.
  double p = 0;
  /// s = P[report in S_v | input v] = e^eps p cset.
  double s = 0;
  /// r = P[report in S_v | input w != v] = p ((e^eps - 1) cint + cset).
  double r = 0;
  /// 1 - s, 1 - r and s - r, each computed without cancellation.
  double not_s = 0, not_r = 0, gap = 0;

  /// V = r(1 - r)/(s - r)^2: n times the per-value variance without the f-term.
  double variance_constant() const { return r * not_r / (gap * gap); }
  /// Exact per-value variance of the frequency estimate for true frequency f and n reports.
  double variance(double f, double n) const {
    return (f * s * not_s + (1 - f) * r * not_r) / (n * gap * gap);
  }
};

/// PGR's parameters for a domain of k values at epsilon. Throws Error if k < 2, epsilon is
/// not in (0, 50], or K would exceed 2^26 points (the tally and decoder need O(K) memory).
ProjectiveGeometryRates projective_geometry_rates(uint32_t k, double epsilon);

/// The PGR protocol on [0, k). It has no parameters besides k and epsilon; moduli, subset
/// sizes and seeds must be left empty. Throws Error naming the bad parameter.
Protocol make_pgr(const ProtocolParams& params);

}  // namespace residue

// ModularSubsetSelection (MSS): residues plus Subset Selection, decoded by least squares
// (Arcolezi, AAAI 2026; docs/protocols/mss.md).
//
// Client: draw j uniformly from the l moduli, compute r = x mod m_j, and send (j, Z) where Z
// is Subset Selection of r on [0, m_j) with the full epsilon. Reports are about as long as
// SS's on m_j ~ k/2 values, so roughly half of SS's bits.
// Server: count per block, debias each block into an unbiased residue histogram, weight
// blocks by inverse variance and solve the weighted least squares A f = pi, A applied
// matrix-free in O(k l): CG on the normal equations when every modulus is at least k/2,
// LSMR on the stacked system otherwise. The closed-form variance includes the within-block
// covariance of SS and the random split of users over blocks, so the MSE it predicts is
// the one simulations measure.
//
//   ProtocolParams p = complete_params({.protocol = "mss", .k = 22000, .epsilon = 1});
//   Protocol mss = make_mss(p);
#pragma once

#include "residue/protocols/params.h"
#include "residue/protocols/protocol.h"

namespace residue {

/// The MSS protocol. REQUIRES: params.moduli set (see complete_params); throws Error if the
/// moduli are invalid for k (validate_moduli) or subset sizes do not match them.
Protocol make_mss(const ProtocolParams& params);

/// The MSS paper's figure for its reconstruction attack (Eq. 7),
/// (1/l) sum_j p_j / (omega_j ceil(k / m_j)). It assumes every residue class has ceil(k/m_j)
/// members; the attack's real rate, Protocol::attack().success(), counts the actual sizes.
double mss_paper_attack_rate(const ProtocolParams& params);

/// MSS's estimate by LSMR on the stacked least squares whatever the moduli, where
/// p.estimator() takes CG on the normal equations when every modulus is at least k/2
/// (docs/protocols/mss.md, "Decoding"): the reference that decoder is tested and benchmarked
/// against. Throws Error if p is not an MSS protocol or the tally is not p's.
Estimate mss_least_squares_estimate(const Protocol& p, const Tally& tally,
                                    const EstimateOptions& options = {});

}  // namespace residue

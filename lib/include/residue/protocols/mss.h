// ModularSubsetSelection (MSS): residues plus Subset Selection, decoded by least squares
// (Arcolezi, AAAI 2026; docs/protocols/mss.md).
//
// Client: draw j uniformly from the l moduli, compute r = x mod m_j, and send (j, Z) where Z
// is Subset Selection of r on [0, m_j) with the full epsilon. Reports are about as long as
// SS's on m_j ~ k/2 values, so roughly half of SS's bits.
// Server: count per block, debias each block into an unbiased residue histogram, weight
// blocks by inverse variance and solve the stacked least squares A f = pi with LSMR, A
// applied matrix-free in O(k l). The closed-form variance includes the within-block
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

}  // namespace residue

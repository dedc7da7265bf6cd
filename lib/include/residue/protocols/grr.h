// k-ary randomized response (GRR, k-RR; Kairouz et al. 2016, "direct encoding" in Wang et
// al. 2017): the oldest frequency oracle, and the best one when k is small next to e^eps.
//
// A client holding x sends y = x with probability p = e^eps / (e^eps + k - 1), otherwise
// a uniform element of [0, k) \ {x} (each with probability q = 1 / (e^eps + k - 1)). The
// report is the single position y, ceil(log2 k) bits on the wire. The server counts each
// value and debiases, f_v = (C_v / n - q) / (p - q); the estimates sum to 1 exactly.
// Variance grows linearly in k, so for large domains prefer ss or mss (docs/protocols/grr.md).
// GRR is Subset Selection with omega = 1, but it is built here on its own.
//
//   Protocol grr = make_grr({.protocol = "grr", .k = 16, .epsilon = 2});
//   Report r = grr.encoder().encode(3, rng);   // r.items == {y}
#pragma once

#include "residue/protocols/params.h"
#include "residue/protocols/protocol.h"

namespace residue {

/// The GRR protocol on [0, k): one block of universe k and subset size 1. Takes no
/// parameters besides k and epsilon; throws Error naming any other that is set.
Protocol make_grr(const ProtocolParams& params);

}  // namespace residue

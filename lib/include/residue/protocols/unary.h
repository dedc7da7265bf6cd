// Unary encodings: symmetric unary encoding (SUE, which is basic one-time RAPPOR with one
// hash and no instantaneous randomization; Erlingsson et al. 2014) and optimized unary
// encoding (OUE; Wang et al. 2017).
//
// A client holding x writes x as a one-hot vector of k bits and randomizes every bit on its
// own: the bit at x stays 1 with probability p, every other bit becomes 1 with probability q.
//   SUE  p = e^(eps/2) / (e^(eps/2) + 1),  q = 1 / (e^(eps/2) + 1)   (each bit kept w.p. p)
//   OUE  p = 1/2,                          q = 1 / (e^eps + 1)       (V = 4 e^eps/(e^eps-1)^2)
// The report is the set of 1-bits, a k-bit bitmap on the wire. The client costs O(#ones), not
// O(k): it draws the number of noise ones from an exact Binomial(k - 1, q) table and places
// them by Floyd's algorithm. The server's tally counts are the per-bit sums; the estimate is
// f_v = (C_v / n - q) / (p - q), unbiased, but unlike GRR/SS it does not sum to 1 exactly.
// OUE has about half of SUE's variance at small eps and is preferred (docs/protocols/oue.md).
// An honest report has 1{true bit kept} + Binomial(k - 1, q) ones; the shape's max_items is
// the count above which that happens with probability below kUnaryFalseRejection, and the
// batch parser refuses reports with more (an all-ones report would count as k values).
//
//   Protocol oue = make_oue({.protocol = "oue", .k = 256, .epsilon = 1});
//   Report r = oue.encoder().encode(7, rng);   // r.items: the positions of the 1-bits
#pragma once

#include "residue/protocols/params.h"
#include "residue/protocols/protocol.h"

namespace residue {

/// Bound on the probability that an honest unary report has more ones than the shape's
/// max_items, and so that the batch parser refuses it: 2^-40, about 9.1e-13 per report.
inline constexpr double kUnaryFalseRejection = 0x1p-40;

/// SUE (basic one-time RAPPOR) on [0, k): one block of universe k, any number of positions
/// (subset size 0). Takes no parameters besides k and epsilon; throws Error naming any other.
Protocol make_sue(const ProtocolParams& params);

/// OUE on [0, k); same shape and parameters as make_sue.
Protocol make_oue(const ProtocolParams& params);

}  // namespace residue

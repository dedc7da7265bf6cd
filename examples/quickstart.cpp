// Quickstart (the README's snippet): MSS end to end inside one process. Clients randomize
// with the CSPRNG; the aggregator tallies and estimates. Run: build/examples/quickstart
#include <cstdio>

#include "residue/protocols/registry.h"
#include "residue/random/csprng.h"

int main() {
  residue::Protocol mss = residue::make_protocol(
      residue::complete_params({.protocol = "mss", .k = 1024, .epsilon = 1.0}));
  residue::Csprng rng;                     // clients: always the CSPRNG
  residue::Tally tally = mss.new_tally();  // server: mergeable counts
  for (int client = 0; client < 50000; ++client) {
    const uint32_t value = client % 3 == 0 ? 417 : static_cast<uint32_t>(client % 1024);
    residue::Report report = mss.encoder().encode(value, rng);
    tally.add(report);
  }
  residue::Estimate e = mss.estimator().estimate(tally);  // unbiased frequencies
  const uint32_t values[] = {417};
  const double se = mss.standard_errors(tally, e, values)[0];
  std::printf("value 417: estimated frequency %.4f +- %.4f (true about 0.334)\n",
              e.frequencies[417], se);
  return e.frequencies[417] > 0.25 && e.frequencies[417] < 0.42 ? 0 : 1;
}

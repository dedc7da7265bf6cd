// Wall-clock timing of phases, for the timings the tools and benchmarks print.
//
//   const Clock::time_point start = Clock::now();
//   ...
//   double s = seconds_since(start);
#pragma once

#include <chrono>

namespace residue {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace residue

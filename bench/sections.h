// The command line of the benchmarks made of sections: `NAME [SECTION...] [--smoke]` runs the
// sections named (all when none is), at toy sizes under --smoke.
#pragma once

#include <initializer_list>

namespace residue {

struct BenchSection {
  const char* name;
  void (*run)(bool smoke);
};

/// Runs the wanted sections in the order given; an Error is printed after `program` and
/// returned as 1.
int run_sections(const char* program, int argc, char** argv,
                 std::initializer_list<BenchSection> sections);

}  // namespace residue

// The command line of the benchmarks made of sections: `NAME [SECTION...] [--smoke]
// [--OPTION=VALUE...]` runs the sections named (all when none is), at toy sizes under --smoke;
// a section reads its options with bench_option().
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace residue {

struct BenchSection {
  const char* name;
  void (*run)(bool smoke);
};

/// Runs the wanted sections in the order given; an Error is printed after `program` and
/// returned as 1.
int run_sections(const char* program, int argc, char** argv,
                 std::initializer_list<BenchSection> sections);

/// The value of `--name=VALUE` on the command line, or "" when it was not given.
std::string bench_option(std::string_view name);

}  // namespace residue

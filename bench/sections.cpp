#include "sections.h"

#include <cstring>
#include <iostream>
#include <set>
#include <string>

#include "residue/core/error.h"

namespace residue {

int run_sections(const char* program, int argc, char** argv,
                 std::initializer_list<BenchSection> sections) {
  std::set<std::string> wanted;
  bool smoke = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0) {
      smoke = true;
    } else {
      wanted.insert(argv[i]);
    }
  }
  try {
    for (const BenchSection& s : sections) {
      if (wanted.empty() || wanted.count(s.name) > 0) s.run(smoke);
    }
  } catch (const Error& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace residue

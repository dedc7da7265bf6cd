#include "sections.h"

#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <string>

#include "residue/core/error.h"

namespace residue {
namespace {

std::map<std::string, std::string, std::less<>> options;

}  // namespace

std::string bench_option(std::string_view name) {
  const auto it = options.find(name);
  return it == options.end() ? "" : it->second;
}

int run_sections(const char* program, int argc, char** argv,
                 std::initializer_list<BenchSection> sections) {
  std::set<std::string> wanted;
  bool smoke = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const std::size_t equals = arg.find('=');
    if (arg == "--smoke") {
      smoke = true;
    } else if (arg.starts_with("--") && equals != std::string::npos) {
      options[arg.substr(2, equals - 2)] = arg.substr(equals + 1);
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

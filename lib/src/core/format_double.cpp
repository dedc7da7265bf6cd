#include "residue/core/format_double.h"

#include <sstream>

namespace residue {

std::string format_double(double x) {
  std::ostringstream s;
  s << x;
  return s.str();
}

}  // namespace residue

// A double for messages, as %g prints it: "0.5", "-1", "1e+07" (std::to_string would give
// "0.500000", "-1.000000").
#pragma once

#include <string>

namespace residue {

std::string format_double(double x);

}  // namespace residue

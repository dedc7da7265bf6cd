// The subcommands of `residue`; each lives in its own file and registers itself here.
#pragma once

#include <CLI/CLI.hpp>

namespace residue {

void add_simulate_command(CLI::App& app);  // simulate.cpp
void add_moduli_command(CLI::App& app);    // moduli.cpp

}  // namespace residue

// The subcommands of `residue`; each lives in its own file and registers itself here.
#pragma once

#include <CLI/CLI.hpp>

namespace residue {

void add_simulate_command(CLI::App& app);             // simulate.cpp
void add_compare_command(CLI::App& app);              // compare.cpp
void add_attack_command(CLI::App& app);               // attack.cpp
void add_audit_command(CLI::App& app);                // audit.cpp
void add_moduli_command(CLI::App& app);               // moduli.cpp
void add_store_commands(CLI::App& app);               // store_commands.cpp: decode, verify
void add_loadgen_command(CLI::App& app);              // loadgen.cpp
void add_reduce_commands(CLI::App& app);              // reduce.cpp: export-tally, reduce
void add_memory_command(CLI::App& app);               // memory.cpp: memory build, eval, query
void add_memory_prepare_command(CLI::App& memory);    // memory_prepare.cpp: memory prepare
void add_memory_shortlist_command(CLI::App& memory);  // memory_shortlist.cpp: memory shortlist
void add_vocab_command(CLI::App& app);  // vocab.cpp: vocab build, update, search, tokenize, ...

}  // namespace residue

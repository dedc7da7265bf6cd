// residue: the offline analysis tool. Subcommands live one per file (commands.h).
#include <CLI/CLI.hpp>
#include <iostream>

#include "commands.h"
#include "residue/core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"residue: local differential privacy frequency estimation, offline tools"};
  app.require_subcommand(1);
  residue::add_simulate_command(app);
  residue::add_compare_command(app);
  residue::add_attack_command(app);
  residue::add_audit_command(app);
  residue::add_moduli_command(app);
  residue::add_store_commands(app);
  residue::add_loadgen_command(app);
  residue::add_reduce_commands(app);
  residue::add_memory_command(app);
  residue::add_vocab_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "residue: error: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const residue::Error& e) {
    std::cerr << "residue: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

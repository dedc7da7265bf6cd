// `residue export-tally` and `residue reduce`: a task's tally taken out of one store, and the
// tallies of many stores summed and decoded (docs/deployment.md, "Offline reduce").
//
// `reduce` is an MPI program, `residue-reduce` (reduce_main.cpp), built beside `residue`. The
// CLI does not link MPI (Open MPI brings hwloc, PMIx and libevent, and MPI_Init would make
// every subcommand an MPI process); `residue reduce ARGS` replaces itself with
// `residue-reduce ARGS` (execv keeps the pid and the environment, so the rank mpirun gave this
// process stays its rank). So `mpirun -np 4 residue reduce ...` works as written.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "residue/core/error.h"
#include "tally_inputs.h"

namespace residue {
namespace {

[[noreturn]] void exec_reduce(const std::vector<std::string>& args) {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::filesystem::path program = self.parent_path() / "residue-reduce";
  if (ec || !std::filesystem::exists(program)) {
    throw Error("reduce: residue-reduce, the MPI program of this subcommand, is not beside " +
                (ec ? std::string("residue") : self.string()) +
                ": build the residue_reduce target (it needs Open MPI: scripts/setup).");
  }
  std::vector<std::string> argv = {program.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (std::string& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  std::cout.flush();
  ::execv(raw[0], raw.data());
  throw Error("reduce: cannot run " + program.string() + ": " + std::strerror(errno) + ".");
}

struct ExportOptions {
  std::string data, postgres, task, out;
};

}  // namespace

void add_reduce_commands(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* ex = app.add_subcommand(
      "export-tally",
      "Write a task's tally, parameters and counters to a file that `residue reduce` reads");
  CLI::Option* data = ex->add_option("--data", o->data, "A daemon's data directory (SQLite)");
  CLI::Option* pg = ex->add_option("--postgres", o->postgres,
                                   "A PostgreSQL store's libpq connection string (every shard)");
  data->excludes(pg);
  ex->add_option("--task", o->task, "Task name")->required();
  ex->add_option("--out", o->out, "The file to write")->required();
  ex->callback([o] {
    if (o->data.empty() == o->postgres.empty())
      throw Error("export-tally: give --data DIR or --postgres CONNINFO.");
    const TaskTally t =
        read_task_tally(o->data.empty() ? "postgres:" + o->postgres : o->data, o->task);
    write_tally_file(o->out, t);
    std::cerr << "export-tally: task " << t.record.name << ": " << t.record.reports
              << " reports in " << t.record.batches << " batches -> " << o->out << "\n";
  });

  CLI::App* reduce = app.add_subcommand(
      "reduce",
      "Sum a task's tallies over many stores with MPI and decode them: mpirun -np N residue "
      "reduce --inputs IN... --task NAME --out FILE (`residue reduce --help` for all options)");
  // Everything after `reduce`, --help included, belongs to residue-reduce.
  reduce->prefix_command();
  reduce->set_help_flag();
  reduce->callback([reduce] { exec_reduce(reduce->remaining()); });
}

}  // namespace residue

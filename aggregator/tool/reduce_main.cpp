// residue-reduce: the MPI program behind `residue reduce` (reduce.cpp execs it).
//
//   mpirun -np 4 residue reduce --inputs eu/ us/ asia.tally postgres:host=db1
//          --task words --out words.json
//
// Input i is read by rank i mod N: a daemon's SQLite data directory, a file of `residue
// export-tally`, or a PostgreSQL store (all its shards). Each rank sums its inputs' tallies,
// then the ranks sum theirs with MPI_Reduce (MPI_UINT64_T, MPI_SUM) into rank 0: the counts of
// every block, the reports per block, and the batch and report counters; the last batch time
// with MPI_MAX. Rank 0 decodes the sum exactly as `residue decode` decodes one store and writes
// the same JSON. Counts are integers and addition is exact, so the result does not depend on N
// or on how inputs fall to ranks. Inputs must hold disjoint batches: separate SQLite daemons do
// not share a ledger, so one batch retried against two of them is counted in both.
#include <mpi.h>

#include <CLI/CLI.hpp>
#include <climits>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "estimates.h"
#include "residue/core/error.h"
#include "residue/core/hex.h"
#include "tally_inputs.h"
#include "task.h"

namespace residue {
namespace {

struct ReduceOptions {
  std::vector<std::string> inputs;
  std::string task, out, dictionary, postprocess = "none";
  std::size_t top = 0;
};

/// True on every rank when `error` is empty on every rank; ranks with an error print it.
bool all_ok(const std::string& error, int rank) {
  int ok = error.empty() ? 1 : 0, all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!ok) std::cerr << "residue reduce: rank " << rank << ": " << error << "\n";
  return all == 1;
}

std::string broadcast(std::string text) {
  uint64_t size = text.size();
  MPI_Bcast(&size, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  text.resize(size);
  MPI_Bcast(text.data(), static_cast<int>(size), MPI_CHAR, 0, MPI_COMM_WORLD);
  return text;
}

// MPI counts are int: large vectors go in slices.
void reduce_sum(const std::vector<uint64_t>& mine, std::vector<uint64_t>& sum) {
  constexpr std::size_t kSlice = std::size_t{1} << 28;
  for (std::size_t at = 0; at < mine.size(); at += kSlice) {
    const int n = static_cast<int>(std::min(kSlice, mine.size() - at));
    MPI_Reduce(mine.data() + at, sum.empty() ? nullptr : sum.data() + at, n, MPI_UINT64_T, MPI_SUM,
               0, MPI_COMM_WORLD);
  }
}

int run(const ReduceOptions& o, int rank, int ranks) {
  const Postprocess postprocess = parse_postprocess(o.postprocess);  // the same on every rank
  // 1. This rank's inputs, summed.
  std::optional<TaskTally> mine;
  std::string error;
  std::string first_input;
  try {
    for (std::size_t i = static_cast<std::size_t>(rank); i < o.inputs.size();
         i += static_cast<std::size_t>(ranks)) {
      TaskTally t = read_task_tally(o.inputs[i], o.task);
      if (!mine) {
        mine = std::move(t);
        first_input = o.inputs[i];
        continue;
      }
      if (t.record.params_hash != mine->record.params_hash) {
        throw Error(o.inputs[i] + " has parameters " + to_hex(t.record.params_hash) + ", " +
                    first_input + " has " + to_hex(mine->record.params_hash) + ".");
      }
      mine->tally.merge(t.tally);
      mine->record.batches += t.record.batches;
      mine->record.reports += t.record.reports;
      mine->record.last_batch = std::max(mine->record.last_batch, t.record.last_batch);
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!all_ok(error, rank)) return 1;

  // 2. The task's parameters and domain are input 0's (read by rank 0); every rank checks its
  // own against them.
  const std::string params_json = broadcast(rank == 0 ? mine->record.params_json : "");
  const std::string domain_id = broadcast(rank == 0 ? mine->record.domain_id : "");
  std::optional<Task> task;
  std::vector<uint64_t> counts;
  try {
    std::optional<Domain> domain;
    if (!o.dictionary.empty()) domain = load_dictionary(o.dictionary);
    task = task_from_params(o.task, params_from_json(nlohmann::json::parse(params_json)), domain_id,
                            std::move(domain));
    if (mine && mine->record.params_hash != task->hash) {
      throw Error(first_input + " has parameters " + to_hex(mine->record.params_hash) + ", " +
                  o.inputs[0] + " has " + to_hex(task->hash) + ".");
    }
    // The vector reduced: every block's counts, then the reports per block, then the batch and
    // report counters. A rank without inputs contributes zeros.
    Tally sum = task->protocol.new_tally();
    if (mine) sum.merge(mine->tally);
    for (uint32_t j = 0; j < sum.block_count(); ++j) {
      const std::span<const uint64_t> c = sum.counts(j);
      counts.insert(counts.end(), c.begin(), c.end());
    }
    for (uint32_t j = 0; j < sum.block_count(); ++j) counts.push_back(sum.reports(j));
    counts.push_back(mine ? mine->record.batches : 0);
    counts.push_back(mine ? mine->record.reports : 0);
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!all_ok(error, rank)) return 1;

  // 3. The sums, on rank 0.
  std::vector<uint64_t> total(rank == 0 ? counts.size() : 0);
  reduce_sum(counts, total);
  int64_t last = mine ? mine->record.last_batch : 0, last_batch = 0;
  MPI_Reduce(&last, &last_batch, 1, MPI_INT64_T, MPI_MAX, 0, MPI_COMM_WORLD);
  if (rank != 0) return 0;

  // 4. Rank 0 decodes, as `residue decode` does.
  Tally tally = task->protocol.new_tally();
  std::size_t at = 0;
  for (uint32_t j = 0; j < tally.block_count(); ++j) {
    for (uint32_t p = 0; p < tally.universe(j); ++p, ++at) {
      if (total[at] != 0) tally.add_counts(j, p, total[at]);
    }
  }
  for (uint32_t j = 0; j < tally.block_count(); ++j) tally.add_reports(j, total[at++]);
  const TaskRecord record{.name = o.task,
                          .params_json = params_json,
                          .domain_id = domain_id,
                          .params_hash = task->hash,
                          .batches = total[at],
                          .reports = total[at + 1],
                          .last_batch = last_batch};
  const std::size_t top = o.top == 0 ? task->protocol.params().k : o.top;
  const TaskEstimates e = estimate_task(*task, tally, record, top, postprocess);
  const std::string json = to_json(e).dump(2) + "\n";
  if (o.out == "-") {
    std::cout << json;
  } else {
    std::ofstream out(o.out, std::ios::binary | std::ios::trunc);
    out << json;
    if (!out.flush()) {
      std::cerr << "residue reduce: cannot write " << o.out << "\n";
      return 1;
    }
  }
  std::cerr << "residue reduce: " << o.inputs.size() << " inputs on " << ranks << " ranks: task "
            << o.task << ", " << record.reports << " reports in " << record.batches
            << " batches -> " << o.out << "\n";
  return 0;
}

}  // namespace
}  // namespace residue

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);

  residue::ReduceOptions o;
  CLI::App app{
      "residue reduce: sum a task's tallies over many stores with MPI and decode them.\n"
      "  mpirun -np N residue reduce --inputs IN... --task NAME --out FILE\n"
      "Input i goes to rank i mod N. docs/deployment.md, \"Offline reduce\"."};
  app.name("residue reduce");
  app.add_option("--inputs", o.inputs,
                 "Data directories (SQLite), exported tally files, postgres:CONNINFO")
      ->required();
  app.add_option("--task", o.task, "Task name")->required();
  app.add_option("--out", o.out, "Where rank 0 writes the estimates (JSON; - for stdout)")
      ->required();
  app.add_option("--top", o.top, "Values to list (default: all k)");
  app.add_option("--postprocess", o.postprocess, "none | clip | normsub")->capture_default_str();
  app.add_option("--dictionary", o.dictionary, "The task's dictionary file, to show values");
  int code = 0;
  try {
    app.parse(argc, argv);
    code = residue::run(o, rank, ranks);
  } catch (const CLI::ParseError& e) {
    // Every rank parses the same arguments: all stop here, rank 0 says why.
    if (rank == 0)
      code = app.exit(e);
    else
      code = e.get_exit_code();
  } catch (const std::exception& e) {
    // Only after the collective steps (run() checks errors collectively before them).
    std::cerr << "residue reduce: rank " << rank << ": " << e.what() << "\n";
    code = 1;
  }
  MPI_Finalize();
  return code;
}

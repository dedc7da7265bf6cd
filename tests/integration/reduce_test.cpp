// Integration tests of `residue reduce` (issue 8): the tallies of separate stores summed with
// MPI under `mpirun -np 2` and decoded on rank 0 give exactly what decoding one store holding
// the union of their batches gives; mismatched inputs stop every rank with a message.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "batch_factory.h"
#include "daemon_fixture.h"
#include "residue/random/seeded_rng.h"

#ifndef MPIEXEC_PATH
#error "MPIEXEC_PATH must give the path of mpirun"
#endif

namespace residue::integration {
namespace {

/// mpirun -np `ranks` with what it needs on a CI machine: root is allowed (containers run as
/// root, and Open MPI refuses it by default), and more ranks than cores.
std::vector<std::string> mpirun(int ranks, std::vector<std::string> command) {
  std::vector<std::string> argv = {MPIEXEC_PATH,      "-np",       std::to_string(ranks),
                                   "--oversubscribe", "--bind-to", "none"};
  if (::geteuid() == 0) argv.push_back("--allow-run-as-root");
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

/// Stores in `dir`: "a", "b", "c" each with a third of `count` batches, "union" with all of them,
/// every batch with the same arrival time in both of its stores.
void make_stores(const TempDir& dir, const Task& task, std::size_t count) {
  std::vector<std::unique_ptr<Store>> parts;
  for (const char* name : {"a", "b", "c"}) {
    parts.push_back(open_sqlite_store(dir / name));
    register_task(*parts.back(), task);
  }
  const std::unique_ptr<Store> all = open_sqlite_store(dir / "union");
  register_task(*all, task);
  SeededRng rng(85);
  for (std::size_t i = 0; i < count; ++i) {
    const std::vector<PendingBatch> one = {
        make_batch(task, 50 + static_cast<uint32_t>(i), rng, 1'800'000'000 + int64_t(i))};
    REQUIRE(parts[i % 3]->commit(one)[0] == CommitOutcome::kAccepted);
    REQUIRE(all->commit(one)[0] == CommitOutcome::kAccepted);
  }
}

nlohmann::json read_json(const std::filesystem::path& path) {
  return nlohmann::json::parse(read_text(path), nullptr, /*allow_exceptions=*/false);
}

TEST_CASE("mpirun -np 2 residue reduce over stores and a tally file equals decoding their union",
          "[integration][mpi]") {
  TempDir dir;
  const Task task = words_task();
  make_stores(dir, task, 30);

  const CommandResult exported =
      run_command({RESIDUE_CLI_PATH, "export-tally", "--data", (dir / "c").string(), "--task",
                   "words", "--out", (dir / "c.tally").string()},
                  dir.path());
  INFO(exported.err);
  REQUIRE(exported.exit_code == 0);

  const CommandResult decoded =
      run_command({RESIDUE_CLI_PATH, "decode", "--data", (dir / "union").string(), "--task",
                   "words", "--top", "64", "--json"},
                  dir.path());
  INFO(decoded.err);
  REQUIRE(decoded.exit_code == 0);
  const nlohmann::json expected = nlohmann::json::parse(decoded.out);
  REQUIRE(expected.at("batches") == 30);
  REQUIRE(expected.at("top").size() == 64);

  const std::vector<std::string> inputs = {
      "--inputs", (dir / "a").string(), (dir / "b").string(), (dir / "c.tally").string(), "--task",
      "words"};
  std::vector<std::string> two = {RESIDUE_CLI_PATH, "reduce"};
  two.insert(two.end(), inputs.begin(), inputs.end());
  two.insert(two.end(), {"--out", (dir / "two.json").string()});
  const CommandResult reduced = run_command(mpirun(2, two), dir.path(), 60s);
  INFO(reduced.out << reduced.err);
  REQUIRE(reduced.exit_code == 0);
  CHECK(reduced.err.find("3 inputs on 2 ranks") != std::string::npos);
  // Every field: counts, batches, last batch, every value's estimate and standard error.
  CHECK(read_json(dir / "two.json") == expected);

  // One process (no mpirun: an MPI singleton) gives the same.
  std::vector<std::string> one = {RESIDUE_CLI_PATH, "reduce"};
  one.insert(one.end(), inputs.begin(), inputs.end());
  one.insert(one.end(), {"--out", (dir / "one.json").string()});
  const CommandResult single = run_command(one, dir.path(), 60s);
  INFO(single.out << single.err);
  REQUIRE(single.exit_code == 0);
  CHECK(single.err.find("3 inputs on 1 ranks") != std::string::npos);
  CHECK(read_json(dir / "one.json") == expected);
}

TEST_CASE("residue reduce stops every rank on an input of other parameters and names it",
          "[integration][mpi]") {
  TempDir dir;
  const Task task = words_task();
  make_stores(dir, task, 6);
  {
    const std::unique_ptr<Store> other = open_sqlite_store(dir / "other");
    const Task other_task = words_task(1.0);  // another epsilon: other parameters
    register_task(*other, other_task);
    SeededRng rng(86);
    other->commit(std::vector<PendingBatch>{make_batch(other_task, 10, rng)});
  }
  // Input 1, on rank 1, disagrees with input 0: rank 1 fails, rank 0 must not wait forever.
  const CommandResult mismatch = run_command(
      mpirun(2, {RESIDUE_CLI_PATH, "reduce", "--inputs", (dir / "a").string(),
                 (dir / "other").string(), "--task", "words", "--out", (dir / "x.json").string()}),
      dir.path(), 60s);
  INFO(mismatch.out << mismatch.err);
  CHECK(mismatch.exit_code != 0);
  CHECK(mismatch.exit_code < 128);  // an error exit, not a hang killed by the timeout
  CHECK(mismatch.err.find((dir / "other").string()) != std::string::npos);
  CHECK(mismatch.err.find("parameters") != std::string::npos);
  CHECK(!std::filesystem::exists(dir / "x.json"));

  const CommandResult missing =
      run_command(mpirun(2, {RESIDUE_CLI_PATH, "reduce", "--inputs", (dir / "a").string(),
                             (dir / "nowhere").string(), "--task", "words", "--out",
                             (dir / "y.json").string()}),
                  dir.path(), 60s);
  INFO(missing.out << missing.err);
  CHECK(missing.exit_code != 0);
  CHECK(missing.exit_code < 128);
  CHECK(missing.err.find((dir / "nowhere").string()) != std::string::npos);
}

}  // namespace
}  // namespace residue::integration

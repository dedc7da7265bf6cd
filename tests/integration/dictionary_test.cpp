// A task's dictionary is part of its identity (issue 12.1): the parameter hash the daemon
// publishes covers the dictionary in order, the store records it, and residued refuses to start
// when the dictionary changed under stored data. Before, a reordered dictionary started normally
// with the same hash and relabelled every stored count.
#include <catch2/catch.hpp>
#include <fstream>

#include "daemon_fixture.h"
#include "residue/core/domain.h"
#include "residue/random/seeded_rng.h"

namespace residue::integration {
namespace {

void write_dictionary(const std::filesystem::path& path, const std::vector<std::string>& values) {
  std::ofstream out(path, std::ios::trunc);
  for (const std::string& v : values) out << v << "\n";
}

TEST_CASE("residued refuses to start when a task's dictionary changed under its data",
          "[integration]") {
  TempDir dir;
  const std::vector<std::string> words = {"the", "of", "and", "to", "a", "in", "is", "you"};
  const std::filesystem::path file = dir / "words.txt";
  write_dictionary(file, words);
  DaemonSpec spec;
  spec.tasks = {TaskSpec{.name = "words", .protocol = "grr", .dictionary = file}};
  DaemonProcess daemon(dir, spec);
  daemon.start();
  auto http = daemon.client();
  const TaskClient task(*http, "words");
  // The published hash is the task hash over the dictionary, not the parameters' alone.
  CHECK(task.hash() == task_hash(task.protocol().params(), Domain::dictionary(words).id()));
  CHECK(task.hash() != params_hash(task.protocol().params()));
  SeededRng rng(12);  // tests only: not private
  REQUIRE(post_batch(*http, "words", task.batch(40, rng))->status == 200);
  // A batch encoded under the parameters' hash alone (what a device that ignored the
  // dictionary would send) is for another task: 409, nothing counted.
  std::vector<Report> reports(5);
  for (Report& r : reports) task.protocol().encoder().encode(1, rng, r);
  const ReportCodec codec(task.protocol().shape());
  CHECK(post_batch(*http, "words",
                   encode_batch(codec, random_batch_id(rng), params_hash(task.protocol().params()),
                                reports))
            ->status == 409);
  REQUIRE(daemon.stop() == 0);

  std::vector<std::string> reordered = words;
  std::swap(reordered[0], reordered[1]);
  write_dictionary(file, reordered);
  REQUIRE_FALSE(daemon.try_start());
  CHECK(daemon.exit_code() == 1);
  CHECK_THAT(daemon.stderr_text(), Catch::Contains("dictionary of task \"words\" changed") &&
                                       Catch::Contains(Domain::dictionary(words).id()) &&
                                       Catch::Contains(Domain::dictionary(reordered).id()));

  // Back to the dictionary the data was counted under: it starts, and nothing was lost.
  write_dictionary(file, words);
  daemon.start();
  require_counted(daemon, "words", 1, 40);
  REQUIRE(daemon.stop() == 0);
}

}  // namespace
}  // namespace residue::integration

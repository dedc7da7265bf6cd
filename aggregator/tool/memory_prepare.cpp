// `residue memory prepare`: the public pieces of a memory task (vocabulary, word vectors, key
// encoder, codebook, trained on the general corpus exactly as `memory build` trains them) as
// the task artifact a device downloads (residue/retrieval/task_artifact.h).
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "experiments/brown.h"
#include "output.h"
#include "public_model_flags.h"
#include "residue/core/error.h"
#include "residue/core/stopwatch.h"
#include "residue/memory/memory_setup.h"
#include "residue/retrieval/task_artifact.h"
#include "residue/search/threads.h"

namespace residue {
namespace {

// Names and defaults as `memory build`'s, so one set of flags makes matching pieces.
struct PrepareOptions : PublicModelFlags {
  int threads = 0;
  std::string out;
  bool json = false;
};

void prepare(const PrepareOptions& o) {
  o.check();
  const Clock::time_point start = Clock::now();
  set_search_threads(o.threads);
  const Corpus corpus = load_brown(o.data_dir);
  PublicModel pub = [&] {
    ProgressBar bar("memory prepare: public vocabulary, embeddings, codebook");
    bar.update(0, 1);
    return build_public_model(corpus,
                              {.vocab_words = o.vocab, .cells = o.cells, .dimension = o.dimension});
  }();
  const MemoryArtifact artifact(std::move(pub.vocab), std::move(pub.encoder),
                                std::move(pub.codebook));
  artifact.write(o.out);
  const double seconds = seconds_since(start);
  if (o.json) {
    std::cout << nlohmann::json{{"out", o.out},           {"cells", artifact.codebook().cells()},
                                {"vocab_words", o.vocab}, {"dimension", o.dimension},
                                {"k", artifact.domain()}, {"seconds", seconds}}
                     .dump(2)
              << "\n";
    return;
  }
  std::cout << "memory artifact " << o.out << ": C=" << artifact.codebook().cells()
            << " V=" << o.vocab << " d=" << o.dimension << ", built in "
            << format_number(seconds, 3) << " s\n(the memory task: mss with k = cells x (vocab "
            << "+ 1) = " << artifact.domain() << ")\n";
}

}  // namespace

void add_memory_prepare_command(CLI::App& memory) {
  auto p = std::make_shared<PrepareOptions>();
  CLI::App* cmd = memory.add_subcommand(
      "prepare", "Write the task artifact a device needs: vocabulary, key encoder, codebook");
  p->add_to(*cmd);
  cmd->add_option("--threads", p->threads, "FAISS threads (0: all cores)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--out", p->out, "The artifact file to write")->required();
  cmd->add_flag("--json", p->json, "One JSON object on stdout");
  cmd->callback([p] { prepare(*p); });
}

}  // namespace residue

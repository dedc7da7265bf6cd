#include "task_build.h"

#include <span>
#include <string>

#include "residue/core/error.h"
#include "residue/core/sha256.h"
#include "residue/retrieval/task_artifact.h"
#include "residue/vocab/vocab_setup.h"

namespace residue {
namespace {

Corpus load_corpus(const Task& task, const BuildConfig& config) {
  try {
    return Corpus::load(config.corpus, config.corpus_domain);
  } catch (const Error& e) {
    throw Error("task " + task.name + ": corpus: " + e.what());
  }
}

// The pieces trained here must be the ones devices downloaded (`expected`: their SHA-256).
void check_artifact(const Task& task, const BuildConfig& config, std::span<const uint8_t> trained,
                    const std::string& expected, const char* kind) {
  const std::string sha = sha256_hex(trained);
  if (sha != expected) {
    throw Error("task " + task.name + ": the artifact (SHA-256 " + expected +
                ") is not what `residue " + kind + " prepare` makes from the corpus " +
                config.corpus.string() + " with its sizes (SHA-256 " + sha +
                "): builds would read the reports with other public pieces than the devices "
                "used. Prepare the artifact from this corpus, or name the corpus it came from.");
  }
}

}  // namespace

std::shared_ptr<const MemoryPublic> memory_public(const Task& task, const BuildConfig& config) {
  const MemoryArtifact& artifact = *task.artifact->memory;
  MemoryBuildOptions options;
  options.data_dir = config.corpus.string();
  options.split_seed = config.split_seed;
  options.threads = config.threads;
  options.public_options.vocab_words = artifact.vocab().size() - 1;  // and the unknown token
  options.public_options.cells = artifact.codebook().cells();
  options.public_options.dimension = artifact.encoder().dimension();
  options.public_options.key = artifact.encoder().options();
  Corpus corpus = load_corpus(task, config);
  PublicModel model = build_public_model(corpus, options.public_options);
  // A stage-two artifact adds the shortlist to the pieces, which are trained like any other.
  const std::string expected = artifact.shortlist().empty()
                                   ? task.artifact->sha256
                                   : sha256_hex(artifact.without_shortlist().serialize());
  check_artifact(task, config,
                 MemoryArtifact(model.vocab, model.encoder, model.codebook).serialize(), expected,
                 "memory");
  return std::make_shared<const MemoryPublic>(
      MemoryPublic{std::move(corpus), std::move(model), std::move(options)});
}

Memory build_memory(const Task& task, const MemoryPublic& pub, const Tally& tally,
                    const BuildProgress& progress) {
  return memory_from_tally(pub.corpus, pub.model, pub.options, task.protocol, tally, task.name,
                           progress);
}

Memory build_two_stage_memory(const Task& two, const Tally& two_tally, const Task& one,
                              const Tally& one_tally, const MemoryPublic& pub,
                              const BuildProgress& progress) {
  return memory_from_two_stage_tallies(
      pub.corpus, pub.model, pub.options, two.artifact->memory->shortlist(),
      {one.name, one.protocol, one_tally}, {two.name, two.protocol, two_tally}, progress);
}

std::shared_ptr<const VocabPublic> vocab_public(const Task& task, const BuildConfig& config) {
  const VocabArtifact& artifact = *task.artifact->vocab;
  VocabParams params;
  params.corpus = config.corpus.string();
  params.vocab_words = artifact.vocab().size() - 1;  // and the unknown token
  params.candidates.max_units = artifact.candidates().size();
  params.split_seed = config.split_seed;
  params.embedding.public_units = config.public_units;
  params.embedding.embedding.dimension = config.dimension;
  params.admission.max_units = config.max_units;
  params.admission.z = config.z;
  VocabFile f = new_vocab_file(load_corpus(task, config), params);
  check_artifact(task, config, VocabArtifact(f.vocab, f.candidates).serialize(),
                 task.artifact->sha256, "vocab");
  return std::make_shared<const VocabPublic>(VocabPublic{f.serialize()});
}

VocabFile build_vocab(const Task& task, const VocabPublic& pub, const Tally& tally,
                      const BuildProgress& progress) {
  ParseResult<VocabFile> parsed = VocabFile::parse(pub.empty_file);
  if (!parsed.ok()) throw Error("task " + task.name + ": " + parsed.error().message);
  VocabFile f = std::move(parsed).value();
  const ProtocolParams& p = task.protocol.params();
  add_tally_round(f, task.protocol, tally,
                  {.kind = "store",
                   .description = "task=" + task.name,
                   .epsilon = p.epsilon,
                   .reports = tally.total_reports()},
                  [&](std::size_t done, std::size_t total) {
                    if (progress)
                      progress("admitting units", static_cast<int>(done), static_cast<int>(total));
                  });
  return f;
}

}  // namespace residue

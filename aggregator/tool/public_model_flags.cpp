#include "public_model_flags.h"

#include "residue/core/error.h"

namespace residue {

void PublicModelFlags::add_to(CLI::App& cmd) {
  cmd.add_option("--cells", cells, "Codebook cells C")->capture_default_str();
  cmd.add_option("--vocab", vocab, "Vocabulary words V (plus the unknown token)")
      ->capture_default_str();
  cmd.add_option("--dimension", dimension, "Key dimension d")->capture_default_str();
  cmd.add_option("--data-dir", data_dir, "The Brown corpus (sentences.tsv)")->capture_default_str();
}

void PublicModelFlags::check() const {
  if (cells == 0) throw Error("--cells must be at least 1.");
  if (vocab == 0) throw Error("--vocab must be at least 1.");
  if (dimension == 0) throw Error("--dimension must be at least 1.");
}

}  // namespace residue

// The Brown corpus as the experiments and the CLI use it: data/brown/sentences.tsv (written by
// scripts/fetch-data), whose category "learned" (scientific and academic prose, 80 documents)
// is the private domain and whose 14 other categories are the public general corpus.
//
//   Corpus brown = load_brown();                 // or load_brown(options.data_dir)
#pragma once

#include <filesystem>
#include <string_view>

#include "residue/retrieval/corpus.h"

namespace residue {

inline constexpr std::string_view kBrownDir = "data/brown";
inline constexpr std::string_view kBrownDomainCategory = "learned";

/// Corpus::load(dir, kBrownDomainCategory). A missing file is the usual first-run error, so it
/// says how to fetch the corpus; other errors are Corpus::load's.
Corpus load_brown(const std::filesystem::path& dir = kBrownDir);

}  // namespace residue

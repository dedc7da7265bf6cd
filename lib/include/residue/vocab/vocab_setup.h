// A dynamic vocabulary's life outside the simulations: its public pieces trained from the
// general corpus, a round decided from a task's tally, and a search by text. `residue vocab
// build | search` and residued's vocab tasks (GET /v1/tasks/{task}/vocab/search) call these same
// functions, so the two give the same units and the same answers.
//
//   VocabFile f = new_vocab_file(corpus, params);            // no units admitted yet
//   add_tally_round(f, task.protocol, tally, {.kind = "store", ...});
//   UnitSearch s = search_units(f, "new york", 10);
//   nlohmann::json body = to_json(s, f);
//
// new_vocab_file and add_tally_round run FAISS (set_search_threads() first).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "residue/protocols/protocol.h"
#include "residue/protocols/tally.h"
#include "residue/retrieval/corpus.h"
#include "residue/vocab/dynamic_vocab.h"
#include "residue/vocab/vocab_builder.h"
#include "residue/vocab/vocab_file.h"

namespace residue {

/// The vocabulary (params.vocab_words most frequent general words), the candidate units and the
/// unit embedder, trained on corpus.general(); nothing admitted, an empty index. Deterministic
/// in `params`. `phase` names each step as it starts.
VocabFile new_vocab_file(const Corpus& corpus, const VocabParams& params,
                         const EmbedderProgress& phase = {});

/// One round of admission on `protocol`'s estimate of `tally` (params.admission), then the index
/// synced with the admitted units. Throws Error as VocabBuilder::add_round does.
const RoundLog& add_tally_round(VocabFile& f, const Protocol& protocol, const Tally& tally,
                                RoundSource source, const AdmissionProgress& progress = {});

struct UnitSearch {
  std::string text;
  std::string query;  ///< how the query vector was made ("admitted unit 12", "word vector", ...)
  std::vector<VocabHit> hits;  ///< decreasing cosine
};

/// The `top` admitted units nearest `text` (text_tokens() of it; every word must be in the
/// vocabulary): an admitted unit is searched with its stored vector, anything else is embedded
/// from its words. Throws Error on an empty text or an unknown word, naming it.
UnitSearch search_units(const VocabFile& f, std::string_view text, std::size_t top);

/// {"text", "query", "hits": [{"id", "text", "score"}]}.
nlohmann::json to_json(const UnitSearch& search, const VocabFile& f);

}  // namespace residue

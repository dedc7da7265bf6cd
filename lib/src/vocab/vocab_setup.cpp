#include "residue/vocab/vocab_setup.h"

#include <optional>

#include "residue/core/error.h"

namespace residue {

VocabFile new_vocab_file(const Corpus& corpus, const VocabParams& params,
                         const EmbedderProgress& phase) {
  if (phase) phase("counting candidate units");
  Vocabulary vocab = Vocabulary::most_frequent(tokens_of(corpus.general()), params.vocab_words);
  const std::vector<std::vector<uint32_t>> general = sentence_ids(corpus.general(), vocab);
  CandidateUnits candidates = CandidateUnits::extract(general, vocab, params.candidates);
  UnitEmbedder embedder =
      UnitEmbedder::train(general, vocab.size(), candidates, params.embedding, phase);
  return VocabFile{.params = params,
                   .vocab = std::move(vocab),
                   .candidates = std::move(candidates),
                   .embedder = std::move(embedder),
                   .builder = {},
                   .index = VocabFile::new_index(params.embedding.embedding.dimension)};
}

const RoundLog& add_tally_round(VocabFile& f, const Protocol& protocol, const Tally& tally,
                                RoundSource source, const AdmissionProgress& progress) {
  const RoundLog& round =
      f.builder.add_round(protocol, tally, f.params.admission, std::move(source), progress);
  f.sync_index();
  return round;
}

UnitSearch search_units(const VocabFile& f, std::string_view text, std::size_t top) {
  const std::vector<std::string> words = text_tokens(text);
  if (words.empty()) throw Error("text: give at least one word.");
  std::vector<uint32_t> ids;
  for (const std::string& w : words) {
    const uint32_t id = f.vocab.id(w);
    if (id == f.vocab.unknown()) {
      throw Error("text: \"" + w + "\" is not one of the vocabulary's " +
                  std::to_string(f.vocab.unknown()) + " words; it has no vector.");
    }
    ids.push_back(id);
  }
  UnitSearch out{.text = std::string(text)};
  std::vector<float> query;
  const std::optional<uint32_t> unit = f.candidates.find(ids);
  if (unit && f.index.contains(*unit)) {
    query = f.index.reconstruct(*unit);
    out.query = "admitted unit " + std::to_string(*unit);
  } else {
    query = f.embedder.embed(ids);
    bool mapped = false;
    for (const UnitMap& m : f.embedder.maps()) {
      mapped = mapped || (m.length == ids.size() && m.weights.size() != 0);
    }
    out.query = ids.size() == 1 ? "word vector"
                                : (mapped ? "linear map of its words" : "mean of its words");
    if (unit) out.query += " (candidate " + std::to_string(*unit) + ", not admitted)";
  }
  out.hits = f.index.search(query, top);
  return out;
}

nlohmann::json to_json(const UnitSearch& search, const VocabFile& f) {
  nlohmann::json rows = nlohmann::json::array();
  for (const VocabHit& h : search.hits) {
    rows.push_back({{"id", h.id},
                    {"text", f.candidates.text(static_cast<uint32_t>(h.id), f.vocab)},
                    {"score", h.score}});
  }
  return {{"text", search.text}, {"query", search.query}, {"hits", rows}};
}

}  // namespace residue

#include "residue/vocab/vocab_file.h"

#include <openssl/sha.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string_view>

namespace residue {
namespace {

constexpr std::string_view kMagic = "RSDVUNIT";
constexpr std::size_t kChecksumBytes = 16;
// Limits what a corrupt length can make the reader allocate (values per matrix).
constexpr uint64_t kMaxMatrixValues = uint64_t{1} << 28;

// --- writing ---------------------------------------------------------------------------------

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put_u64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put_f32(std::vector<uint8_t>& out, float v) {
  put_u32(out, std::bit_cast<uint32_t>(v));
}
void put_f64(std::vector<uint8_t>& out, double v) {
  put_u64(out, std::bit_cast<uint64_t>(v));
}

nlohmann::json params_json(const VocabParams& p) {
  const UnitEmbeddingOptions& e = p.embedding;
  return {{"corpus", p.corpus},
          {"vocab_words", p.vocab_words},
          {"candidates",
           {{"max_units", p.candidates.max_units},
            {"min_length", p.candidates.min_length},
            {"max_length", p.candidates.max_length},
            {"words_only", p.candidates.words_only}}},
          {"split_seed", p.split_seed},
          {"embedding",
           {{"public_units", e.public_units},
            {"min_occurrences", e.min_occurrences},
            {"held_out", e.held_out},
            {"ridges", e.ridges},
            {"seed", e.seed},
            {"dimension", e.embedding.dimension},
            {"window", e.embedding.window},
            {"context_smoothing", e.embedding.context_smoothing},
            {"singular_value_power", e.embedding.singular_value_power},
            {"oversampling", e.embedding.oversampling},
            {"power_iterations", e.embedding.power_iterations},
            {"svd_seed", e.embedding.seed}}},
          {"admission",
           {{"z", p.admission.z},
            {"alpha", p.admission.alpha},
            {"max_units", p.admission.max_units},
            {"stop_after", p.admission.stop_after}}}};
}

VocabParams params_from(const nlohmann::json& j) {
  VocabParams p;
  p.corpus = j.at("corpus").get<std::string>();
  p.vocab_words = j.at("vocab_words").get<uint32_t>();
  const nlohmann::json& c = j.at("candidates");
  p.candidates = {.max_units = c.at("max_units").get<std::size_t>(),
                  .min_length = c.at("min_length").get<std::size_t>(),
                  .max_length = c.at("max_length").get<std::size_t>(),
                  .words_only = c.at("words_only").get<bool>()};
  p.split_seed = j.at("split_seed").get<uint64_t>();
  const nlohmann::json& e = j.at("embedding");
  p.embedding.public_units = e.at("public_units").get<std::size_t>();
  p.embedding.min_occurrences = e.at("min_occurrences").get<uint64_t>();
  p.embedding.held_out = e.at("held_out").get<double>();
  p.embedding.ridges = e.at("ridges").get<std::vector<double>>();
  p.embedding.seed = e.at("seed").get<uint64_t>();
  p.embedding.embedding.dimension = e.at("dimension").get<uint32_t>();
  p.embedding.embedding.window = e.at("window").get<uint32_t>();
  p.embedding.embedding.context_smoothing = e.at("context_smoothing").get<double>();
  p.embedding.embedding.singular_value_power = e.at("singular_value_power").get<double>();
  p.embedding.embedding.oversampling = e.at("oversampling").get<uint32_t>();
  p.embedding.embedding.power_iterations = e.at("power_iterations").get<uint32_t>();
  p.embedding.embedding.seed = e.at("svd_seed").get<uint64_t>();
  const nlohmann::json& a = j.at("admission");
  p.admission = {.z = a.at("z").get<double>(),
                 .alpha = a.at("alpha").get<double>(),
                 .max_units = a.at("max_units").get<std::size_t>(),
                 .stop_after = a.at("stop_after").get<std::size_t>()};
  return p;
}

nlohmann::json fit_json(const MapFit& f) {
  return {{"length", f.length},
          {"units", f.units},
          {"held_out", f.held_out},
          {"ridge", f.ridge},
          {"heldout_cosine_map", f.heldout_cosine_map},
          {"heldout_cosine_mean", f.heldout_cosine_mean},
          {"train_cosine_map", f.train_cosine_map},
          {"linear", f.linear}};
}

MapFit fit_from(const nlohmann::json& j) {
  return {.length = j.at("length").get<uint32_t>(),
          .units = j.at("units").get<std::size_t>(),
          .held_out = j.at("held_out").get<std::size_t>(),
          .ridge = j.at("ridge").get<double>(),
          .heldout_cosine_map = j.at("heldout_cosine_map").get<double>(),
          .heldout_cosine_mean = j.at("heldout_cosine_mean").get<double>(),
          .train_cosine_map = j.at("train_cosine_map").get<double>(),
          .linear = j.at("linear").get<bool>()};
}

RoundLog round_from(const nlohmann::json& j) {
  return {.round = j.at("round").get<uint32_t>(),
          .source = {.kind = j.at("kind").get<std::string>(),
                     .description = j.at("description").get<std::string>(),
                     .epsilon = j.at("epsilon").get<double>(),
                     .reports = j.at("reports").get<uint64_t>()},
          .z = j.at("z").get<double>(),
          .max_units = j.at("max_units").get<std::size_t>(),
          .tested = j.at("tested").get<std::size_t>(),
          .added = j.at("added").get<std::vector<uint32_t>>(),
          .removed = j.at("removed").get<std::vector<uint32_t>>(),
          .admitted = j.at("admitted").get<std::size_t>()};
}

// --- reading ---------------------------------------------------------------------------------

// Thrown inside parse() only; parse() turns it into a ParseError.
struct Malformed {
  std::size_t offset;
  std::string message;
};

// Bounds-checked little-endian reads of bytes [0, end).
class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, std::size_t end) : bytes_(bytes.first(end)) {}
  std::size_t pos() const { return pos_; }
  std::size_t left() const { return bytes_.size() - pos_; }
  std::span<const uint8_t> rest() const { return bytes_.subspan(pos_); }

  void need(uint64_t n, std::string_view what) const {
    if (left() < n) {
      throw Malformed{pos_, "the file ends inside " + std::string(what) + " (truncated?)"};
    }
  }
  std::span<const uint8_t> take(uint64_t n, std::string_view what) {
    need(n, what);
    const std::span<const uint8_t> s = bytes_.subspan(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  uint64_t uint(int size, std::string_view what) {
    const std::span<const uint8_t> s = take(static_cast<uint64_t>(size), what);
    uint64_t v = 0;
    for (int i = 0; i < size; ++i) v |= uint64_t{s[static_cast<std::size_t>(i)]} << (8 * i);
    return v;
  }
  uint32_t u32(std::string_view what) { return static_cast<uint32_t>(uint(4, what)); }
  uint64_t u64(std::string_view what) { return uint(8, what); }
  double f64(std::string_view what) { return std::bit_cast<double>(u64(what)); }
  float f32(std::string_view what) { return std::bit_cast<float>(u32(what)); }
  /// A count of items of at least `item_bytes` each: refused when the rest cannot hold them.
  uint64_t count(int size, uint64_t item_bytes, std::string_view what) {
    const std::size_t at = pos_;
    const uint64_t n = uint(size, what);
    if (item_bytes > 0 && n > left() / item_bytes) {
      throw Malformed{at, std::string(what) + " " + std::to_string(n) +
                              " exceeds the rest of the file (truncated or corrupt?)"};
    }
    return n;
  }

 private:
  std::span<const uint8_t> bytes_;
  std::size_t pos_ = 0;
};

// Runs `f`, reporting a residue::Error as malformed content at `offset`.
template <typename F>
auto at_offset(std::size_t offset, std::string_view what, F f) {
  try {
    return f();
  } catch (const Error& e) {
    throw Malformed{offset, std::string(what) + ": " + e.what()};
  }
}

std::vector<float> floats(Reader& r, uint64_t n, std::string_view what) {
  r.need(n * 4, what);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = r.f32(what);
  return v;
}

VocabFile parse_or_throw(std::span<const uint8_t> bytes) {
  if (bytes.size() < kMagic.size() + 4 ||
      !std::equal(kMagic.begin(), kMagic.end(), bytes.begin())) {
    throw Malformed{0, "not a vocabulary file (no \"RSDVUNIT\" magic)"};
  }
  if (bytes.size() < kMagic.size() + 4 + kChecksumBytes) {
    throw Malformed{bytes.size(), "the file ends inside the header (truncated?)"};
  }
  Reader r(bytes, bytes.size() - kChecksumBytes);
  r.take(kMagic.size(), "the magic");
  const uint32_t version = r.u32("the version");
  if (version != kVocabFileVersion) {
    throw Malformed{kMagic.size(), "version " + std::to_string(version) +
                                       " is not supported (this program reads version " +
                                       std::to_string(kVocabFileVersion) + ")"};
  }

  // JSON: parameters, vocabulary words, fit report, round log.
  const uint64_t json_bytes = r.count(8, 1, "the JSON length");
  const std::size_t json_at = r.pos();
  const std::span<const uint8_t> json_text = r.take(json_bytes, "the JSON section");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text.begin(), json_text.end());
  } catch (const nlohmann::json::parse_error& e) {
    throw Malformed{json_at + (e.byte > 0 ? e.byte - 1 : 0),
                    std::string("the JSON section does not parse: ") + e.what()};
  }
  VocabParams params;
  std::vector<std::string> words;
  std::vector<MapFit> fits;
  std::vector<RoundLog> rounds;
  try {
    params = params_from(j.at("params"));
    words = j.at("words").get<std::vector<std::string>>();
    for (const nlohmann::json& f : j.at("fits")) fits.push_back(fit_from(f));
    for (const nlohmann::json& x : j.at("rounds")) rounds.push_back(round_from(x));
  } catch (const nlohmann::json::exception& e) {
    throw Malformed{json_at,
                    std::string("the JSON section lacks a field or has a wrong type: ") + e.what()};
  }
  Vocabulary vocab =
      at_offset(json_at, "the vocabulary words", [&] { return Vocabulary(std::move(words)); });

  // Candidates (CandidateUnits::serialize()).
  const std::size_t candidates_at = r.pos();
  std::size_t candidates_bytes = 0;
  ParseResult<CandidateUnits> parsed_candidates =
      CandidateUnits::parse(r.rest(), vocab.unknown(), &candidates_bytes);
  if (!parsed_candidates.ok()) {
    throw Malformed{candidates_at + parsed_candidates.error().offset,
                    "the candidate units: " + parsed_candidates.error().message};
  }
  r.take(candidates_bytes, "the candidates");
  CandidateUnits candidates = std::move(parsed_candidates).value();

  // Word vectors and maps.
  const std::size_t vectors_at = r.pos();
  const uint32_t rows = r.u32("the word-vector rows");
  const uint32_t dimension = r.u32("the word-vector dimension");
  if (rows != vocab.size() || dimension == 0) {
    throw Malformed{vectors_at, "the word vectors are " + std::to_string(rows) + " x " +
                                    std::to_string(dimension) + "; expected one row for each of " +
                                    std::to_string(vocab.size()) + " words and <unk>"};
  }
  if (uint64_t{rows} * dimension > kMaxMatrixValues) {
    throw Malformed{vectors_at, "the word vectors are too large"};
  }
  std::vector<float> word_vectors = floats(r, uint64_t{rows} * dimension, "the word vectors");
  const uint64_t nmaps = r.count(4, 12, "the map count");
  std::vector<UnitMap> maps;
  for (uint64_t m = 0; m < nmaps; ++m) {
    const std::size_t at = r.pos();
    const uint32_t length = r.u32("a map's length");
    const uint32_t mrows = r.u32("a map's rows");
    const uint32_t mcols = r.u32("a map's columns");
    if (uint64_t{mrows} * mcols > kMaxMatrixValues) throw Malformed{at, "a map is too large"};
    const std::vector<float> w = floats(r, uint64_t{mrows} * mcols, "a map's weights");
    UnitMap map{.length = length, .weights = Eigen::MatrixXf(mrows, mcols)};
    for (uint32_t i = 0; i < mrows; ++i) {
      for (uint32_t k = 0; k < mcols; ++k) map.weights(i, k) = w[std::size_t{i} * mcols + k];
    }
    maps.push_back(std::move(map));
  }
  UnitEmbedder embedder = at_offset(vectors_at, "the unit embedder", [&] {
    return UnitEmbedder(dimension, std::move(word_vectors), std::move(maps), std::move(fits));
  });

  // Admitted units.
  const std::size_t admitted_at = r.pos();
  const uint64_t nadmitted = r.count(8, 4 + 8 + 8, "the admitted count");
  std::vector<UnitEstimate> admitted;
  for (uint64_t i = 0; i < nadmitted; ++i) {
    const std::size_t at = r.pos();
    UnitEstimate e;
    e.unit = r.u32("an admitted unit");
    e.frequency = r.f64("an admitted unit's frequency");
    e.standard_error = r.f64("an admitted unit's standard error");
    if (e.unit >= candidates.size()) {
      throw Malformed{at, "admitted unit " + std::to_string(e.unit) + " is not one of the " +
                              std::to_string(candidates.size()) + " candidates"};
    }
    admitted.push_back(e);
  }
  VocabBuilder builder = at_offset(admitted_at, "the admitted units and rounds", [&] {
    return VocabBuilder(std::move(admitted), std::move(rounds));
  });

  // The index.
  const std::size_t index_length_at = r.pos();
  const uint64_t index_bytes = r.count(8, 1, "the index length");
  const std::size_t index_at = r.pos();
  ParseResult<DynamicVocab> index = DynamicVocab::parse(r.take(index_bytes, "the index"));
  if (!index.ok()) {
    throw Malformed{index_at + index.error().offset, "the index: " + index.error().message};
  }
  if (index.value().dim() != static_cast<int>(dimension)) {
    throw Malformed{index_length_at, "the index holds " + std::to_string(index.value().dim()) +
                                         "-float vectors, the embedder makes " +
                                         std::to_string(dimension)};
  }
  if (r.left() != 0) {
    throw Malformed{r.pos(), std::to_string(r.left()) + " unexpected bytes after the index"};
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(bytes.data(), bytes.size() - kChecksumBytes, digest);
  if (!std::equal(digest, digest + kChecksumBytes, bytes.end() - kChecksumBytes)) {
    throw Malformed{bytes.size() - kChecksumBytes,
                    "checksum mismatch: the file is corrupt (SHA-256 of its contents differs)"};
  }
  VocabFile f{.params = std::move(params),
              .vocab = std::move(vocab),
              .candidates = std::move(candidates),
              .embedder = std::move(embedder),
              .builder = std::move(builder),
              .index = std::move(index).value()};
  // Every admitted unit must have its embedding, and nothing else may be in the index.
  std::vector<int64_t> expected;
  for (const UnitEstimate& e : f.builder.admitted()) expected.push_back(e.unit);
  std::sort(expected.begin(), expected.end());
  if (f.index.ids() != expected) {
    throw Malformed{index_at, "the index holds " + std::to_string(f.index.size()) +
                                  " units but the file admits " + std::to_string(expected.size()) +
                                  " others"};
  }
  return f;
}

}  // namespace

nlohmann::json to_json(const RoundLog& r) {
  return {{"round", r.round},
          {"kind", r.source.kind},
          {"description", r.source.description},
          {"epsilon", r.source.epsilon},
          {"reports", r.source.reports},
          {"z", r.z},
          {"max_units", r.max_units},
          {"tested", r.tested},
          {"added", r.added},
          {"removed", r.removed},
          {"admitted", r.admitted}};
}

DynamicVocab VocabFile::new_index(uint32_t dimension) {
  return DynamicVocab({.dim = static_cast<int>(dimension), .metric = VocabMetric::kInnerProduct});
}

void VocabFile::sync_index() {
  std::vector<int64_t> keep;
  for (const UnitEstimate& e : builder.admitted()) keep.push_back(e.unit);
  std::sort(keep.begin(), keep.end());
  std::vector<int64_t> drop;
  for (int64_t id : index.ids()) {
    if (!std::binary_search(keep.begin(), keep.end(), id)) drop.push_back(id);
  }
  index.remove(drop);
  std::vector<int64_t> ids;
  std::vector<float> vectors;
  for (int64_t id : keep) {
    if (index.contains(id)) continue;
    const std::vector<float> v = embedder.embed(candidates.words(static_cast<uint32_t>(id)));
    ids.push_back(id);
    vectors.insert(vectors.end(), v.begin(), v.end());
  }
  if (!ids.empty()) index.add(ids, vectors);
}

Tokenizer VocabFile::tokenizer() const {
  return candidates.tokenizer(unit_ids(builder.admitted()));
}

std::vector<uint8_t> VocabFile::serialize() const {
  std::vector<uint8_t> out(kMagic.begin(), kMagic.end());
  put_u32(out, kVocabFileVersion);
  nlohmann::json j = {{"params", params_json(params)},
                      {"words", vocab.words()},
                      {"fits", nlohmann::json::array()},
                      {"rounds", nlohmann::json::array()}};
  for (const MapFit& f : embedder.fits()) j["fits"].push_back(fit_json(f));
  for (const RoundLog& r : builder.log()) j["rounds"].push_back(to_json(r));
  const std::string text = j.dump();
  put_u64(out, text.size());
  out.insert(out.end(), text.begin(), text.end());

  const std::vector<uint8_t> units = candidates.serialize();
  out.insert(out.end(), units.begin(), units.end());
  put_u32(out, embedder.words());
  put_u32(out, embedder.dimension());
  for (float v : embedder.word_vectors()) put_f32(out, v);
  put_u32(out, static_cast<uint32_t>(embedder.maps().size()));
  for (const UnitMap& m : embedder.maps()) {
    put_u32(out, m.length);
    put_u32(out, static_cast<uint32_t>(m.weights.rows()));
    put_u32(out, static_cast<uint32_t>(m.weights.cols()));
    for (Eigen::Index i = 0; i < m.weights.rows(); ++i) {
      for (Eigen::Index k = 0; k < m.weights.cols(); ++k) put_f32(out, m.weights(i, k));
    }
  }
  put_u64(out, builder.admitted().size());
  for (const UnitEstimate& e : builder.admitted()) {
    put_u32(out, e.unit);
    put_f64(out, e.frequency);
    put_f64(out, e.standard_error);
  }
  const std::vector<uint8_t> idx = index.serialize();
  put_u64(out, idx.size());
  out.insert(out.end(), idx.begin(), idx.end());
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(out.data(), out.size(), digest);
  out.insert(out.end(), digest, digest + kChecksumBytes);
  return out;
}

ParseResult<VocabFile> VocabFile::parse(std::span<const uint8_t> bytes) {
  try {
    return parse_or_throw(bytes);
  } catch (const Malformed& m) {
    return ParseError{m.message, m.offset};
  } catch (const std::exception& e) {
    // Anything else (an allocation failure, a library's exception) is still a parse failure.
    return ParseError{std::string("unreadable vocabulary file: ") + e.what(), 0};
  }
}

void VocabFile::write(const std::filesystem::path& path) const {
  const std::vector<uint8_t> bytes = serialize();
  // Write a temporary file and rename it, so a crash never leaves half a vocabulary behind.
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(path.string() + ": cannot open " + tmp.string() + " for writing.");
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) throw Error(path.string() + ": writing " + tmp.string() + " failed.");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw Error(path.string() + ": cannot rename " + tmp.string() + ": " + ec.message());
}

VocabFile VocabFile::read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open the vocabulary file.");
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  ParseResult<VocabFile> f = parse(bytes);
  if (!f.ok()) {
    throw Error(path.string() + ": " + f.error().message + " at byte " +
                std::to_string(f.error().offset) + ".");
  }
  return std::move(f).value();
}

}  // namespace residue

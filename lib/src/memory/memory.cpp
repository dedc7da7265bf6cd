// Memory: validation and the file format (memory.h). The codebook travels as a FAISS index;
// FAISS's reader trusts the sizes it reads, so its bytes are checked against the layout of a
// freshly written IndexFlatL2 of the same shape before FAISS ever sees them.
#include "residue/memory/memory.h"

#include <faiss/IndexFlat.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include <bit>
#include <cmath>
#include <memory>
#include <set>

#include "residue/core/format_double.h"
#include "retrieval/matrix_file.h"

namespace residue {
namespace {

constexpr std::string_view kMagic = "RSDMEMRY";
constexpr uint32_t kVersion = 1;
constexpr std::size_t kFixedBytes = 16;  // magic, version, header length
constexpr std::size_t kChecksumBytes = 8;
// Limits what a corrupt header can make a reader compute with (far above any real memory).
constexpr uint64_t kMaxRows = uint64_t{1} << 20;
constexpr uint64_t kMaxTokens = uint64_t{1} << 22;

void put_u32(std::vector<uint8_t>& out, uint32_t x) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(x >> (8 * i)));
}
void put_u64(std::vector<uint8_t>& out, uint64_t x) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(x >> (8 * i)));
}
uint32_t get_u32(std::span<const uint8_t> b, std::size_t at) {
  uint32_t x = 0;
  for (int i = 0; i < 4; ++i) x |= uint32_t{b[at + i]} << (8 * i);
  return x;
}
uint64_t get_u64(std::span<const uint8_t> b, std::size_t at) {
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i) x |= uint64_t{b[at + i]} << (8 * i);
  return x;
}

void check_hyper(const MemoryArm& arm, uint32_t cells) {
  const MemoryHyper& h = arm.hyper;
  const std::string where = "memory: arm \"" + arm.name + "\": ";
  if (h.neighbours < 1 || h.neighbours > cells) {
    throw Error(where + "neighbours (K) must be in [1, " + std::to_string(cells) + "], but is " +
                std::to_string(h.neighbours) + ".");
  }
  if (!(std::isfinite(h.temperature) && h.temperature > 0)) {
    throw Error(where + "temperature must be positive, but is " + format_double(h.temperature) +
                ".");
  }
  if (!(std::isfinite(h.alpha) && h.alpha >= 0)) {
    throw Error(where + "alpha must be non-negative, but is " + format_double(h.alpha) + ".");
  }
  if (!(h.lambda >= 0 && h.lambda <= 1)) {
    throw Error(where + "lambda must be in [0, 1], but is " + format_double(h.lambda) + ".");
  }
  if (arm.kind == ArmKind::kBase && h.lambda != 0) {
    throw Error(where + "a base arm has no memory, so lambda must be 0, but is " +
                format_double(h.lambda) + ".");
  }
  if (!std::isfinite(arm.tuning_perplexity) || arm.tuning_perplexity < 0) {
    throw Error(where + "tuning_perplexity must be finite and non-negative.");
  }
}

nlohmann::json hyper_json(const MemoryHyper& h) {
  return {{"neighbours", h.neighbours},
          {"temperature", h.temperature},
          {"alpha", h.alpha},
          {"lambda", h.lambda}};
}

MemoryHyper hyper_from_json(const nlohmann::json& j) {
  MemoryHyper h;
  h.neighbours = j.at("neighbours").get<uint32_t>();
  h.temperature = j.at("temperature").get<double>();
  h.alpha = j.at("alpha").get<double>();
  h.lambda = j.at("lambda").get<double>();
  return h;
}

nlohmann::json info_json(const MemoryInfo& i) {
  return {{"source", i.source},
          {"data_dir", i.data_dir},
          {"split_seed", i.split_seed},
          {"epsilon", i.epsilon},
          {"reports", i.reports},
          {"protocol_id", i.protocol_id},
          {"key_window", i.key_options.window},
          {"key_decay", i.key_options.decay},
          {"general_tokens", i.general_tokens},
          {"domain_tokens", i.domain_tokens},
          {"default_arm", i.default_arm},
          {"settings", i.settings}};
}

MemoryInfo info_from_json(const nlohmann::json& j) {
  MemoryInfo i;
  i.source = j.at("source").get<std::string>();
  i.data_dir = j.at("data_dir").get<std::string>();
  i.split_seed = j.at("split_seed").get<uint64_t>();
  i.epsilon = j.at("epsilon").get<double>();
  i.reports = j.at("reports").get<uint64_t>();
  i.protocol_id = j.at("protocol_id").get<std::string>();
  i.key_options.window = j.at("key_window").get<uint32_t>();
  i.key_options.decay = j.at("key_decay").get<float>();
  i.general_tokens = j.at("general_tokens").get<uint64_t>();
  i.domain_tokens = j.at("domain_tokens").get<uint64_t>();
  i.default_arm = j.at("default_arm").get<std::string>();
  i.settings = j.at("settings");
  if (!i.settings.is_object()) throw Error("\"settings\" must be an object");
  return i;
}

std::vector<uint8_t> faiss_bytes(const faiss::Index& index) {
  faiss::VectorIOWriter writer;
  faiss::write_index(&index, &writer);
  return std::move(writer.data);
}

/// The codebook as FAISS writes an IndexFlatL2 of its centroids.
std::vector<uint8_t> codebook_to_faiss(const Codebook& book) {
  faiss::IndexFlatL2 index(static_cast<faiss::Index::idx_t>(book.dimension()));
  index.add(static_cast<faiss::Index::idx_t>(book.cells()), book.centroids().data());
  return faiss_bytes(index);
}

/// The inverse of codebook_to_faiss for `cells` x `dimension` centroids; offsets are relative
/// to `bytes`.
ParseResult<Codebook> codebook_from_faiss(std::span<const uint8_t> bytes, uint32_t cells,
                                          uint32_t dimension) {
  // Everything but the trailing centroid floats must equal what FAISS writes for this shape:
  // that pins down every size field FAISS's reader would trust.
  const std::vector<float> zeros(std::size_t{cells} * dimension, 0.0f);
  const std::vector<uint8_t> reference = codebook_to_faiss(Codebook(dimension, zeros));
  if (bytes.size() != reference.size()) {
    return ParseError{"codebook: " + std::to_string(bytes.size()) +
                          " bytes, but a FAISS IndexFlatL2 of " + std::to_string(cells) + " x " +
                          std::to_string(dimension) + " centroids takes " +
                          std::to_string(reference.size()),
                      std::min(bytes.size(), reference.size())};
  }
  const std::size_t layout = reference.size() - zeros.size() * sizeof(float);
  for (std::size_t i = 0; i < layout; ++i) {
    if (bytes[i] != reference[i]) {
      return ParseError{"codebook: not a FAISS IndexFlatL2 of " + std::to_string(cells) + " x " +
                            std::to_string(dimension) + " centroids (its layout differs)",
                        i};
    }
  }
  std::unique_ptr<faiss::Index> index;
  try {
    faiss::VectorIOReader reader;
    reader.data.assign(bytes.begin(), bytes.end());
    index.reset(faiss::read_index(&reader));
  } catch (const faiss::FaissException& e) {
    return ParseError{std::string("codebook: FAISS cannot read it: ") + e.what(), 0};
  } catch (const std::exception& e) {
    return ParseError{std::string("codebook: FAISS cannot read it: ") + e.what(), 0};
  }
  const auto* flat = dynamic_cast<const faiss::IndexFlatL2*>(index.get());
  if (flat == nullptr || flat->ntotal != static_cast<faiss::Index::idx_t>(cells) ||
      flat->d != static_cast<int>(dimension)) {
    return ParseError{"codebook: FAISS read an index of another type or shape", 0};
  }
  std::vector<float> centroids(zeros.size());
  flat->reconstruct_n(0, flat->ntotal, centroids.data());
  for (std::size_t i = 0; i < centroids.size(); ++i) {
    if (!std::isfinite(centroids[i])) {
      return ParseError{"codebook: centroid " + std::to_string(i / dimension) + " is not finite",
                        layout + i * sizeof(float)};
    }
  }
  return Codebook(dimension, std::move(centroids));
}

}  // namespace

std::string_view arm_kind_name(ArmKind kind) {
  switch (kind) {
    case ArmKind::kBase:
      return "base";
    case ArmKind::kUniform:
      return "uniform";
    case ArmKind::kUnigram:
      return "unigram";
    case ArmKind::kCells:
      return "cells";
  }
  return "?";
}

ArmKind parse_arm_kind(std::string_view name) {
  for (ArmKind k : {ArmKind::kBase, ArmKind::kUniform, ArmKind::kUnigram, ArmKind::kCells}) {
    if (arm_kind_name(k) == name) return k;
  }
  throw Error("memory: unknown arm kind \"" + std::string(name) +
              "\" (expected base, uniform, unigram or cells).");
}

uint32_t arm_rows(ArmKind kind, uint32_t cells) {
  switch (kind) {
    case ArmKind::kCells:
      return cells;
    case ArmKind::kUnigram:
      return 1;
    default:
      return 0;
  }
}

uint64_t fnv1a64(std::span<const uint8_t> bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (uint8_t b : bytes) {
    h ^= b;
    h *= 0x100000001b3ULL;
  }
  return h;
}

Memory::Memory(MemoryInfo info, std::vector<std::string> words, WordEmbeddings embeddings,
               Codebook codebook, std::vector<MemoryArm> arms)
    : info_(std::move(info)),
      words_(std::move(words)),
      encoder_(std::move(embeddings), info_.key_options),
      codebook_(std::move(codebook)),
      arms_(std::move(arms)) {
  Vocabulary check(words_);  // throws on a duplicate or empty word
  const uint32_t t = tokens();
  if (encoder_.embeddings().rows() != t + 1) {
    throw Error("memory: the embeddings have " + std::to_string(encoder_.embeddings().rows()) +
                " rows, but " + std::to_string(t) + " tokens and <s> need " +
                std::to_string(t + 1) + ".");
  }
  if (encoder_.dimension() != codebook_.dimension()) {
    throw Error("memory: the embeddings have dimension " + std::to_string(encoder_.dimension()) +
                ", the codebook " + std::to_string(codebook_.dimension()) + ".");
  }
  if (!std::isfinite(info_.epsilon) || info_.epsilon < 0) {
    throw Error("memory: epsilon must be finite and non-negative, but is " +
                format_double(info_.epsilon) + ".");
  }
  std::set<std::string, std::less<>> names;
  for (const MemoryArm& a : arms_) {
    if (a.name.empty()) throw Error("memory: an arm has an empty name.");
    if (!names.insert(a.name).second) throw Error("memory: two arms are named \"" + a.name + "\".");
    const std::size_t expected = std::size_t{arm_rows(a.kind, cells())} * t;
    if (a.counts.size() != expected) {
      throw Error("memory: arm \"" + a.name + "\" (" + std::string(arm_kind_name(a.kind)) +
                  ") has " + std::to_string(a.counts.size()) + " counts, but needs " +
                  std::to_string(expected) + ".");
    }
    for (std::size_t i = 0; i < a.counts.size(); ++i) {
      if (!(std::isfinite(a.counts[i]) && a.counts[i] >= 0)) {
        throw Error("memory: arm \"" + a.name + "\": count " + std::to_string(i) + " (row " +
                    std::to_string(i / t) + ") is " + format_double(a.counts[i]) +
                    ", not a finite non-negative number.");
      }
    }
    check_hyper(a, cells());
  }
  if (!has_arm(info_.default_arm)) {
    throw Error("memory: default_arm \"" + info_.default_arm + "\" is not an arm.");
  }
}

bool Memory::has_arm(std::string_view name) const {
  for (const MemoryArm& a : arms_) {
    if (a.name == name) return true;
  }
  return false;
}

const MemoryArm& Memory::arm(std::string_view name) const {
  std::string known;
  for (const MemoryArm& a : arms_) {
    if (a.name == name) return a;
    known += (known.empty() ? "" : ", ") + a.name;
  }
  throw Error("memory: no arm \"" + std::string(name) + "\" (it has: " + known + ").");
}

std::vector<uint8_t> Memory::serialize() const {
  const std::vector<uint8_t> codebook = codebook_to_faiss(codebook_);
  const std::vector<uint8_t> embeddings = encoder_.embeddings().serialize();
  nlohmann::json arms = nlohmann::json::array();
  for (const MemoryArm& a : arms_) {
    arms.push_back({{"name", a.name},
                    {"kind", arm_kind_name(a.kind)},
                    {"description", a.description},
                    {"hyper", hyper_json(a.hyper)},
                    {"tuning_perplexity", a.tuning_perplexity},
                    {"rows", arm_rows(a.kind, cells())}});
  }
  const nlohmann::json header = {{"format", kMemoryFormat},
                                 {"info", info_json(info_)},
                                 {"cells", cells()},
                                 {"dimension", dimension()},
                                 {"vocabulary", words_},
                                 {"codebook_bytes", codebook.size()},
                                 {"embeddings_bytes", embeddings.size()},
                                 {"arms", arms}};
  const std::string text = header.dump();
  std::vector<uint8_t> out(kMagic.begin(), kMagic.end());
  put_u32(out, kVersion);
  put_u32(out, static_cast<uint32_t>(text.size()));
  out.insert(out.end(), text.begin(), text.end());
  out.insert(out.end(), codebook.begin(), codebook.end());
  out.insert(out.end(), embeddings.begin(), embeddings.end());
  for (const MemoryArm& a : arms_) {
    for (double c : a.counts) put_u64(out, std::bit_cast<uint64_t>(c));
  }
  put_u64(out, fnv1a64(out));
  return out;
}

ParseResult<Memory> Memory::parse(std::span<const uint8_t> bytes) {
  const auto fail = [](std::string message, std::size_t offset) {
    return ParseError{"memory: " + std::move(message), offset};
  };
  if (bytes.size() < kFixedBytes) {
    return fail("truncated: " + std::to_string(bytes.size()) + " bytes, the fixed header needs " +
                    std::to_string(kFixedBytes),
                bytes.size());
  }
  for (std::size_t i = 0; i < kMagic.size(); ++i) {
    if (bytes[i] != static_cast<uint8_t>(kMagic[i])) {
      return fail("bad magic (expected \"" + std::string(kMagic) + "\": not a memory file)", i);
    }
  }
  const uint32_t version = get_u32(bytes, 8);
  if (version != kVersion) {
    return fail("unsupported version " + std::to_string(version) + " (this program reads " +
                    std::to_string(kVersion) + ")",
                8);
  }
  const uint64_t header_bytes = get_u32(bytes, 12);
  if (kFixedBytes + header_bytes > bytes.size()) {
    return fail("truncated: the JSON header declares " + std::to_string(header_bytes) +
                    " bytes, but only " + std::to_string(bytes.size() - kFixedBytes) + " follow",
                bytes.size());
  }
  const std::span<const uint8_t> text = bytes.subspan(kFixedBytes, header_bytes);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    const std::size_t at = e.byte > 0 ? e.byte - 1 : 0;
    return fail(std::string("bad JSON header: ") + e.what(),
                kFixedBytes + std::min<std::size_t>(at, header_bytes));
  }

  MemoryInfo info;
  std::vector<std::string> words;
  std::vector<MemoryArm> arms;
  std::vector<uint32_t> rows;
  uint64_t cells = 0, dimension = 0, codebook_bytes = 0, embeddings_bytes = 0;
  try {
    if (!header.is_object()) throw Error("not an object");
    const std::string format = header.at("format").get<std::string>();
    if (format != kMemoryFormat) {
      throw Error("format is \"" + format + "\", expected \"" + std::string(kMemoryFormat) + "\"");
    }
    info = info_from_json(header.at("info"));
    cells = header.at("cells").get<uint64_t>();
    dimension = header.at("dimension").get<uint64_t>();
    words = header.at("vocabulary").get<std::vector<std::string>>();
    codebook_bytes = header.at("codebook_bytes").get<uint64_t>();
    embeddings_bytes = header.at("embeddings_bytes").get<uint64_t>();
    for (const nlohmann::json& a : header.at("arms")) {
      MemoryArm arm;
      arm.name = a.at("name").get<std::string>();
      arm.kind = parse_arm_kind(a.at("kind").get<std::string>());
      arm.description = a.at("description").get<std::string>();
      arm.hyper = hyper_from_json(a.at("hyper"));
      arm.tuning_perplexity = a.at("tuning_perplexity").get<double>();
      rows.push_back(a.at("rows").get<uint32_t>());
      arms.push_back(std::move(arm));
    }
  } catch (const nlohmann::json::exception& e) {
    return fail(std::string("bad JSON header: ") + e.what(), kFixedBytes);
  } catch (const Error& e) {
    return fail(std::string("bad JSON header: ") + e.what(), kFixedBytes);
  }
  if (cells == 0 || cells > kMaxRows) {
    return fail("bad JSON header: cells is " + std::to_string(cells), kFixedBytes);
  }
  if (dimension == 0 || dimension > (1u << 16)) {
    return fail("bad JSON header: dimension is " + std::to_string(dimension), kFixedBytes);
  }
  const uint64_t tokens = words.size() + 1;
  if (tokens > kMaxTokens) {
    return fail("bad JSON header: " + std::to_string(tokens) + " tokens", kFixedBytes);
  }
  for (std::size_t i = 0; i < arms.size(); ++i) {
    if (rows[i] != arm_rows(arms[i].kind, static_cast<uint32_t>(cells))) {
      return fail("bad JSON header: arm \"" + arms[i].name + "\" has " + std::to_string(rows[i]) +
                      " rows, but a " + std::string(arm_kind_name(arms[i].kind)) + " arm has " +
                      std::to_string(arm_rows(arms[i].kind, static_cast<uint32_t>(cells))),
                  kFixedBytes);
    }
  }

  // Where each section starts; the sizes are bounded, so the sums cannot overflow.
  const uint64_t codebook_at = kFixedBytes + header_bytes;
  const uint64_t embeddings_at = codebook_at + std::min(codebook_bytes, uint64_t{1} << 40);
  uint64_t tables_at = embeddings_at + std::min(embeddings_bytes, uint64_t{1} << 40);
  uint64_t end = tables_at;
  for (uint32_t r : rows) {
    end += uint64_t{r} * tokens * sizeof(double);  // each term < 2^45: no overflow before the
    if (end > bytes.size()) break;                 // sum passes the file size
  }
  const uint64_t expected = end + kChecksumBytes;
  if (bytes.size() < expected) {
    return fail("truncated: the header implies " + std::to_string(expected) +
                    " bytes, but the file has " + std::to_string(bytes.size()),
                bytes.size());
  }
  if (bytes.size() > expected) {
    return fail(std::to_string(bytes.size() - expected) +
                    " unexpected bytes after the end the header implies",
                expected);
  }

  ParseResult<WordEmbeddings> embeddings =
      WordEmbeddings::parse(bytes.subspan(embeddings_at, embeddings_bytes));
  if (!embeddings.ok()) {
    return fail("embeddings section: " + embeddings.error().message,
                embeddings_at + embeddings.error().offset);
  }
  if (embeddings.value().dimension() != dimension) {
    return fail("embeddings section: dimension " + std::to_string(embeddings.value().dimension()) +
                    ", the header says " + std::to_string(dimension),
                embeddings_at);
  }
  ParseResult<Codebook> codebook =
      codebook_from_faiss(bytes.subspan(codebook_at, codebook_bytes), static_cast<uint32_t>(cells),
                          static_cast<uint32_t>(dimension));
  if (!codebook.ok()) {
    return fail("codebook section: " + codebook.error().message,
                codebook_at + codebook.error().offset);
  }
  for (std::size_t a = 0; a < arms.size(); ++a) {
    const std::size_t n = std::size_t{rows[a]} * tokens;
    arms[a].counts.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t at = tables_at + i * sizeof(double);
      const double c = std::bit_cast<double>(get_u64(bytes, at));
      if (!(std::isfinite(c) && c >= 0)) {
        return fail("arm \"" + arms[a].name + "\": count " + std::to_string(i) + " (row " +
                        std::to_string(i / tokens) + ") is " + format_double(c) +
                        ", not a finite non-negative number",
                    at);
      }
      arms[a].counts[i] = c;
    }
    tables_at += n * sizeof(double);
  }
  const uint64_t stored = get_u64(bytes, end);
  const uint64_t computed = fnv1a64(bytes.first(end));
  if (stored != computed) {
    return fail("checksum mismatch: the file is corrupted", end);
  }
  try {
    return Memory(std::move(info), std::move(words), std::move(embeddings).value(),
                  std::move(codebook).value(), std::move(arms));
  } catch (const Error& e) {
    return ParseError{e.what(), kFixedBytes};
  }
}

void Memory::write(const std::filesystem::path& file) const {
  matrix_file::write_bytes(file, serialize(), "memory");
}

Memory Memory::read(const std::filesystem::path& file) {
  const std::vector<uint8_t> bytes = matrix_file::read_bytes(file, "memory");
  ParseResult<Memory> m = parse(bytes);
  if (!m.ok()) {
    throw Error(m.error().message + " in " + file.string() + " at byte " +
                std::to_string(m.error().offset) + ".");
  }
  return std::move(m).value();
}

}  // namespace residue

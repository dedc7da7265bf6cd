#include "residue/vocab/dynamic_vocab.h"

#include <faiss/impl/FaissException.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <unordered_set>
#include <utility>

#include "dynamic_vocab_format.h"
#include "vocab/vocab_index.h"

namespace residue {
namespace {

// FAISS reports misuse and corrupt input by throwing faiss::FaissException; callers of this
// class see residue::Error instead.
template <typename F>
auto guarded(const char* what, F&& f) {
  try {
    return f();
  } catch (const faiss::FaissException& e) {
    throw Error(std::string("DynamicVocab::") + what + ": FAISS failed: " + e.msg);
  }
}

void validate(const DynamicVocabOptions& o) {
  auto fail = [](const std::string& what) { throw Error("DynamicVocabOptions: " + what); };
  if (o.dim < 1) fail("dim must be at least 1, but is " + std::to_string(o.dim) + ".");
  if (static_cast<uint8_t>(o.metric) > 1) fail("metric is not l2 or ip.");
  if (static_cast<uint8_t>(o.kind) > 3) fail("kind is not exact, ivf, hnsw or auto.");
  if (o.auto_approximate != VocabIndexKind::kIvf && o.auto_approximate != VocabIndexKind::kHnsw)
    fail("auto_approximate must be ivf or hnsw, but is " +
         std::string(to_string(o.auto_approximate)) + ".");
  if (o.auto_threshold < 2) fail("auto_threshold must be at least 2.");
  if (o.nprobe < 1) fail("nprobe must be at least 1.");
  if (o.ivf_train_min < 1) fail("ivf_train_min must be at least 1.");
  if (o.ivf_train_per_list < 1) fail("ivf_train_per_list must be at least 1.");
  if (!(o.ivf_regrow > 1.0))
    fail("ivf_regrow must be above 1, but is " + std::to_string(o.ivf_regrow) + ".");
  if (o.hnsw_m < 2) fail("hnsw_m must be at least 2, but is " + std::to_string(o.hnsw_m) + ".");
  if (o.ef_construction < 1) fail("ef_construction must be at least 1.");
  if (o.ef_search < 1) fail("ef_search must be at least 1.");
  if (!(o.max_tombstone_fraction > 0.0 && o.max_tombstone_fraction < 1.0))
    fail("max_tombstone_fraction must be in (0, 1), but is " +
         std::to_string(o.max_tombstone_fraction) + ".");
}

// The structure a configured kind asks for at `size` entries while `active` serves.
VocabIndexKind wanted(const DynamicVocabOptions& opt, VocabIndexKind active, std::size_t size) {
  switch (opt.kind) {
    case VocabIndexKind::kExact:
    case VocabIndexKind::kHnsw:
      return opt.kind;
    case VocabIndexKind::kIvf:
      // Once trained, an IVF stays: shrinking does not make its answers wrong.
      if (active == VocabIndexKind::kIvf) return VocabIndexKind::kIvf;
      return size >= opt.ivf_train_min ? VocabIndexKind::kIvf : VocabIndexKind::kExact;
    case VocabIndexKind::kAuto:
      // Hysteresis, so that add/remove around the threshold does not rebuild every time.
      if (active == VocabIndexKind::kExact)
        return size >= opt.auto_threshold ? opt.auto_approximate : VocabIndexKind::kExact;
      return size < opt.auto_threshold / 2 ? VocabIndexKind::kExact : opt.auto_approximate;
  }
  throw Error("DynamicVocab: unknown index kind " + std::to_string(static_cast<int>(opt.kind)) +
              ".");
}

}  // namespace

std::string_view to_string(VocabMetric metric) {
  return metric == VocabMetric::kL2 ? "l2" : "ip";
}

std::string_view to_string(VocabIndexKind kind) {
  switch (kind) {
    case VocabIndexKind::kExact:
      return "exact";
    case VocabIndexKind::kIvf:
      return "ivf";
    case VocabIndexKind::kHnsw:
      return "hnsw";
    case VocabIndexKind::kAuto:
      return "auto";
  }
  return "?";
}

VocabMetric parse_vocab_metric(std::string_view name) {
  if (name == "l2") return VocabMetric::kL2;
  if (name == "ip") return VocabMetric::kInnerProduct;
  throw Error("metric must be l2 or ip, but is '" + std::string(name) + "'.");
}

VocabIndexKind parse_vocab_index_kind(std::string_view name) {
  for (VocabIndexKind k :
       {VocabIndexKind::kExact, VocabIndexKind::kIvf, VocabIndexKind::kHnsw, VocabIndexKind::kAuto})
    if (name == to_string(k)) return k;
  throw Error("index kind must be exact, ivf, hnsw or auto, but is '" + std::string(name) + "'.");
}

// ---------------------------------------------------------------------------------------------

struct DynamicVocab::Impl {
  DynamicVocabOptions opt;
  std::unique_ptr<VocabIndex> index;  // never null

  explicit Impl(const DynamicVocabOptions& o) : opt(o) {}

  std::size_t dim() const { return static_cast<std::size_t>(opt.dim); }

  // Rebuilds from the live entries as `kind`; the old structure stays if FAISS throws.
  void rebuild_as(VocabIndexKind kind) {
    std::vector<int64_t> ids;
    std::vector<float> x;
    index->collect(ids, x);
    index = make_vocab_index(kind, opt, ids, x.data());
  }

  void restructure() {
    const VocabIndexKind target = wanted(opt, index->kind(), index->size());
    if (target != index->kind() || index->needs_rebuild(opt)) rebuild_as(target);
  }

  std::size_t remove(std::span<const int64_t> ids) {
    std::vector<idx_t> present;
    for (int64_t id : ids)
      if (index->contains(id)) present.push_back(id);
    // Repeated ids in `ids` are counted once.
    std::sort(present.begin(), present.end());
    present.erase(std::unique(present.begin(), present.end()), present.end());
    if (!present.empty()) index->remove(present);
    return present.size();
  }

  std::vector<std::vector<VocabHit>> search(const float* q, std::size_t nq, std::size_t top) const {
    std::vector<std::vector<VocabHit>> out(nq);
    const std::size_t k = std::min(top, index->size());
    if (k == 0 || nq == 0) return out;
    std::vector<float> dist(nq * k);
    std::vector<idx_t> lab(nq * k);
    index->search(q, static_cast<idx_t>(nq), static_cast<idx_t>(k), dist.data(), lab.data(), opt);
    for (std::size_t i = 0; i < nq; ++i) {
      out[i].reserve(k);
      for (std::size_t j = 0; j < k; ++j)
        if (lab[i * k + j] >= 0) out[i].push_back({lab[i * k + j], dist[i * k + j]});
    }
    return out;
  }
};

// ---------------------------------------------------------------------------------------------

DynamicVocab::DynamicVocab(const DynamicVocabOptions& options) {
  validate(options);
  impl_ = std::make_unique<Impl>(options);
  guarded("DynamicVocab", [&] {
    impl_->index =
        make_vocab_index(wanted(options, VocabIndexKind::kExact, 0), options, {}, nullptr);
  });
}

DynamicVocab::DynamicVocab(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DynamicVocab::DynamicVocab(DynamicVocab&&) noexcept = default;
DynamicVocab& DynamicVocab::operator=(DynamicVocab&&) noexcept = default;
DynamicVocab::~DynamicVocab() = default;

void DynamicVocab::add(int64_t id, std::span<const float> vector) {
  add(std::span<const int64_t>(&id, 1), vector);
}

void DynamicVocab::add(std::span<const int64_t> ids, std::span<const float> vectors) {
  if (vectors.size() != ids.size() * impl_->dim())
    throw Error("DynamicVocab::add: expected " + std::to_string(ids.size()) + " x " +
                std::to_string(impl_->dim()) + " floats, got " + std::to_string(vectors.size()) +
                ".");
  if (ids.empty()) return;
  for (int64_t id : ids)
    if (id < 0)
      throw Error("DynamicVocab::add: ids must be >= 0, but one is " + std::to_string(id) + ".");
  if (ids.size() > 1) {
    std::unordered_set<int64_t> seen;
    seen.reserve(ids.size());
    for (int64_t id : ids)
      if (!seen.insert(id).second)
        throw Error("DynamicVocab::add: id " + std::to_string(id) + " appears twice in one batch.");
  }
  guarded("add", [&] {
    impl_->remove(ids);  // replace semantics
    impl_->index->add(ids, vectors.data());
    impl_->restructure();
  });
}

bool DynamicVocab::remove(int64_t id) {
  return remove(std::span<const int64_t>(&id, 1)) == 1;
}

std::size_t DynamicVocab::remove(std::span<const int64_t> ids) {
  return guarded("remove", [&] {
    const std::size_t removed = impl_->remove(ids);
    if (removed > 0) impl_->restructure();
    return removed;
  });
}

bool DynamicVocab::contains(int64_t id) const {
  return impl_->index->contains(id);
}
std::size_t DynamicVocab::size() const {
  return impl_->index->size();
}
int DynamicVocab::dim() const {
  return impl_->opt.dim;
}
VocabMetric DynamicVocab::metric() const {
  return impl_->opt.metric;
}
VocabIndexKind DynamicVocab::kind() const {
  return impl_->opt.kind;
}
VocabIndexKind DynamicVocab::active_kind() const {
  return impl_->index->kind();
}
const DynamicVocabOptions& DynamicVocab::options() const {
  return impl_->opt;
}
std::size_t DynamicVocab::tombstones() const {
  return impl_->index->tombstones();
}

std::vector<int64_t> DynamicVocab::ids() const {
  std::vector<int64_t> out = impl_->index->ids();
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<float> DynamicVocab::reconstruct(int64_t id) const {
  if (!contains(id))
    throw Error("DynamicVocab::reconstruct: id " + std::to_string(id) + " is not in the index.");
  std::vector<float> out(impl_->dim());
  guarded("reconstruct", [&] { impl_->index->reconstruct(id, out.data()); });
  return out;
}

std::vector<VocabHit> DynamicVocab::search(std::span<const float> query, std::size_t top) const {
  if (query.size() != impl_->dim())
    throw Error("DynamicVocab::search: query has " + std::to_string(query.size()) +
                " floats, expected " + std::to_string(impl_->dim()) + ".");
  return guarded("search", [&] { return std::move(impl_->search(query.data(), 1, top)[0]); });
}

std::vector<std::vector<VocabHit>> DynamicVocab::search_batch(std::span<const float> queries,
                                                              std::size_t top) const {
  if (queries.size() % impl_->dim() != 0)
    throw Error("DynamicVocab::search_batch: " + std::to_string(queries.size()) +
                " floats is not a multiple of the dimension " + std::to_string(impl_->dim()) + ".");
  return guarded("search_batch",
                 [&] { return impl_->search(queries.data(), queries.size() / impl_->dim(), top); });
}

void DynamicVocab::set_nprobe(std::size_t nprobe) {
  if (nprobe < 1) throw Error("DynamicVocab::set_nprobe: nprobe must be at least 1.");
  impl_->opt.nprobe = nprobe;
}

void DynamicVocab::set_ef_search(int ef_search) {
  if (ef_search < 1) throw Error("DynamicVocab::set_ef_search: ef_search must be at least 1.");
  impl_->opt.ef_search = ef_search;
  impl_->index->set_ef_search(ef_search);
}

void DynamicVocab::rebuild() {
  guarded("rebuild", [&] {
    impl_->rebuild_as(wanted(impl_->opt, impl_->index->kind(), impl_->index->size()));
  });
}

// --- persistence (layout in dynamic_vocab_format.h) --------------------------------------------

std::vector<uint8_t> DynamicVocab::serialize() const {
  const VocabIndex& index = *impl_->index;
  std::vector<uint8_t> out;
  out.reserve(serialized_bytes());
  vocab_format::put_header(vocab_format::header_of(impl_->opt, index.kind(), index.trained_size()),
                           out);
  vocab_format::put_u64(index.labels().size(), out);
  for (int64_t l : index.labels()) vocab_format::put_u64(static_cast<uint64_t>(l), out);
  const std::size_t length_at = out.size();
  vocab_format::put_u64(0, out);
  guarded("serialize", [&] { index.write(out); });
  const uint64_t blob = out.size() - length_at - 8;
  for (int i = 0; i < 8; ++i)
    out[length_at + static_cast<std::size_t>(i)] = static_cast<uint8_t>(blob >> (8 * i));
  vocab_format::append_checksum(out);
  return out;
}

std::size_t DynamicVocab::serialized_bytes() const {
  const VocabIndex& index = *impl_->index;
  const std::size_t faiss_bytes =
      guarded("serialized_bytes", [&] { return index.written_bytes(); });
  return vocab_format::kHeaderBytes + 8 + 8 * index.labels().size() + 8 + faiss_bytes +
         vocab_format::kChecksumBytes;
}

ParseResult<DynamicVocab> DynamicVocab::parse(std::span<const uint8_t> bytes) {
  auto fail = [](std::size_t offset, std::string message) -> ParseResult<DynamicVocab> {
    return ParseError{std::move(message), offset};
  };
  vocab_format::Header h;
  if (auto e = vocab_format::get_header(bytes, h)) return *e;
  try {
    validate(h.options);
  } catch (const Error& e) {
    return fail(vocab_format::kOptionsAt,
                std::string("invalid options in the header: ") + e.what());
  }
  std::size_t pos = vocab_format::kHeaderBytes;
  vocab_format::Cursor c{bytes, pos};

  StoredVocabIndex stored{.trained_size = h.trained_size, .labels_at = c.pos};
  uint64_t nlabels = 0;
  if (!c.u64(nlabels)) return fail(c.pos, "file ends inside the label count");
  if (nlabels > c.left() / 8)
    return fail(c.pos, "label count " + std::to_string(nlabels) + " exceeds the file");
  stored.labels.resize(nlabels);
  for (uint64_t i = 0; i < nlabels; ++i) {
    uint64_t v = 0;
    c.u64(v);
    stored.labels[i] = static_cast<int64_t>(v);
    if (stored.labels[i] < -1)
      return fail(c.pos - 8, "label " + std::to_string(i) + " is negative but not -1");
  }
  uint64_t blob_bytes = 0;
  const std::size_t blob_length_at = c.pos;
  if (!c.u64(blob_bytes)) return fail(blob_length_at, "file ends inside the FAISS index length");
  if (c.left() < vocab_format::kChecksumBytes ||
      blob_bytes > c.left() - vocab_format::kChecksumBytes)
    return fail(blob_length_at, "FAISS index length " + std::to_string(blob_bytes) +
                                    " exceeds the file (truncated?)");
  const std::size_t blob_at = c.pos;
  const std::size_t checksum_at = blob_at + blob_bytes;
  if (bytes.size() != checksum_at + vocab_format::kChecksumBytes)
    return fail(checksum_at + vocab_format::kChecksumBytes,
                std::to_string(bytes.size() - checksum_at - vocab_format::kChecksumBytes) +
                    " trailing bytes after the checksum");
  if (!vocab_format::checksum_matches(bytes.first(checksum_at), bytes.subspan(checksum_at)))
    return fail(checksum_at, "checksum does not match the contents (file corrupted)");

  // FAISS reads its part, then the structure must be what the header says.
  stored.bytes = bytes.subspan(blob_at, blob_bytes);
  stored.index_at = blob_at;
  ParseResult<std::unique_ptr<VocabIndex>> index =
      read_vocab_index(h.active, h.options, std::move(stored));
  if (!index.ok()) return index.error();
  auto impl = std::make_unique<Impl>(h.options);
  impl->index = std::move(index).value();
  return DynamicVocab(std::move(impl));
}

void DynamicVocab::write(const std::string& path) const {
  const std::vector<uint8_t> bytes = serialize();
  // Written beside the target, then renamed: a crash never leaves half a vocabulary.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("DynamicVocab::write: cannot open " + tmp + " for writing.");
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) throw Error("DynamicVocab::write: writing " + tmp + " failed.");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw Error("DynamicVocab::write: cannot rename " + tmp + " to " + path + ".");
}

DynamicVocab DynamicVocab::read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the vocabulary index file.");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  ParseResult<DynamicVocab> r = parse(bytes);
  if (!r.ok())
    throw Error(path + ": " + r.error().message + " at byte " + std::to_string(r.error().offset) +
                ".");
  return std::move(r).value();
}

}  // namespace residue

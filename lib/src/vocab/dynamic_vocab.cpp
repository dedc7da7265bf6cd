#include "residue/vocab/dynamic_vocab.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <faiss/invlists/DirectMap.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "dynamic_vocab_format.h"

namespace residue {

// FAISS 1.7.3 has no namespace-level faiss::idx_t (retrieval.md 4.1).
using idx_t = faiss::Index::idx_t;

namespace {

faiss::MetricType faiss_metric(VocabMetric metric) {
  return metric == VocabMetric::kL2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
}

// HNSW tombstones: internal ids whose label is -1 are not members. Reading the label vector
// directly costs no allocation per search (an IDSelectorBatch would be rebuilt each time).
struct LiveSelector final : faiss::IDSelector {
  explicit LiveSelector(const std::vector<int64_t>& labels) : labels_(labels) {}
  bool is_member(idx_t id) const override {
    return id >= 0 && static_cast<std::size_t>(id) < labels_.size() &&
           labels_[static_cast<std::size_t>(id)] >= 0;
  }
  const std::vector<int64_t>& labels_;
};

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

std::size_t ivf_lists_for(std::size_t size) {
  if (size < 2) return 1;
  const double target = 4.0 * std::sqrt(static_cast<double>(size));
  std::size_t lists = std::size_t{1} << static_cast<int>(std::lround(std::log2(target)));
  const std::size_t cap = std::max<std::size_t>(1, size / 39);
  while (lists > cap && lists > 1) lists /= 2;
  return lists;
}

// ---------------------------------------------------------------------------------------------

struct DynamicVocab::Impl {
  DynamicVocabOptions opt;
  VocabIndexKind active = VocabIndexKind::kExact;

  // Exactly one of these is set, matching `active`.
  std::unique_ptr<faiss::IndexIDMap2> exact;  // owns its IndexFlat
  std::unique_ptr<faiss::IndexIVFFlat> ivf;   // owns its quantizer; ids stored natively
  std::unique_ptr<faiss::IndexHNSWFlat> hnsw;

  std::size_t trained_size = 0;                 // IVF: entries it was trained on
  std::vector<int64_t> labels;                  // HNSW: internal -> external, -1 = tombstone
  std::unordered_map<int64_t, idx_t> internal;  // HNSW: external -> internal (live only)
  std::size_t dead = 0;                         // HNSW: tombstones

  explicit Impl(const DynamicVocabOptions& o) : opt(o) {}

  faiss::MetricType metric() const { return faiss_metric(opt.metric); }
  std::size_t dim() const { return static_cast<std::size_t>(opt.dim); }

  std::size_t size() const {
    switch (active) {
      case VocabIndexKind::kExact:
        return static_cast<std::size_t>(exact->ntotal);
      case VocabIndexKind::kIvf:
        return static_cast<std::size_t>(ivf->ntotal);
      default:
        return static_cast<std::size_t>(hnsw->ntotal) - dead;
    }
  }

  bool contains(int64_t id) const {
    switch (active) {
      case VocabIndexKind::kExact:
        return exact->rev_map.count(id) != 0;
      case VocabIndexKind::kIvf:
        return ivf->direct_map.hashtable.count(id) != 0;
      default:
        return internal.count(id) != 0;
    }
  }

  // --- building -------------------------------------------------------------------------------

  void build_exact(std::span<const int64_t> ids, const float* x) {
    auto flat = std::make_unique<faiss::IndexFlat>(opt.dim, metric());
    auto map = std::make_unique<faiss::IndexIDMap2>(flat.get());
    flat.release();
    map->own_fields = true;
    if (!ids.empty()) map->add_with_ids(static_cast<idx_t>(ids.size()), x, ids.data());
    reset();
    exact = std::move(map);
    active = VocabIndexKind::kExact;
  }

  void build_ivf(std::span<const int64_t> ids, const float* x) {
    const std::size_t n = ids.size();
    std::size_t lists = opt.ivf_lists != 0 ? opt.ivf_lists : ivf_lists_for(n);
    lists = std::clamp<std::size_t>(lists, 1, std::max<std::size_t>(n, 1));
    auto quantizer = std::make_unique<faiss::IndexFlat>(opt.dim, metric());
    auto index = std::make_unique<faiss::IndexIVFFlat>(quantizer.get(), dim(), lists, metric());
    quantizer.release();
    index->own_fields = true;
    // FAISS samples at most this many points per centroid for k-means (its default, 256,
    // would train on all of 1M x 64 for 4096 lists); 64 keeps training at 1M to 1-2 minutes.
    index->cp.max_points_per_centroid = static_cast<int>(opt.ivf_train_per_list);
    if (n > 0) index->train(static_cast<idx_t>(n), x);
    // reconstruct(id) and removal by id need the id -> (list, offset) map; with arbitrary ids
    // only the hashtable kind works (retrieval.md 4.4).
    index->set_direct_map_type(faiss::DirectMap::Hashtable);
    if (n > 0) index->add_with_ids(static_cast<idx_t>(n), x, ids.data());
    reset();
    ivf = std::move(index);
    trained_size = n;
    active = VocabIndexKind::kIvf;
  }

  void build_hnsw(std::span<const int64_t> ids, const float* x) {
    auto index = std::make_unique<faiss::IndexHNSWFlat>(opt.dim, opt.hnsw_m, metric());
    index->hnsw.efConstruction = opt.ef_construction;
    index->hnsw.efSearch = opt.ef_search;
    if (!ids.empty()) index->add(static_cast<idx_t>(ids.size()), x);
    reset();
    hnsw = std::move(index);
    labels.assign(ids.begin(), ids.end());
    internal.reserve(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) internal.emplace(ids[i], static_cast<idx_t>(i));
    active = VocabIndexKind::kHnsw;
  }

  void reset() {
    exact.reset();
    ivf.reset();
    hnsw.reset();
    labels.clear();
    internal.clear();
    dead = 0;
    trained_size = 0;
  }

  // Every live entry, in storage order.
  void collect(std::vector<int64_t>& ids, std::vector<float>& x) const {
    ids.clear();
    x.clear();
    const std::size_t d = dim();
    if (active == VocabIndexKind::kExact) {
      ids.assign(exact->id_map.begin(), exact->id_map.end());
      const auto* flat = static_cast<const faiss::IndexFlat*>(exact->index);
      x.assign(flat->get_xb(), flat->get_xb() + ids.size() * d);
    } else if (active == VocabIndexKind::kIvf) {
      ids.reserve(size());
      x.reserve(size() * d);
      const faiss::InvertedLists* lists = ivf->invlists;
      for (std::size_t l = 0; l < lists->nlist; ++l) {
        const std::size_t len = lists->list_size(l);
        if (len == 0) continue;
        faiss::InvertedLists::ScopedIds list_ids(lists, l);
        faiss::InvertedLists::ScopedCodes codes(lists, l);
        ids.insert(ids.end(), list_ids.get(), list_ids.get() + len);
        const auto* v = reinterpret_cast<const float*>(codes.get());
        x.insert(x.end(), v, v + len * d);
      }
    } else {
      ids.reserve(size());
      x.reserve(size() * d);
      const auto* storage = static_cast<const faiss::IndexFlat*>(hnsw->storage);
      for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0) continue;
        ids.push_back(labels[i]);
        x.insert(x.end(), storage->get_xb() + i * d, storage->get_xb() + (i + 1) * d);
      }
    }
  }

  void convert(VocabIndexKind target) {
    std::vector<int64_t> ids;
    std::vector<float> x;
    collect(ids, x);
    if (target == VocabIndexKind::kExact) build_exact(ids, x.data());
    if (target == VocabIndexKind::kIvf) build_ivf(ids, x.data());
    if (target == VocabIndexKind::kHnsw) build_hnsw(ids, x.data());
  }

  // The structure the configured kind asks for at the current size.
  VocabIndexKind wanted() const {
    const std::size_t n = size();
    switch (opt.kind) {
      case VocabIndexKind::kExact:
        return VocabIndexKind::kExact;
      case VocabIndexKind::kHnsw:
        return VocabIndexKind::kHnsw;
      case VocabIndexKind::kIvf:
        // Once trained, an IVF stays: shrinking does not make its answers wrong.
        if (active == VocabIndexKind::kIvf) return VocabIndexKind::kIvf;
        return n >= opt.ivf_train_min ? VocabIndexKind::kIvf : VocabIndexKind::kExact;
      case VocabIndexKind::kAuto:
        // Hysteresis, so that add/remove around the threshold does not rebuild every time.
        if (active == VocabIndexKind::kExact)
          return n >= opt.auto_threshold ? opt.auto_approximate : VocabIndexKind::kExact;
        return n < opt.auto_threshold / 2 ? VocabIndexKind::kExact : opt.auto_approximate;
    }
    return VocabIndexKind::kExact;
  }

  void restructure() {
    const VocabIndexKind target = wanted();
    if (target != active) {
      convert(target);
    } else if (active == VocabIndexKind::kIvf &&
               static_cast<double>(size()) > opt.ivf_regrow * static_cast<double>(trained_size)) {
      convert(VocabIndexKind::kIvf);
    } else if (active == VocabIndexKind::kHnsw &&
               static_cast<double>(dead) >
                   opt.max_tombstone_fraction * static_cast<double>(hnsw->ntotal)) {
      convert(VocabIndexKind::kHnsw);
    }
  }

  // --- updates --------------------------------------------------------------------------------

  std::size_t remove(std::span<const int64_t> ids) {
    std::vector<idx_t> present;
    for (int64_t id : ids)
      if (contains(id)) present.push_back(id);
    // Repeated ids in `ids` are counted once.
    std::sort(present.begin(), present.end());
    present.erase(std::unique(present.begin(), present.end()), present.end());
    if (present.empty()) return 0;
    if (active == VocabIndexKind::kExact) {
      faiss::IDSelectorBatch sel(present.size(), present.data());
      exact->remove_ids(sel);
    } else if (active == VocabIndexKind::kIvf) {
      // The hashtable direct map accepts only an IDSelectorArray (retrieval.md 4.4).
      faiss::IDSelectorArray sel(present.size(), present.data());
      ivf->remove_ids(sel);
    } else {
      for (idx_t id : present) {
        auto it = internal.find(id);
        labels[static_cast<std::size_t>(it->second)] = -1;
        internal.erase(it);
        ++dead;
      }
    }
    return present.size();
  }

  void add(std::span<const int64_t> ids, const float* x) {
    remove(ids);  // replace semantics
    const auto n = static_cast<idx_t>(ids.size());
    if (active == VocabIndexKind::kExact) {
      exact->add_with_ids(n, x, ids.data());
    } else if (active == VocabIndexKind::kIvf) {
      ivf->add_with_ids(n, x, ids.data());
    } else {
      const idx_t base = hnsw->ntotal;
      hnsw->add(n, x);
      for (idx_t i = 0; i < n; ++i) {
        labels.push_back(ids[static_cast<std::size_t>(i)]);
        internal.emplace(ids[static_cast<std::size_t>(i)], base + i);
      }
    }
  }

  // --- search ---------------------------------------------------------------------------------

  std::vector<std::vector<VocabHit>> search(const float* q, std::size_t nq, std::size_t top) const {
    std::vector<std::vector<VocabHit>> out(nq);
    const std::size_t k = std::min(top, size());
    if (k == 0 || nq == 0) return out;
    std::vector<float> dist(nq * k);
    std::vector<idx_t> lab(nq * k);
    const auto n = static_cast<idx_t>(nq);
    const auto kk = static_cast<idx_t>(k);
    if (active == VocabIndexKind::kExact) {
      exact->search(n, q, kk, dist.data(), lab.data());
    } else if (active == VocabIndexKind::kIvf) {
      faiss::SearchParametersIVF params;
      params.nprobe = std::min(opt.nprobe, ivf->nlist);
      ivf->search(n, q, kk, dist.data(), lab.data(), &params);
    } else {
      faiss::SearchParametersHNSW params;
      params.efSearch = opt.ef_search;
      LiveSelector live(labels);
      if (dead > 0) params.sel = &live;
      hnsw->search(n, q, kk, dist.data(), lab.data(), &params);
      for (idx_t& l : lab)
        if (l >= 0) l = labels[static_cast<std::size_t>(l)];
    }
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
    if (options.kind == VocabIndexKind::kHnsw)
      impl_->build_hnsw({}, nullptr);
    else
      impl_->build_exact({}, nullptr);
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
    impl_->add(ids, vectors.data());
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
  return impl_->contains(id);
}
std::size_t DynamicVocab::size() const {
  return impl_->size();
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
  return impl_->active;
}
const DynamicVocabOptions& DynamicVocab::options() const {
  return impl_->opt;
}
std::size_t DynamicVocab::tombstones() const {
  return impl_->dead;
}

std::vector<int64_t> DynamicVocab::ids() const {
  std::vector<int64_t> out;
  out.reserve(size());
  switch (impl_->active) {
    case VocabIndexKind::kExact:
      out.assign(impl_->exact->id_map.begin(), impl_->exact->id_map.end());
      break;
    case VocabIndexKind::kIvf:
      for (const auto& [id, where] : impl_->ivf->direct_map.hashtable) out.push_back(id);
      break;
    default:
      for (const auto& [id, where] : impl_->internal) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<float> DynamicVocab::reconstruct(int64_t id) const {
  if (!contains(id))
    throw Error("DynamicVocab::reconstruct: id " + std::to_string(id) + " is not in the index.");
  std::vector<float> out(impl_->dim());
  guarded("reconstruct", [&] {
    switch (impl_->active) {
      case VocabIndexKind::kExact:
        impl_->exact->reconstruct(id, out.data());
        break;
      case VocabIndexKind::kIvf:
        impl_->ivf->reconstruct(id, out.data());
        break;
      default:
        impl_->hnsw->storage->reconstruct(impl_->internal.at(id), out.data());
    }
  });
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
  if (impl_->hnsw) impl_->hnsw->hnsw.efSearch = ef_search;
}

void DynamicVocab::rebuild() {
  guarded("rebuild", [&] {
    const VocabIndexKind target = impl_->wanted();
    impl_->convert(target);
  });
}

// --- persistence (layout in dynamic_vocab_format.h) --------------------------------------------

namespace {

// Counts what FAISS would write, so that serialized_bytes() needs no buffer.
struct CountingWriter final : faiss::IOWriter {
  std::size_t bytes = 0;
  size_t operator()(const void*, size_t size, size_t nitems) override {
    bytes += size * nitems;
    return nitems;
  }
};

// Appends to a byte vector we own (faiss::VectorIOWriter would need a copy).
struct AppendWriter final : faiss::IOWriter {
  explicit AppendWriter(std::vector<uint8_t>& out) : out_(out) {}
  size_t operator()(const void* ptr, size_t size, size_t nitems) override {
    const auto* p = static_cast<const uint8_t*>(ptr);
    out_.insert(out_.end(), p, p + size * nitems);
    return nitems;
  }
  std::vector<uint8_t>& out_;
};

// Reads FAISS's part of the file in place; a short read makes FAISS throw.
struct SpanReader final : faiss::IOReader {
  explicit SpanReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  size_t operator()(void* ptr, size_t size, size_t nitems) override {
    if (size == 0 || nitems == 0) return 0;
    const std::size_t available = (bytes_.size() - pos_) / size;
    const std::size_t n = std::min(nitems, available);
    std::copy_n(bytes_.data() + pos_, n * size, static_cast<uint8_t*>(ptr));
    pos_ += n * size;
    return n;
  }
  std::span<const uint8_t> bytes_;
  std::size_t pos_ = 0;
};

}  // namespace

std::vector<uint8_t> DynamicVocab::serialize() const {
  const Impl& m = *impl_;
  vocab_format::Header h = vocab_format::header_of(m.opt, m.active, m.trained_size);
  std::vector<uint8_t> out;
  out.reserve(serialized_bytes());
  vocab_format::put_header(h, out);
  vocab_format::put_u64(m.labels.size(), out);
  for (int64_t l : m.labels) vocab_format::put_u64(static_cast<uint64_t>(l), out);
  const std::size_t length_at = out.size();
  vocab_format::put_u64(0, out);
  const faiss::Index* index = m.exact ? static_cast<const faiss::Index*>(m.exact.get())
                              : m.ivf ? static_cast<const faiss::Index*>(m.ivf.get())
                                      : static_cast<const faiss::Index*>(m.hnsw.get());
  AppendWriter writer(out);
  guarded("serialize", [&] { faiss::write_index(index, &writer); });
  const uint64_t blob = out.size() - length_at - 8;
  for (int i = 0; i < 8; ++i)
    out[length_at + static_cast<std::size_t>(i)] = static_cast<uint8_t>(blob >> (8 * i));
  vocab_format::append_checksum(out);
  return out;
}

std::size_t DynamicVocab::serialized_bytes() const {
  const Impl& m = *impl_;
  const faiss::Index* index = m.exact ? static_cast<const faiss::Index*>(m.exact.get())
                              : m.ivf ? static_cast<const faiss::Index*>(m.ivf.get())
                                      : static_cast<const faiss::Index*>(m.hnsw.get());
  CountingWriter counter;
  guarded("serialized_bytes", [&] { faiss::write_index(index, &counter); });
  return vocab_format::kHeaderBytes + 8 + 8 * m.labels.size() + 8 + counter.bytes +
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

  auto impl = std::make_unique<Impl>(h.options);
  uint64_t nlabels = 0;
  if (!c.u64(nlabels)) return fail(c.pos, "file ends inside the label count");
  if (nlabels > c.left() / 8)
    return fail(c.pos, "label count " + std::to_string(nlabels) + " exceeds the file");
  impl->labels.resize(nlabels);
  for (uint64_t i = 0; i < nlabels; ++i) {
    uint64_t v = 0;
    c.u64(v);
    impl->labels[i] = static_cast<int64_t>(v);
    if (impl->labels[i] < -1)
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

  // FAISS parses its own part; it throws on what it cannot read.
  std::unique_ptr<faiss::Index> index;
  try {
    SpanReader reader(bytes.subspan(blob_at, blob_bytes));
    index.reset(faiss::read_index(&reader));
    if (reader.pos_ != blob_bytes)
      return fail(blob_at + reader.pos_, "FAISS index ends before its stated length");
  } catch (const faiss::FaissException& e) {
    return fail(blob_at, "FAISS could not read the index: " + e.msg);
  } catch (const std::exception& e) {
    return fail(blob_at, std::string("FAISS could not read the index: ") + e.what());
  }

  // The index must be what the header says, with consistent id maps.
  const auto metric = faiss_metric(h.options.metric);
  if (index->d != h.options.dim || index->metric_type != metric)
    return fail(blob_at, "FAISS index dimension/metric (" + std::to_string(index->d) +
                             ") disagree with the header (" + std::to_string(h.options.dim) + ")");
  impl->active = h.active;
  impl->trained_size = h.trained_size;
  switch (h.active) {
    case VocabIndexKind::kExact: {
      auto* p = dynamic_cast<faiss::IndexIDMap2*>(index.get());
      if (p == nullptr || dynamic_cast<faiss::IndexFlat*>(p->index) == nullptr)
        return fail(blob_at, "header says exact but the FAISS index is not IDMap2 over Flat");
      if (nlabels != 0) return fail(vocab_format::kHeaderBytes, "exact index with labels");
      if (p->rev_map.size() != p->id_map.size())
        return fail(blob_at, "exact index has repeated ids");
      index.release();
      impl->exact.reset(p);
      break;
    }
    case VocabIndexKind::kIvf: {
      auto* p = dynamic_cast<faiss::IndexIVFFlat*>(index.get());
      if (p == nullptr) return fail(blob_at, "header says ivf but the FAISS index is not IVFFlat");
      if (p->direct_map.type != faiss::DirectMap::Hashtable ||
          p->direct_map.hashtable.size() != static_cast<std::size_t>(p->ntotal))
        return fail(blob_at, "IVF index lacks a complete hashtable direct map");
      if (nlabels != 0) return fail(vocab_format::kHeaderBytes, "ivf index with labels");
      index.release();
      impl->ivf.reset(p);
      break;
    }
    default: {
      auto* p = dynamic_cast<faiss::IndexHNSWFlat*>(index.get());
      if (p == nullptr)
        return fail(blob_at, "header says hnsw but the FAISS index is not HNSWFlat");
      if (static_cast<uint64_t>(p->ntotal) != nlabels)
        return fail(vocab_format::kHeaderBytes, std::to_string(nlabels) +
                                                    " labels for an HNSW graph of " +
                                                    std::to_string(p->ntotal) + " nodes");
      for (std::size_t i = 0; i < impl->labels.size(); ++i) {
        const int64_t l = impl->labels[i];
        if (l < 0) {
          ++impl->dead;
        } else if (!impl->internal.emplace(l, static_cast<idx_t>(i)).second) {
          return fail(vocab_format::kHeaderBytes + 8 + 8 * i,
                      "id " + std::to_string(l) + " labels two live HNSW nodes");
        }
      }
      index.release();
      impl->hnsw.reset(p);
      impl->hnsw->hnsw.efSearch = h.options.ef_search;
    }
  }
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

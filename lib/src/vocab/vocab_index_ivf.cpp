// IVF: IndexIVFFlat holding the external ids itself, with a hashtable direct map for
// reconstruct and removal. Never wrapped in IndexIDMap/IDMap2, which returns wrong ids after
// remove_ids (docs/vocab.md, FAISS 1.7.3 notes).
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/invlists/DirectMap.h>

#include <algorithm>
#include <cmath>

#include "vocab/vocab_index.h"

namespace residue {
namespace {

class IvfIndex final : public FaissIdsIndex<faiss::IndexIVFFlat> {
 public:
  IvfIndex(std::unique_ptr<faiss::IndexIVFFlat> index, uint64_t trained_size)
      : FaissIdsIndex(std::move(index)), trained_size_(trained_size) {}

  VocabIndexKind kind() const override { return VocabIndexKind::kIvf; }
  bool contains(int64_t id) const override { return index_->direct_map.hashtable.count(id) != 0; }
  std::vector<int64_t> ids() const override { return keys_of(index_->direct_map.hashtable); }

  void remove(std::span<const idx_t> ids) override {
    // The hashtable direct map accepts only an IDSelectorArray (docs/vocab.md, FAISS 1.7.3
    // notes).
    faiss::IDSelectorArray sel(ids.size(), ids.data());
    index_->remove_ids(sel);
  }

  void search(const float* q, idx_t nq, idx_t k, float* dist, idx_t* labels,
              const DynamicVocabOptions& opt) const override {
    faiss::SearchParametersIVF params;
    params.nprobe = std::min(opt.nprobe, index_->nlist);
    index_->search(nq, q, k, dist, labels, &params);
  }

  bool needs_rebuild(const DynamicVocabOptions& opt) const override {
    return static_cast<double>(size()) > opt.ivf_regrow * static_cast<double>(trained_size_);
  }
  uint64_t trained_size() const override { return trained_size_; }

 private:
  void append_entries(std::vector<int64_t>& ids, std::vector<float>& x) const override {
    const faiss::InvertedLists* lists = index_->invlists;
    for (std::size_t l = 0; l < lists->nlist; ++l) {
      const std::size_t len = lists->list_size(l);
      if (len == 0) continue;
      faiss::InvertedLists::ScopedIds list_ids(lists, l);
      faiss::InvertedLists::ScopedCodes codes(lists, l);
      ids.insert(ids.end(), list_ids.get(), list_ids.get() + len);
      const auto* v = reinterpret_cast<const float*>(codes.get());
      x.insert(x.end(), v, v + len * static_cast<std::size_t>(index_->d));
    }
  }

  uint64_t trained_size_;  // entries the quantizer was trained on
};

}  // namespace

std::size_t ivf_lists_for(std::size_t size) {
  if (size < 2) return 1;
  const double target = 4.0 * std::sqrt(static_cast<double>(size));
  std::size_t lists = std::size_t{1} << static_cast<int>(std::lround(std::log2(target)));
  const std::size_t cap = std::max<std::size_t>(1, size / 39);
  while (lists > cap && lists > 1) lists /= 2;
  return lists;
}

std::unique_ptr<VocabIndex> make_ivf_index(const DynamicVocabOptions& opt,
                                           std::span<const int64_t> ids, const float* x) {
  const std::size_t n = ids.size();
  std::size_t lists = opt.ivf_lists != 0 ? opt.ivf_lists : ivf_lists_for(n);
  lists = std::clamp<std::size_t>(lists, 1, std::max<std::size_t>(n, 1));
  const faiss::MetricType metric = faiss_metric(opt.metric);
  auto quantizer = std::make_unique<faiss::IndexFlat>(opt.dim, metric);
  auto index = std::make_unique<faiss::IndexIVFFlat>(
      quantizer.get(), static_cast<std::size_t>(opt.dim), lists, metric);
  quantizer.release();
  index->own_fields = true;
  // FAISS samples at most this many points per centroid for k-means (its default, 256,
  // would train on all of 1M x 64 for 4096 lists); 64 keeps training at 1M to 1-2 minutes.
  index->cp.max_points_per_centroid = static_cast<int>(opt.ivf_train_per_list);
  if (n > 0) index->train(static_cast<idx_t>(n), x);
  // reconstruct(id) and removal by id need the id -> (list, offset) map; with arbitrary ids
  // only the hashtable kind works (docs/vocab.md, FAISS 1.7.3 notes).
  index->set_direct_map_type(faiss::DirectMap::Hashtable);
  if (n > 0) index->add_with_ids(static_cast<idx_t>(n), x, ids.data());
  return std::make_unique<IvfIndex>(std::move(index), n);
}

ParseResult<std::unique_ptr<VocabIndex>> read_ivf_index(const DynamicVocabOptions& /*opt*/,
                                                        std::unique_ptr<faiss::Index>& index,
                                                        StoredVocabIndex& stored) {
  auto* p = dynamic_cast<faiss::IndexIVFFlat*>(index.get());
  if (p == nullptr)
    return ParseError{"header says ivf but the FAISS index is not IVFFlat", stored.index_at};
  if (p->direct_map.type != faiss::DirectMap::Hashtable ||
      p->direct_map.hashtable.size() != static_cast<std::size_t>(p->ntotal))
    return ParseError{"IVF index lacks a complete hashtable direct map", stored.index_at};
  if (!stored.labels.empty()) return ParseError{"ivf index with labels", stored.labels_at};
  index.release();
  return std::unique_ptr<VocabIndex>(
      std::make_unique<IvfIndex>(std::unique_ptr<faiss::IndexIVFFlat>(p), stored.trained_size));
}

}  // namespace residue

// HNSW: IndexHNSWFlat, which can neither remove nor take ids (docs/vocab.md, FAISS 1.7.3
// notes). We keep the node -> id labels ourselves; a removed node becomes a tombstone that an
// IDSelector filters out at search time, until the graph is rebuilt without them.
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/IDSelector.h>

#include <optional>
#include <string>
#include <unordered_map>

#include "vocab/vocab_index.h"

namespace residue {
namespace {

// Internal ids whose label is -1 are not members. Reading the label vector directly costs no
// allocation per search (an IDSelectorBatch would be rebuilt each time).
struct LiveSelector final : faiss::IDSelector {
  explicit LiveSelector(const std::vector<int64_t>& labels) : labels_(labels) {}
  bool is_member(idx_t id) const override {
    return id >= 0 && static_cast<std::size_t>(id) < labels_.size() &&
           labels_[static_cast<std::size_t>(id)] >= 0;
  }
  const std::vector<int64_t>& labels_;
};

class HnswIndex final : public VocabIndex {
 public:
  // labels: node -> external id, -1 for a tombstone. A corrupt file may give one id to two
  // live nodes; repeated() then names the second.
  HnswIndex(std::unique_ptr<faiss::IndexHNSWFlat> index, std::vector<int64_t> labels)
      : index_(std::move(index)), labels_(std::move(labels)) {
    internal_.reserve(labels_.size());
    for (std::size_t i = 0; i < labels_.size(); ++i) {
      if (labels_[i] < 0)
        ++dead_;
      else if (!internal_.emplace(labels_[i], static_cast<idx_t>(i)).second && !repeated_)
        repeated_ = i;
    }
  }
  std::optional<std::size_t> repeated() const { return repeated_; }

  VocabIndexKind kind() const override { return VocabIndexKind::kHnsw; }
  std::size_t size() const override { return static_cast<std::size_t>(index_->ntotal) - dead_; }
  bool contains(int64_t id) const override { return internal_.count(id) != 0; }

  std::vector<int64_t> ids() const override { return keys_of(internal_); }

  void reconstruct(int64_t id, float* out) const override {
    index_->storage->reconstruct(internal_.at(id), out);
  }

  void add(std::span<const int64_t> ids, const float* x) override {
    const idx_t base = index_->ntotal;
    index_->add(static_cast<idx_t>(ids.size()), x);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      labels_.push_back(ids[i]);
      internal_.emplace(ids[i], base + static_cast<idx_t>(i));
    }
  }

  void remove(std::span<const idx_t> ids) override {
    for (idx_t id : ids) {
      auto it = internal_.find(id);
      labels_[static_cast<std::size_t>(it->second)] = -1;
      internal_.erase(it);
      ++dead_;
    }
  }

  void search(const float* q, idx_t nq, idx_t k, float* dist, idx_t* labels,
              const DynamicVocabOptions& opt) const override {
    faiss::SearchParametersHNSW params;
    params.efSearch = opt.ef_search;
    LiveSelector live(labels_);
    if (dead_ > 0) params.sel = &live;
    index_->search(nq, q, k, dist, labels, &params);
    for (idx_t i = 0; i < nq * k; ++i)
      if (labels[i] >= 0) labels[i] = labels_[static_cast<std::size_t>(labels[i])];
  }

  void set_ef_search(int ef_search) override { index_->hnsw.efSearch = ef_search; }

  bool needs_rebuild(const DynamicVocabOptions& opt) const override {
    return static_cast<double>(dead_) >
           opt.max_tombstone_fraction * static_cast<double>(index_->ntotal);
  }
  std::size_t tombstones() const override { return dead_; }
  std::span<const int64_t> labels() const override { return labels_; }
  const faiss::Index& faiss_index() const override { return *index_; }

 private:
  void append_entries(std::vector<int64_t>& ids, std::vector<float>& x) const override {
    const std::size_t d = static_cast<std::size_t>(index_->d);
    const float* rows = static_cast<const faiss::IndexFlat*>(index_->storage)->get_xb();
    for (std::size_t i = 0; i < labels_.size(); ++i) {
      if (labels_[i] < 0) continue;
      ids.push_back(labels_[i]);
      x.insert(x.end(), rows + i * d, rows + (i + 1) * d);
    }
  }

  std::unique_ptr<faiss::IndexHNSWFlat> index_;
  std::vector<int64_t> labels_;                  // node -> external id, -1 = tombstone
  std::unordered_map<int64_t, idx_t> internal_;  // external id -> node (live only)
  std::size_t dead_ = 0;                         // tombstones
  std::optional<std::size_t> repeated_;
};

}  // namespace

std::unique_ptr<VocabIndex> make_hnsw_index(const DynamicVocabOptions& opt,
                                            std::span<const int64_t> ids, const float* x) {
  auto index =
      std::make_unique<faiss::IndexHNSWFlat>(opt.dim, opt.hnsw_m, faiss_metric(opt.metric));
  index->hnsw.efConstruction = opt.ef_construction;
  index->hnsw.efSearch = opt.ef_search;
  if (!ids.empty()) index->add(static_cast<idx_t>(ids.size()), x);
  return std::make_unique<HnswIndex>(std::move(index),
                                     std::vector<int64_t>(ids.begin(), ids.end()));
}

ParseResult<std::unique_ptr<VocabIndex>> read_hnsw_index(const DynamicVocabOptions& opt,
                                                         std::unique_ptr<faiss::Index>& index,
                                                         StoredVocabIndex& stored) {
  auto* p = dynamic_cast<faiss::IndexHNSWFlat*>(index.get());
  if (p == nullptr)
    return ParseError{"header says hnsw but the FAISS index is not HNSWFlat", stored.index_at};
  if (static_cast<std::size_t>(p->ntotal) != stored.labels.size())
    return ParseError{std::to_string(stored.labels.size()) + " labels for an HNSW graph of " +
                          std::to_string(p->ntotal) + " nodes",
                      stored.labels_at};
  index.release();
  auto hnsw = std::make_unique<HnswIndex>(std::unique_ptr<faiss::IndexHNSWFlat>(p),
                                          std::move(stored.labels));
  if (const std::optional<std::size_t> node = hnsw->repeated())
    return ParseError{"id " + std::to_string(hnsw->labels()[*node]) + " labels two live HNSW nodes",
                      stored.labels_at + 8 + 8 * *node};
  hnsw->set_ef_search(opt.ef_search);
  return std::unique_ptr<VocabIndex>(std::move(hnsw));
}

}  // namespace residue

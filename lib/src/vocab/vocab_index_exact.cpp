// Exact search: IndexIDMap2 over IndexFlat. Flat renumbers on removal and IDMap2 compacts its
// id map the same way, so ids stay right (docs/vocab.md, FAISS 1.7.3 notes).
#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/impl/IDSelector.h>

#include "vocab/vocab_index.h"

namespace residue {
namespace {

class ExactIndex final : public VocabIndex {
 public:
  explicit ExactIndex(std::unique_ptr<faiss::IndexIDMap2> index) : index_(std::move(index)) {}

  VocabIndexKind kind() const override { return VocabIndexKind::kExact; }
  std::size_t size() const override { return static_cast<std::size_t>(index_->ntotal); }
  bool contains(int64_t id) const override { return index_->rev_map.count(id) != 0; }
  std::vector<int64_t> ids() const override {
    return {index_->id_map.begin(), index_->id_map.end()};
  }

  void collect(std::vector<int64_t>& ids, std::vector<float>& x) const override {
    ids.assign(index_->id_map.begin(), index_->id_map.end());
    const auto* flat = static_cast<const faiss::IndexFlat*>(index_->index);
    x.assign(flat->get_xb(), flat->get_xb() + ids.size() * static_cast<std::size_t>(index_->d));
  }

  void reconstruct(int64_t id, float* out) const override { index_->reconstruct(id, out); }

  void add(std::span<const int64_t> ids, const float* x) override {
    index_->add_with_ids(static_cast<idx_t>(ids.size()), x, ids.data());
  }

  void remove(std::span<const idx_t> ids) override {
    faiss::IDSelectorBatch sel(ids.size(), ids.data());
    index_->remove_ids(sel);
  }

  void search(const float* q, idx_t nq, idx_t k, float* dist, idx_t* labels,
              const DynamicVocabOptions& /*opt*/) const override {
    index_->search(nq, q, k, dist, labels);
  }

  bool needs_rebuild(const DynamicVocabOptions& /*opt*/) const override { return false; }
  const faiss::Index& faiss_index() const override { return *index_; }

 private:
  std::unique_ptr<faiss::IndexIDMap2> index_;  // owns its IndexFlat
};

}  // namespace

std::unique_ptr<VocabIndex> make_exact_index(const DynamicVocabOptions& opt,
                                             std::span<const int64_t> ids, const float* x) {
  auto flat = std::make_unique<faiss::IndexFlat>(opt.dim, faiss_metric(opt.metric));
  auto map = std::make_unique<faiss::IndexIDMap2>(flat.get());
  flat.release();
  map->own_fields = true;
  if (!ids.empty()) map->add_with_ids(static_cast<idx_t>(ids.size()), x, ids.data());
  return std::make_unique<ExactIndex>(std::move(map));
}

ParseResult<std::unique_ptr<VocabIndex>> read_exact_index(const DynamicVocabOptions& /*opt*/,
                                                          StoredVocabIndex& stored) {
  auto* p = dynamic_cast<faiss::IndexIDMap2*>(stored.index.get());
  if (p == nullptr || dynamic_cast<faiss::IndexFlat*>(p->index) == nullptr)
    return ParseError{"header says exact but the FAISS index is not IDMap2 over Flat",
                      stored.index_at};
  if (!stored.labels.empty()) return ParseError{"exact index with labels", stored.labels_at};
  if (p->rev_map.size() != p->id_map.size())
    return ParseError{"exact index has repeated ids", stored.index_at};
  stored.index.release();
  return std::unique_ptr<VocabIndex>(
      std::make_unique<ExactIndex>(std::unique_ptr<faiss::IndexIDMap2>(p)));
}

}  // namespace residue

// Exact search: IndexIDMap2 over IndexFlat. Flat renumbers on removal and IDMap2 compacts its
// id map the same way, so ids stay right (docs/vocab.md, FAISS 1.7.3 notes).
#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/impl/IDSelector.h>

#include "vocab/vocab_index.h"

namespace residue {
namespace {

class ExactIndex final : public FaissIdsIndex<faiss::IndexIDMap2> {
 public:
  explicit ExactIndex(std::unique_ptr<faiss::IndexIDMap2> index)
      : FaissIdsIndex(std::move(index)) {}

  VocabIndexKind kind() const override { return VocabIndexKind::kExact; }
  bool contains(int64_t id) const override { return index_->rev_map.count(id) != 0; }
  std::vector<int64_t> ids() const override { return index_->id_map; }

  void remove(std::span<const idx_t> ids) override {
    faiss::IDSelectorBatch sel(ids.size(), ids.data());
    index_->remove_ids(sel);
  }

  void search(const float* q, idx_t nq, idx_t k, float* dist, idx_t* labels,
              const DynamicVocabOptions& /*opt*/) const override {
    index_->search(nq, q, k, dist, labels);
  }

  bool needs_rebuild(const DynamicVocabOptions& /*opt*/) const override { return false; }

 private:
  void append_entries(std::vector<int64_t>& ids, std::vector<float>& x) const override {
    ids.insert(ids.end(), index_->id_map.begin(), index_->id_map.end());
    const float* rows = static_cast<const faiss::IndexFlat*>(index_->index)->get_xb();
    x.insert(x.end(), rows, rows + ids.size() * static_cast<std::size_t>(index_->d));
  }
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
                                                          std::unique_ptr<faiss::Index>& index,
                                                          StoredVocabIndex& stored) {
  auto* p = dynamic_cast<faiss::IndexIDMap2*>(index.get());
  if (p == nullptr || dynamic_cast<faiss::IndexFlat*>(p->index) == nullptr)
    return ParseError{"header says exact but the FAISS index is not IDMap2 over Flat",
                      stored.index_at};
  if (!stored.labels.empty()) return ParseError{"exact index with labels", stored.labels_at};
  if (p->rev_map.size() != p->id_map.size())
    return ParseError{"exact index has repeated ids", stored.index_at};
  index.release();
  return std::unique_ptr<VocabIndex>(
      std::make_unique<ExactIndex>(std::unique_ptr<faiss::IndexIDMap2>(p)));
}

}  // namespace residue

// VocabIndex: the FAISS structure behind a DynamicVocab, one class per kind (exact, IVF, HNSW),
// each in its own file. make_vocab_index() and read_vocab_index() are the one place that picks
// a class by kind. Internal to the library; DynamicVocab decides when to rebuild and which kind.
#pragma once

#include <faiss/Index.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "residue/core/error.h"
#include "residue/vocab/dynamic_vocab.h"

namespace residue {

// FAISS 1.7.3 has no namespace-level faiss::idx_t (docs/vocab.md, FAISS 1.7.3 notes).
using idx_t = faiss::Index::idx_t;

class VocabIndex {
 public:
  virtual ~VocabIndex() = default;

  virtual VocabIndexKind kind() const = 0;
  /// Live entries (tombstones excluded).
  virtual std::size_t size() const = 0;
  virtual bool contains(int64_t id) const = 0;
  /// Live ids, in no particular order.
  virtual std::vector<int64_t> ids() const = 0;
  /// Every live entry in storage order: ids, and their vectors row-major (size ids x dim).
  void collect(std::vector<int64_t>& ids, std::vector<float>& x) const;
  /// Copies the stored vector of `id` to out (dim floats). REQUIRES: contains(id).
  virtual void reconstruct(int64_t id, float* out) const = 0;

  /// Adds ids.size() entries, none of them present; x is row-major, ids.size() x dim.
  virtual void add(std::span<const int64_t> ids, const float* x) = 0;
  /// REQUIRES: `ids` are present, sorted and distinct.
  virtual void remove(std::span<const idx_t> ids) = 0;

  /// FAISS's contract: nq x k results, nearest first, external ids, -1 where none.
  /// REQUIRES: 0 < k <= size(). opt gives the search-time nprobe / ef_search.
  virtual void search(const float* q, idx_t nq, idx_t k, float* dist, idx_t* labels,
                      const DynamicVocabOptions& opt) const = 0;
  /// HNSW keeps ef_search inside its FAISS index too, where the file stores it.
  virtual void set_ef_search(int /*ef_search*/) {}

  /// The structure should be rebuilt from its live entries (an IVF grown past its training
  /// size, an HNSW with too many tombstones).
  virtual bool needs_rebuild(const DynamicVocabOptions& opt) const = 0;
  /// HNSW: removed nodes still in the graph.
  virtual std::size_t tombstones() const { return 0; }

  // What the file holds besides the options (layout in retrieval/dynamic_vocab_format.h).
  /// IVF: the entries it was trained on.
  virtual uint64_t trained_size() const { return 0; }
  /// HNSW: node -> external id, -1 for a tombstone.
  virtual std::span<const int64_t> labels() const { return {}; }
  /// Appends the FAISS index as faiss::write_index writes it.
  void write(std::vector<uint8_t>& out) const;
  /// The bytes write() appends, counted without a buffer.
  std::size_t written_bytes() const;
  virtual const faiss::Index& faiss_index() const = 0;

 private:
  /// collect() after it emptied and reserved the buffers.
  virtual void append_entries(std::vector<int64_t>& ids, std::vector<float>& x) const = 0;
};

/// Exact and IVF: the FAISS index holds the external ids itself.
template <typename FaissIndex>
class FaissIdsIndex : public VocabIndex {
 public:
  std::size_t size() const override { return static_cast<std::size_t>(index_->ntotal); }
  void reconstruct(int64_t id, float* out) const override { index_->reconstruct(id, out); }
  void add(std::span<const int64_t> ids, const float* x) override {
    index_->add_with_ids(static_cast<idx_t>(ids.size()), x, ids.data());
  }
  const faiss::Index& faiss_index() const override { return *index_; }

 protected:
  explicit FaissIdsIndex(std::unique_ptr<FaissIndex> index) : index_(std::move(index)) {}
  std::unique_ptr<FaissIndex> index_;
};

/// The keys of an id -> position map.
template <typename Map>
std::vector<int64_t> keys_of(const Map& map) {
  std::vector<int64_t> out;
  out.reserve(map.size());
  for (const auto& entry : map) out.push_back(entry.first);
  return out;
}

/// Builds the structure `kind` over ids.size() entries x (row-major). Throws Error when `kind`
/// is not exact, ivf or hnsw; FAISS's own exceptions pass through.
std::unique_ptr<VocabIndex> make_vocab_index(VocabIndexKind kind, const DynamicVocabOptions& opt,
                                             std::span<const int64_t> ids, const float* x);

/// A structure as a file stores it; the offsets place errors in the file.
struct StoredVocabIndex {
  std::span<const uint8_t> bytes;  ///< what write() appended
  std::vector<int64_t> labels;     ///< HNSW node labels; empty for the others
  uint64_t trained_size = 0;
  std::size_t index_at = 0;   ///< offset of `bytes`
  std::size_t labels_at = 0;  ///< offset of the label count; label i is at labels_at + 8 + 8 i
};

/// Reads a stored structure and checks that it is what make_vocab_index(kind, opt) builds
/// (FAISS type, dimension, metric, consistent ids). FAISS's exceptions become ParseErrors;
/// throws Error like make_vocab_index on a kind that is not a structure.
ParseResult<std::unique_ptr<VocabIndex>> read_vocab_index(VocabIndexKind kind,
                                                          const DynamicVocabOptions& opt,
                                                          StoredVocabIndex stored);

faiss::MetricType faiss_metric(VocabMetric metric);

// One pair per kind, each in vocab_index_<kind>.cpp; reached only through the two above.
std::unique_ptr<VocabIndex> make_exact_index(const DynamicVocabOptions& opt,
                                             std::span<const int64_t> ids, const float* x);
std::unique_ptr<VocabIndex> make_ivf_index(const DynamicVocabOptions& opt,
                                           std::span<const int64_t> ids, const float* x);
std::unique_ptr<VocabIndex> make_hnsw_index(const DynamicVocabOptions& opt,
                                            std::span<const int64_t> ids, const float* x);
ParseResult<std::unique_ptr<VocabIndex>> read_exact_index(const DynamicVocabOptions& opt,
                                                          std::unique_ptr<faiss::Index>& index,
                                                          StoredVocabIndex& stored);
ParseResult<std::unique_ptr<VocabIndex>> read_ivf_index(const DynamicVocabOptions& opt,
                                                        std::unique_ptr<faiss::Index>& index,
                                                        StoredVocabIndex& stored);
ParseResult<std::unique_ptr<VocabIndex>> read_hnsw_index(const DynamicVocabOptions& opt,
                                                         std::unique_ptr<faiss::Index>& index,
                                                         StoredVocabIndex& stored);

}  // namespace residue

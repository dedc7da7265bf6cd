#include "vocab/vocab_index.h"

#include <string>
#include <utility>

namespace residue {
namespace {

// The one place that picks a structure by kind; kAuto is a policy over them, not one of them.
struct Backend {
  VocabIndexKind kind;
  std::unique_ptr<VocabIndex> (*make)(const DynamicVocabOptions&, std::span<const int64_t>,
                                      const float*);
  ParseResult<std::unique_ptr<VocabIndex>> (*read)(const DynamicVocabOptions&, StoredVocabIndex&);
};

constexpr Backend kBackends[] = {
    {VocabIndexKind::kExact, make_exact_index, read_exact_index},
    {VocabIndexKind::kIvf, make_ivf_index, read_ivf_index},
    {VocabIndexKind::kHnsw, make_hnsw_index, read_hnsw_index},
};

const Backend& backend(VocabIndexKind kind) {
  for (const Backend& b : kBackends)
    if (b.kind == kind) return b;
  throw Error("VocabIndex: kind " + std::to_string(static_cast<int>(kind)) + " ('" +
              std::string(to_string(kind)) + "') is not a structure: exact, ivf or hnsw.");
}

}  // namespace

void VocabIndex::collect(std::vector<int64_t>& ids, std::vector<float>& x) const {
  ids.clear();
  x.clear();
  ids.reserve(size());
  x.reserve(size() * static_cast<std::size_t>(faiss_index().d));
  append_entries(ids, x);
}

faiss::MetricType faiss_metric(VocabMetric metric) {
  return metric == VocabMetric::kL2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
}

std::unique_ptr<VocabIndex> make_vocab_index(VocabIndexKind kind, const DynamicVocabOptions& opt,
                                             std::span<const int64_t> ids, const float* x) {
  return backend(kind).make(opt, ids, x);
}

ParseResult<std::unique_ptr<VocabIndex>> read_vocab_index(VocabIndexKind kind,
                                                          const DynamicVocabOptions& opt,
                                                          StoredVocabIndex stored) {
  const Backend& b = backend(kind);
  const faiss::Index& index = *stored.index;
  if (index.d != opt.dim || index.metric_type != faiss_metric(opt.metric))
    return ParseError{"FAISS index dimension/metric (" + std::to_string(index.d) +
                          ") disagree with the header (" + std::to_string(opt.dim) + ")",
                      stored.index_at};
  return b.read(opt, stored);
}

}  // namespace residue

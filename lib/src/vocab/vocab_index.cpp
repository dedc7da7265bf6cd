#include "vocab/vocab_index.h"

#include <string>
#include <utility>

namespace residue {
namespace {

struct Backend {
  std::unique_ptr<VocabIndex> (*make)(const DynamicVocabOptions&, std::span<const int64_t>,
                                      const float*);
  ParseResult<std::unique_ptr<VocabIndex>> (*read)(const DynamicVocabOptions&, StoredVocabIndex&);
};

// The one switch on the kind of structure.
const Backend& backend(VocabIndexKind kind) {
  static constexpr Backend kExact{make_exact_index, read_exact_index};
  static constexpr Backend kIvf{make_ivf_index, read_ivf_index};
  static constexpr Backend kHnsw{make_hnsw_index, read_hnsw_index};
  switch (kind) {
    case VocabIndexKind::kExact:
      return kExact;
    case VocabIndexKind::kIvf:
      return kIvf;
    case VocabIndexKind::kHnsw:
      return kHnsw;
    case VocabIndexKind::kAuto:
      break;  // a policy over the structures, not one of them
  }
  throw Error("VocabIndex: kind " + std::to_string(static_cast<int>(kind)) + " ('" +
              std::string(to_string(kind)) + "') is not a structure: exact, ivf or hnsw.");
}

}  // namespace

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

#include "vocab/vocab_index.h"

#include <faiss/impl/FaissException.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

namespace residue {
namespace {

// The one place that picks a structure by kind; kAuto is a policy over them, not one of them.
struct Backend {
  VocabIndexKind kind;
  std::unique_ptr<VocabIndex> (*make)(const DynamicVocabOptions&, std::span<const int64_t>,
                                      const float*);
  ParseResult<std::unique_ptr<VocabIndex>> (*read)(const DynamicVocabOptions&,
                                                   std::unique_ptr<faiss::Index>&,
                                                   StoredVocabIndex&);
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

// Counts what FAISS would write, so that written_bytes() needs no buffer.
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

void VocabIndex::write(std::vector<uint8_t>& out) const {
  AppendWriter writer(out);
  faiss::write_index(&faiss_index(), &writer);
}

std::size_t VocabIndex::written_bytes() const {
  CountingWriter counter;
  faiss::write_index(&faiss_index(), &counter);
  return counter.bytes;
}

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
  // FAISS parses its own part; it throws on what it cannot read.
  std::unique_ptr<faiss::Index> index;
  try {
    SpanReader reader(stored.bytes);
    index.reset(faiss::read_index(&reader));
    if (reader.pos_ != stored.bytes.size())
      return ParseError{"FAISS index ends before its stated length", stored.index_at + reader.pos_};
  } catch (const faiss::FaissException& e) {
    return ParseError{"FAISS could not read the index: " + e.msg, stored.index_at};
  } catch (const std::exception& e) {
    return ParseError{std::string("FAISS could not read the index: ") + e.what(), stored.index_at};
  }
  if (index->d != opt.dim || index->metric_type != faiss_metric(opt.metric))
    return ParseError{"FAISS index dimension/metric (" + std::to_string(index->d) +
                          ") disagree with the header (" + std::to_string(opt.dim) + ")",
                      stored.index_at};
  return b.read(opt, index, stored);
}

}  // namespace residue

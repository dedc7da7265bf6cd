// DynamicVocab: a FAISS index of vectors under stable 64-bit ids that grows and shrinks, the
// nearest-neighbour / maximum-inner-product lookup behind the dynamic vocabulary.
//
// Three structures, chosen at construction or automatically by size (kAuto); the FAISS 1.7.3
// behaviour behind each choice is in docs/vocab.md, FAISS 1.7.3 notes:
//   exact  IndexIDMap2 over IndexFlat; removals renumber correctly.
//   ivf    IndexIVFFlat holding the ids itself, with a hashtable direct map for reconstruct.
//          Never wrapped in IndexIDMap/IDMap2: after remove_ids that returns wrong ids
//          (dynamic_vocab_test.cpp shows it).
//   hnsw   IndexHNSWFlat, which cannot remove: removed entries become tombstones filtered out
//          by an IDSelector at search time, and the graph is rebuilt without them once they
//          exceed max_tombstone_fraction.
// kAuto serves exact search below auto_threshold entries and `auto_approximate` at or above it
// (with hysteresis: back to exact below half the threshold). An IVF trains its coarse quantizer
// on the entries it holds, so kIvf also serves exact search until ivf_train_min entries, and
// retrains when it has grown ivf_regrow times past its training size.
//
// Adding an id that is present replaces its vector (an upsert: embeddings of a unit change
// between rounds). Ids must be >= 0 (FAISS uses -1 for "no result").
// Thread safety: const methods may run concurrently; anything else needs exclusive access.
// Call set_search_threads() (threads.h) once per program before searching.
//
//   DynamicVocab vocab({.dim = 64, .metric = VocabMetric::kInnerProduct});
//   vocab.add(42, embedding);                   // span of 64 floats
//   for (const VocabHit& h : vocab.search(query, 10)) use(h.id, h.score);
//   vocab.remove(42);
//   vocab.write("vocab.idx");
//   DynamicVocab again = DynamicVocab::read("vocab.idx");  // throws Error saying what and where
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "residue/core/error.h"

namespace residue {

enum class VocabMetric : uint8_t { kL2 = 0, kInnerProduct = 1 };
enum class VocabIndexKind : uint8_t { kExact = 0, kIvf = 1, kHnsw = 2, kAuto = 3 };

std::string_view to_string(VocabMetric metric);
std::string_view to_string(VocabIndexKind kind);
/// "l2" / "ip"; throws Error on anything else.
VocabMetric parse_vocab_metric(std::string_view name);
/// "exact" / "ivf" / "hnsw" / "auto"; throws Error on anything else.
VocabIndexKind parse_vocab_index_kind(std::string_view name);

struct DynamicVocabOptions {
  int dim = 0;  ///< vector dimension, >= 1
  VocabMetric metric = VocabMetric::kInnerProduct;
  VocabIndexKind kind = VocabIndexKind::kAuto;

  // kAuto. At 20k x 64 an exact single query took 0.84 ms (p50, one core). IVF was chosen
  // over HNSW at 1M x 64 (bench/vocab_index_bench.cpp, two clustered data sets): 4096 lists
  // at nprobe 16 gave recall@10 0.978 and 1.0 at 0.39-0.47 ms per query and built in 1-2 min
  // on two cores; HNSW (M 32, efConstruction 40) gave 0.990 at efSearch 64 on the overlapping
  // set but at most 0.946 on the well-separated one, took 7-22 min to build, and cannot remove.
  // Crossing the threshold trains the IVF inside that add() (2.4 s at 20k x 64).
  std::size_t auto_threshold = 20000;
  VocabIndexKind auto_approximate = VocabIndexKind::kIvf;  ///< kIvf or kHnsw

  // IVF. ivf_lists = 0 picks ivf_lists_for(size) at each training (1024 lists instead of
  // 4096 at 1M built 10x faster but needed nprobe 32 and 1.8 ms for 0.96 on the harder data).
  std::size_t ivf_lists = 0;
  std::size_t nprobe = 16;              ///< lists scanned per query (search-time, settable)
  std::size_t ivf_train_min = 10000;    ///< kIvf: entries needed before the first training
  std::size_t ivf_train_per_list = 64;  ///< k-means sample: at most this many points per list
  double ivf_regrow = 4.0;              ///< retrain when size > ivf_regrow x training size

  // HNSW.
  int hnsw_m = 32;
  int ef_construction = 40;
  int ef_search = 64;                    ///< candidate list per query (search-time, settable)
  double max_tombstone_fraction = 0.25;  ///< rebuild when tombstones exceed this share of nodes
};

/// Lists for an IVF trained on `size` vectors: the power of two nearest to 4 sqrt(size), at
/// most size / 39 (FAISS's k-means wants >= 39 points per centroid) and at least 1.
std::size_t ivf_lists_for(std::size_t size);

struct VocabHit {
  int64_t id;
  /// kL2: squared L2 distance (smaller is nearer); kInnerProduct: the inner product (larger
  /// is nearer). Hits come nearest first.
  float score;
};

class DynamicVocab {
 public:
  /// Throws Error on invalid options (dim < 1, nprobe or ef_search 0, ...).
  explicit DynamicVocab(const DynamicVocabOptions& options);
  DynamicVocab(DynamicVocab&&) noexcept;
  DynamicVocab& operator=(DynamicVocab&&) noexcept;
  DynamicVocab(const DynamicVocab&) = delete;
  DynamicVocab& operator=(const DynamicVocab&) = delete;
  ~DynamicVocab();

  /// Adds or replaces one vector. `vector` has dim() floats. Throws Error on id < 0 or a
  /// wrong size.
  void add(int64_t id, std::span<const float> vector);
  /// Adds or replaces ids.size() vectors; `vectors` is row-major, ids.size() x dim().
  /// Throws Error on a negative or repeated id (nothing is added then).
  void add(std::span<const int64_t> ids, std::span<const float> vectors);
  /// Removes `id`; false when it was absent.
  bool remove(int64_t id);
  /// Removes the present ids among `ids`; returns how many were removed.
  std::size_t remove(std::span<const int64_t> ids);

  bool contains(int64_t id) const;
  /// Live entries (tombstones excluded).
  std::size_t size() const;
  int dim() const;
  VocabMetric metric() const;
  /// The configured kind, and the structure currently serving searches (never kAuto).
  VocabIndexKind kind() const;
  VocabIndexKind active_kind() const;
  /// All live ids, ascending.
  std::vector<int64_t> ids() const;
  /// The stored vector of `id` (dim() floats). Throws Error when `id` is absent.
  std::vector<float> reconstruct(int64_t id) const;

  /// The `top` nearest entries to `query` (dim() floats), nearest first; fewer when the
  /// index holds fewer. Exact or approximate according to active_kind().
  std::vector<VocabHit> search(std::span<const float> query, std::size_t top) const;
  /// One result list per row of `queries` (row-major, n x dim()).
  std::vector<std::vector<VocabHit>> search_batch(std::span<const float> queries,
                                                  std::size_t top) const;

  /// Search-time parameters of the approximate structures (also stored in the file).
  void set_nprobe(std::size_t nprobe);
  void set_ef_search(int ef_search);
  const DynamicVocabOptions& options() const;

  /// HNSW: tombstones awaiting the next rebuild (0 for the other structures).
  std::size_t tombstones() const;
  /// Rebuilds the active structure from the live entries: HNSW drops its tombstones, IVF
  /// retrains for the current size. Also re-applies the kAuto choice.
  void rebuild();

  /// The file format: magic "RSDVOCAB", version, options, structure, the FAISS index bytes,
  /// our id map and tombstones (HNSW), then the first 16 bytes of SHA-256 over all of it.
  std::vector<uint8_t> serialize() const;
  /// Bytes serialize() would produce, counted without building them: the index's footprint.
  std::size_t serialized_bytes() const;
  /// Never throws: a malformed, truncated or inconsistent blob gives a ParseError naming the
  /// field and its byte offset (FAISS's own exceptions are caught and reported likewise).
  static ParseResult<DynamicVocab> parse(std::span<const uint8_t> bytes);
  /// Writes serialize() to `path`; throws Error when the file cannot be written.
  void write(const std::string& path) const;
  /// Reads a file written by write(); throws Error "<path>: <what> at byte <offset>".
  static DynamicVocab read(const std::string& path);

 private:
  struct Impl;
  explicit DynamicVocab(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace residue

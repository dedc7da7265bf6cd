#include "residue/memory/codebook_training.h"

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <faiss/impl/FaissException.h>

#include <cmath>
#include <string>
#include <vector>

namespace residue {

Codebook train_codebook(std::span<const float> keys, uint32_t dimension,
                        const CodebookOptions& options) {
  if (dimension == 0) throw Error("codebook: dimension must be at least 1, but is 0.");
  if (options.cells == 0) throw Error("codebook: cells must be at least 1, but is 0.");
  if (options.iterations == 0) throw Error("codebook: iterations must be at least 1, but is 0.");
  if (options.restarts == 0) throw Error("codebook: restarts must be at least 1, but is 0.");
  if (options.max_points_per_centroid == 0) {
    throw Error("codebook: max_points_per_centroid must be at least 1, but is 0.");
  }
  if (keys.size() % dimension != 0) {
    throw Error("codebook: " + std::to_string(keys.size()) +
                " floats are not a whole number of keys of dimension " + std::to_string(dimension) +
                ".");
  }
  const std::size_t n = keys.size() / dimension;
  if (n < options.cells) {
    throw Error("codebook: " + std::to_string(options.cells) +
                " cells need at least as many keys, "
                "but there are " +
                std::to_string(n) + ".");
  }
  faiss::ClusteringParameters params;
  params.niter = static_cast<int>(options.iterations);
  params.nredo = static_cast<int>(options.restarts);
  params.seed = options.seed;
  params.max_points_per_centroid = static_cast<int>(options.max_points_per_centroid);
  params.min_points_per_centroid = 1;  // small training sets are the caller's choice: no warning
  faiss::Clustering clustering(static_cast<int>(dimension), static_cast<int>(options.cells),
                               params);
  faiss::IndexFlatL2 index(static_cast<faiss::Index::idx_t>(dimension));
  clustering.train(static_cast<faiss::Index::idx_t>(n), keys.data(), index);
  return Codebook(dimension, std::move(clustering.centroids));
}

std::vector<uint32_t> assign_cells(const Codebook& codebook, std::span<const float> keys) {
  const uint32_t dimension = codebook.dimension();
  if (keys.size() % dimension != 0) {
    throw Error("codebook: " + std::to_string(keys.size()) +
                " floats are not a whole number of keys of dimension " + std::to_string(dimension) +
                ".");
  }
  const std::size_t n = keys.size() / dimension;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    // FAISS would label a key with a NaN arbitrarily; Codebook::cell() would say cell 0.
    if (!std::isfinite(keys[i])) {
      throw Error("codebook: key " + std::to_string(i / dimension) +
                  " has a value that is not finite.");
    }
  }
  std::vector<uint32_t> cells(n);
  if (n == 0) return cells;
  faiss::IndexFlatL2 index(static_cast<faiss::Index::idx_t>(dimension));
  index.add(static_cast<faiss::Index::idx_t>(codebook.cells()), codebook.centroids().data());
  std::vector<float> distances(n);
  std::vector<faiss::Index::idx_t> labels(n);
  try {
    index.search(static_cast<faiss::Index::idx_t>(n), keys.data(), 1, distances.data(),
                 labels.data());
  } catch (const faiss::FaissException& e) {
    throw Error(std::string("codebook: FAISS search failed: ") + e.what());
  }
  // The codebook has at least one centroid and the keys are finite, so FAISS labels every key.
  for (std::size_t i = 0; i < n; ++i) cells[i] = static_cast<uint32_t>(labels[i]);
  return cells;
}

}  // namespace residue

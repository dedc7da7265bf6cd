#include "residue/memory/codebook_training.h"

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>

#include <string>

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

}  // namespace residue

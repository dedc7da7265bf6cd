// FAISS searches with OpenMP and OpenBLAS spawns its own threads: on a small machine both at
// once oversubscribe the cores (a batched exact search ran 5x slower; docs/memory.md,
// "Threads"). Every program that searches calls set_search_threads() once before its first
// search.
#pragma once

namespace residue {

/// Sets the threads FAISS (OpenMP) uses to `threads` and OpenBLAS to one; 0 keeps OpenMP's
/// default (all cores).
void set_search_threads(int threads);

}  // namespace residue

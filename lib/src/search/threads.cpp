#include "residue/search/threads.h"

#include <omp.h>

// OpenBLAS reads OPENBLAS_NUM_THREADS when it is loaded, too early for a program to set; its
// own setter is called instead. Weak, because the BLAS may be another implementation.
extern "C" void openblas_set_num_threads(int threads) __attribute__((weak));

namespace residue {

void set_search_threads(int threads) {
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(1);
  if (threads > 0) omp_set_num_threads(threads);
}

}  // namespace residue

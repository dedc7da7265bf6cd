// The memory evaluation from Python: what `residue memory eval --json` scores, on the memory's
// own corpus directory or another (tests use tests/data/brown_tiny).
#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "bindings.h"
#include "experiments/brown.h"
#include "residue/memory/memory_evaluation.h"
#include "residue/memory/memory_setup.h"
#include "residue/search/threads.h"

namespace residue::python {

void bind_memory(py::module_& m) {
  m.def(
      "evaluate_memory",
      [](const std::string& memory_file, std::optional<std::string> data_dir, int threads) {
        nlohmann::json json;
        {
          py::gil_scoped_release release;
          set_search_threads(threads);
          const Memory memory = Memory::read(memory_file);
          const Corpus corpus = load_brown(data_dir.value_or(memory.info().data_dir));
          json = evaluate_memory(memory, corpus, memory_base_lm(memory, corpus)).to_json();
        }
        return to_python(json);
      },
      py::arg("memory"), py::arg("data_dir") = py::none(), py::arg("threads") = 0,
      "Test perplexity of every arm of a memory file (written by `residue memory build`), as "
      "`residue memory eval --json` reports it: arms, best_control, gap_closed, timings. "
      "`data_dir`: the Brown corpus directory (default: the one the memory was built from); "
      "`threads`: FAISS threads (0: all cores).");
}

}  // namespace residue::python

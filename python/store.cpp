// A daemon's store from Python: the estimates `residue decode --json` prints, and the task's
// protocol and tally for estimates of every value. Inputs are what `residue decode` and
// `residue reduce` read (aggregator/tool/tally_inputs.h): a data directory (SQLite),
// "postgres:<conninfo>" or a postgresql:// URI, or an exported tally file.
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <utility>

#include "bindings.h"
#include "estimates.h"
#include "tally_inputs.h"
#include "task.h"
#include "verify.h"

namespace residue::python {

void bind_store(py::module_& m) {
  m.def(
      "read_store",
      [](const std::string& input, const std::string& task, std::size_t top,
         std::optional<std::string> dictionary, const std::string& postprocess) {
        nlohmann::json json;
        {
          py::gil_scoped_release release;
          std::optional<Domain> domain;
          if (dictionary) domain = load_dictionary(*dictionary);
          json = to_json(
              estimate_input(input, task, std::move(domain), top, parse_postprocess(postprocess)));
        }
        return to_python(json);
      },
      py::arg("input"), py::arg("task"), py::arg("top") = 20, py::arg("dictionary") = py::none(),
      py::arg("postprocess") = "none",
      "The top values of `task` in a store with standard errors: the dict of `residue decode "
      "--json` (task, protocol, k, reports, batches, top: [{index, value, frequency, count, "
      "stderr}], ...); stderr is of the frequency. `dictionary`: the task's dictionary file, to "
      "name values.");

  m.def(
      "read_tally",
      [](const std::string& input, const std::string& task) {
        py::gil_scoped_release release;
        TaskTally t = read_task_tally(input, task);
        return std::make_pair(task_from_record(t.record).protocol, std::move(t.tally));
      },
      py::arg("input"), py::arg("task"),
      "(Protocol, Tally) of `task` in a store: Protocol.estimate(tally) estimates every value.");
}

}  // namespace residue::python

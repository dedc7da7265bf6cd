#include "bindings.h"

namespace residue::python {

// The library speaks JSON already (estimates, evaluations, simulation rows); Python's own
// parser turns it into plain values without a converter to keep in step with nlohmann's types.
py::object to_python(const nlohmann::json& json) {
  return py::module_::import("json").attr("loads")(json.dump());
}

}  // namespace residue::python

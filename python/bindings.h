// The pieces of the Python module `residue` (module.cpp), one file per topic:
//   protocols.cpp   Protocol, Tally, Estimate: encode to numpy, tally, estimate with errors
//   simulation.cpp  simulate and compare (the tool's simulation)
//   store.cpp       a daemon's store (SQLite or PostgreSQL) read into estimates
//   memory.cpp      the memory evaluation
// Long calls release the GIL; residue::Error becomes residue.Error (a ValueError).
#pragma once

#include <pybind11/pybind11.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace residue::python {

namespace py = pybind11;

void bind_protocols(py::module_& m);
void bind_simulation(py::module_& m);
void bind_store(py::module_& m);
void bind_memory(py::module_& m);

/// The registered protocol names (protocols.cpp).
std::vector<std::string> protocol_names();

/// `json` as Python values (dict, list, str, float, int, bool, None).
py::object to_python(const nlohmann::json& json);

}  // namespace residue::python

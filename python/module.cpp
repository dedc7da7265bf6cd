// `import residue`: Residue for analysts in Python (docs/python.md).
#include "bindings.h"
#include "residue/core/error.h"

PYBIND11_MODULE(residue, m) {
  namespace py = pybind11;
  m.doc() =
      "Residue: local differential privacy frequency estimation. Protocols (encode to numpy, "
      "tally, estimate with standard errors), simulate and compare, a daemon's store read into "
      "estimates, and the memory evaluation. docs/python.md.";
  m.attr("__version__") = RESIDUE_VERSION;
  py::register_exception<residue::Error>(m, "Error", PyExc_ValueError);
  residue::python::bind_protocols(m);
  residue::python::bind_simulation(m);
  residue::python::bind_store(m);
  residue::python::bind_memory(m);
}

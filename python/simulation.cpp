// simulate and compare: the simulation behind `residue simulate` and `residue compare`
// (aggregator/tool/simulation.h), its rows as the tool prints them in JSON.
#include "simulation.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "bindings.h"
#include "data.h"
#include "residue/protocols/registry.h"

namespace residue::python {
namespace {

std::vector<Protocol> protocols_for(std::vector<std::string> names, uint32_t k, double epsilon) {
  if (names == std::vector<std::string>{"all"}) names = protocol_names();
  std::vector<Protocol> out;
  for (const std::string& name : names) {
    out.push_back(make_protocol(complete_params({.protocol = name, .k = k, .epsilon = epsilon})));
  }
  return out;
}

std::vector<ProtocolResult> run(const std::vector<std::string>& names, uint32_t k, double epsilon,
                                uint64_t n, const std::string& data, uint32_t trials,
                                uint64_t seed) {
  py::gil_scoped_release release;
  const Distribution distribution = load_distribution(data, k);
  const SimulationConfig config{.k = k, .epsilon = epsilon, .n = n, .trials = trials, .seed = seed};
  return run_simulation(config, distribution, protocols_for(names, k, epsilon));
}

py::array_t<double> to_numpy(const std::vector<double>& v) {
  return py::array_t<double>(static_cast<py::ssize_t>(v.size()), v.data());
}

}  // namespace

void bind_simulation(py::module_& m) {
  m.def(
      "simulate",
      [](const std::vector<std::string>& protocols, uint32_t k, double epsilon, uint64_t n,
         const std::string& data, uint32_t trials, uint64_t seed) {
        py::list out;
        for (const ProtocolResult& r : run(protocols, k, epsilon, n, data, trials, seed)) {
          py::dict row = to_python(result_json(r));
          row["truth"] = to_numpy(r.last_truth);
          row["estimate"] = to_numpy(r.last_estimate.frequencies);
          out.append(row);
        }
        return out;
      },
      py::arg("protocols"), py::arg("k"), py::arg("epsilon"), py::arg("n"),
      py::arg("data") = "zipf:1.1", py::arg("trials") = 10, py::arg("seed") = 1,
      "Simulated clients of each protocol (names, or [\"all\"]) on the same data: one dict per "
      "protocol with the fields of `residue simulate --json`, and the last trial's true and "
      "estimated frequencies as numpy arrays (truth, estimate).");

  m.def(
      "compare",
      [](const std::vector<double>& epsilons, uint32_t k, uint64_t n,
         const std::vector<std::string>& protocols, const std::string& data, uint32_t trials,
         uint64_t seed) {
        // Columns of the rows of `residue compare`, one per (epsilon, protocol).
        nlohmann::json columns = nlohmann::json::object();
        for (double epsilon : epsilons) {
          for (const ProtocolResult& r : run(protocols, k, epsilon, n, data, trials, seed)) {
            nlohmann::json row = result_json(r);
            row["epsilon"] = epsilon;
            for (const auto& [key, value] : row.items()) columns[key].push_back(value);
          }
        }
        py::dict out;
        const py::module_ np = py::module_::import("numpy");
        for (const auto& [key, values] : columns.items()) {
          const bool numeric = values.front().is_number();
          out[key.c_str()] =
              numeric ? np.attr("asarray")(to_python(values), "float64") : to_python(values);
        }
        return out;
      },
      py::arg("epsilons"), py::arg("k"), py::arg("n"),
      py::arg("protocols") = std::vector<std::string>{"all"}, py::arg("data") = "zipf:1.1",
      py::arg("trials") = 10, py::arg("seed") = 1,
      "Every protocol on the same data at each epsilon: a dict of columns (numpy arrays for the "
      "numbers, lists for protocol, id and subset_sizes), one entry per (epsilon, protocol), "
      "ready for pandas.DataFrame.");
}

}  // namespace residue::python

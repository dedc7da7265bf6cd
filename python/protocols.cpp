// Protocols from Python: a Protocol by name, its reports as numpy arrays, the mergeable Tally,
// and the Estimate with standard errors and post-processing.
//
// A batch of n reports is three arrays, as ragged rows are stored in numpy (CSR):
//   block    uint32[n]    the block of each report (MSS: the modulus index; 0 elsewhere)
//   offsets  int64[n+1]   report i's positions are items[offsets[i]:offsets[i+1]]
//   items    uint32[m]    the positions, increasing within a report
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bindings.h"
#include "residue/core/error.h"
#include "residue/protocols/registry.h"
#include "residue/random/csprng.h"
#include "residue/random/seeded_rng.h"

namespace residue::python {
namespace {

template <typename T>
py::array_t<T> to_numpy(const std::vector<T>& values) {
  return py::array_t<T>(static_cast<py::ssize_t>(values.size()), values.data());
}

template <typename T>
std::vector<T> from_numpy(const py::handle& object, const char* name) {
  const auto a = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(object);
  if (!a || a.ndim() != 1) throw Error(std::string(name) + " must be a one-dimensional array.");
  return std::vector<T>(a.data(), a.data() + a.size());
}

py::dict reports_to_numpy(const std::vector<Report>& reports) {
  std::vector<uint32_t> block(reports.size()), items;
  std::vector<int64_t> offsets(reports.size() + 1, 0);
  for (std::size_t i = 0; i < reports.size(); ++i) {
    block[i] = reports[i].block;
    items.insert(items.end(), reports[i].items.begin(), reports[i].items.end());
    offsets[i + 1] = static_cast<int64_t>(items.size());
  }
  py::dict out;
  out["block"] = to_numpy(block);
  out["offsets"] = to_numpy(offsets);
  out["items"] = to_numpy(items);
  return out;
}

std::vector<Report> reports_from_numpy(const py::dict& batch) {
  const auto block = from_numpy<uint32_t>(batch["block"], "block");
  const auto offsets = from_numpy<int64_t>(batch["offsets"], "offsets");
  const auto items = from_numpy<uint32_t>(batch["items"], "items");
  if (offsets.size() != block.size() + 1 || offsets.front() != 0 ||
      offsets.back() != static_cast<int64_t>(items.size())) {
    throw Error("offsets must have len(block) + 1 entries, from 0 to len(items).");
  }
  std::vector<Report> reports(block.size());
  for (std::size_t i = 0; i < block.size(); ++i) {
    if (offsets[i + 1] < offsets[i]) throw Error("offsets must not decrease.");
    reports[i].block = block[i];
    reports[i].items.assign(items.begin() + offsets[i], items.begin() + offsets[i + 1]);
  }
  return reports;
}

/// An estimate with what its standard errors need: the protocol and the tally it came from.
struct PyEstimate {
  Protocol protocol;
  Tally tally;
  Estimate estimate;
};

Protocol protocol_by_name(const std::string& name, uint32_t k, double epsilon,
                          const std::vector<uint32_t>& moduli) {
  ModuliOptions options;
  options.moduli = moduli;
  return make_protocol(complete_params({.protocol = name, .k = k, .epsilon = epsilon}, options));
}

}  // namespace

std::vector<std::string> protocol_names() {
  std::vector<std::string> names;
  for (const ProtocolInfo& info : registered_protocols()) names.emplace_back(info.name);
  return names;
}

void bind_protocols(py::module_& m) {
  m.def("protocols", &protocol_names, "The registered protocol names.");

  py::class_<Tally>(m, "Tally", "Mergeable per-block counts of reports.")
      .def_property_readonly("protocol_id", &Tally::protocol_id)
      .def_property_readonly("reports", &Tally::total_reports)
      .def_property_readonly("blocks", &Tally::block_count)
      .def(
          "counts",
          [](const Tally& t, uint32_t block) {
            if (block >= t.block_count())
              throw Error("block " + std::to_string(block) + " of " +
                          std::to_string(t.block_count()) + ".");
            const std::span<const uint64_t> c = t.counts(block);
            return py::array_t<uint64_t>(static_cast<py::ssize_t>(c.size()), c.data());
          },
          py::arg("block") = 0, "The counters of one block, uint64[universe].")
      .def(
          "add",
          [](Tally& t, const py::dict& batch) {
            const std::vector<Report> reports = reports_from_numpy(batch);
            py::gil_scoped_release release;
            t.add(reports);
          },
          py::arg("reports"), "Counts a batch (the dict Protocol.encode returns).")
      .def("merge", &Tally::merge, py::arg("other"))
      .def("__eq__", [](const Tally& a, const Tally& b) { return a == b; });

  py::class_<PyEstimate>(m, "Estimate", "Unbiased frequency estimates of a tally.")
      .def_property_readonly("frequencies",
                             [](const PyEstimate& e) { return to_numpy(e.estimate.frequencies); })
      .def_property_readonly("counts",
                             [](const PyEstimate& e) {
                               std::vector<double> counts(e.estimate.frequencies.size());
                               for (uint32_t v = 0; v < counts.size(); ++v)
                                 counts[v] = e.estimate.count(v);
                               return to_numpy(counts);
                             })
      .def_property_readonly("reports", [](const PyEstimate& e) { return e.estimate.reports; })
      .def_property_readonly("solver_iterations",
                             [](const PyEstimate& e) { return e.estimate.solver_iterations; })
      .def_property_readonly("converged",
                             [](const PyEstimate& e) { return e.estimate.solver_converged; })
      .def(
          "standard_errors",
          [](const PyEstimate& e, std::optional<std::vector<uint32_t>> values) {
            if (!values) {
              values.emplace(e.estimate.frequencies.size());
              for (uint32_t v = 0; v < values->size(); ++v) (*values)[v] = v;
            }
            for (uint32_t v : *values) {
              if (v >= e.estimate.frequencies.size())
                throw Error("value " + std::to_string(v) + " is outside [0, k).");
            }
            std::vector<double> se;
            {
              py::gil_scoped_release release;  // MSS: a Gram solve per value
              se = e.protocol.standard_errors(e.tally, e.estimate, *values);
            }
            return to_numpy(se);
          },
          py::arg("values") = py::none(),
          "Standard errors of the frequencies at `values` (all values when None).")
      .def(
          "postprocessed",
          [](const PyEstimate& e, const std::string& method) {
            return to_numpy(postprocess(e.estimate.frequencies, parse_postprocess(method)));
          },
          py::arg("method"), "The frequencies after \"clip\" or \"normsub\" (or \"none\").");

  py::class_<Protocol>(m, "Protocol", "A protocol: encoder, tally shape and estimator.")
      .def(py::init([](const std::string& name, uint32_t k, double epsilon,
                       const std::vector<uint32_t>& moduli) {
             py::gil_scoped_release release;  // the MSS moduli search takes seconds at large k
             return protocol_by_name(name, k, epsilon, moduli);
           }),
           py::arg("name"), py::arg("k"), py::arg("epsilon"),
           py::arg("moduli") = std::vector<uint32_t>{},
           "The protocol `name` for domain size k at epsilon; MSS searches its moduli unless "
           "given.")
      .def_property_readonly("id", &Protocol::id)
      .def_property_readonly("name", [](const Protocol& p) { return p.params().protocol; })
      .def_property_readonly("k", [](const Protocol& p) { return p.params().k; })
      .def_property_readonly("epsilon", [](const Protocol& p) { return p.params().epsilon; })
      .def_property_readonly("params",
                             [](const Protocol& p) { return to_python(to_json(p.params())); })
      .def(
          "encode",
          [](const Protocol& p, const py::object& values, std::optional<uint64_t> seed) {
            const std::vector<uint32_t> v = from_numpy<uint32_t>(values, "values");
            for (uint32_t x : v) {
              if (x >= p.params().k)
                throw Error("value " + std::to_string(x) + " is outside [0, k).");
            }
            std::vector<Report> reports(v.size());
            {
              py::gil_scoped_release release;
              std::unique_ptr<Rng> rng;
              if (seed)
                rng = std::make_unique<SeededRng>(*seed);
              else
                rng = std::make_unique<Csprng>();
              for (std::size_t i = 0; i < v.size(); ++i) p.encoder().encode(v[i], *rng, reports[i]);
            }
            return reports_to_numpy(reports);
          },
          py::arg("values"), py::arg("seed") = py::none(),
          "Randomizes each value into a report: a dict of numpy arrays block, offsets, items. "
          "With a seed the randomness is reproducible (simulation only, not private).")
      .def("new_tally", &Protocol::new_tally)
      .def(
          "tally",
          [](const Protocol& p, const py::dict& batch) {
            Tally t = p.new_tally();
            const std::vector<Report> reports = reports_from_numpy(batch);
            py::gil_scoped_release release;
            t.add(reports);
            return t;
          },
          py::arg("reports"), "A new tally of a batch of reports.")
      .def(
          "estimate",
          [](const Protocol& p, const Tally& tally) {
            if (tally.protocol_id() != p.id())
              throw Error("the tally is of " + tally.protocol_id() + ", not " + p.id() + ".");
            py::gil_scoped_release release;
            return PyEstimate{p, tally, p.estimator().estimate(tally)};
          },
          py::arg("tally"), "Unbiased frequency estimates of the tally.");
}

}  // namespace residue::python

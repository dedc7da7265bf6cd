#include "data.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <sstream>
#include <unordered_map>

#include "residue/core/error.h"

namespace residue {

Distribution::Distribution(std::string name, std::vector<double> probabilities,
                           std::optional<Domain> domain)
    : name_(std::move(name)), probabilities_(std::move(probabilities)), domain_(std::move(domain)) {
  const std::size_t k = probabilities_.size();
  if (k < 2) throw Error("data " + name_ + ": needs at least 2 values.");
  double total = 0;
  for (double p : probabilities_) {
    if (!(p >= 0)) throw Error("data " + name_ + ": negative or invalid weight.");
    total += p;
  }
  if (!(total > 0)) throw Error("data " + name_ + ": all weights are zero.");
  for (double& p : probabilities_) p /= total;

  // Vose's alias method: each slot keeps its own value with probability threshold[v],
  // otherwise yields alias[v].
  alias_threshold_.assign(k, 0);
  alias_.assign(k, 0);
  std::vector<double> scaled(k);
  std::vector<uint32_t> small, large;
  for (std::size_t v = 0; v < k; ++v) {
    scaled[v] = probabilities_[v] * static_cast<double>(k);
    (scaled[v] < 1 ? small : large).push_back(static_cast<uint32_t>(v));
  }
  while (!small.empty() && !large.empty()) {
    const uint32_t s = small.back(), l = large.back();
    small.pop_back();
    alias_threshold_[s] = scaled[s];
    alias_[s] = l;
    scaled[l] -= 1 - scaled[s];
    if (scaled[l] < 1) {
      large.pop_back();
      small.push_back(l);
    }
  }
  for (uint32_t v : large) alias_threshold_[v] = 1;
  for (uint32_t v : small) alias_threshold_[v] = 1;  // rounding leftovers
}

std::vector<uint32_t> Distribution::sample(uint64_t n, Rng& rng) const {
  std::vector<uint32_t> out(n);
  for (uint32_t& x : out) {
    const auto slot = static_cast<uint32_t>(rng.uniform(probabilities_.size()));
    x = rng.uniform01() < alias_threshold_[slot] ? slot : alias_[slot];
  }
  return out;
}

namespace {

Distribution load_file(const std::string& spec, const std::string& path, uint32_t k) {
  std::ifstream in(path);
  if (!in)
    throw Error("--data " + spec + ": cannot read \"" + path + "\": " + std::strerror(errno) + ".");
  std::unordered_map<std::string, std::size_t> index;
  std::vector<std::pair<std::string, double>> entries;
  std::string line;
  std::size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::string value = line;
    double count = 1;
    if (const std::size_t tab = line.find('\t'); tab != std::string::npos) {
      value = line.substr(0, tab);
      const std::string field = line.substr(tab + 1);
      char* end = nullptr;
      count = std::strtod(field.c_str(), &end);
      if (end == field.c_str() || *end != '\0' || !(count >= 0) || !std::isfinite(count)) {
        throw Error("--data " + spec + ": line " + std::to_string(line_number) + ": count \"" +
                    field + "\" is not a non-negative number.");
      }
    }
    auto [it, fresh] = index.emplace(value, entries.size());
    if (fresh) entries.emplace_back(value, 0);
    entries[it->second].second += count;
  }
  if (entries.size() < 2) throw Error("--data " + spec + ": needs at least 2 distinct values.");
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  const double total = std::accumulate(entries.begin(), entries.end(), 0.0,
                                       [](double s, const auto& e) { return s + e.second; });
  std::string note;
  if (entries.size() > k) {
    double kept = 0;
    for (uint32_t i = 0; i < k; ++i) kept += entries[i].second;
    std::ostringstream msg;
    msg << "kept the " << k << " most frequent of " << entries.size() << " values ("
        << 100 * kept / total << "% of the mass)";
    note = msg.str();
    entries.resize(k);
  }
  std::vector<std::string> labels;
  std::vector<double> weights(k, 0.0);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    labels.push_back(entries[i].first);
    weights[i] = entries[i].second;
  }
  // Values past the file's distinct ones exist in the domain with frequency 0.
  for (std::size_t i = entries.size(); i < k; ++i)
    labels.push_back("<unused " + std::to_string(i) + ">");
  Distribution d(spec, std::move(weights), Domain::dictionary(std::move(labels)));
  d.set_note(std::move(note));
  return d;
}

}  // namespace

Distribution load_distribution(const std::string& spec, uint32_t k) {
  if (k < 2) throw Error("--k must be at least 2, but is " + std::to_string(k) + ".");
  if (spec == "uniform") return Distribution(spec, std::vector<double>(k, 1.0));
  if (spec == "spike") {
    std::vector<double> p(k, 0.0);
    p[0] = 1;
    return Distribution(spec, std::move(p));
  }
  if (spec.rfind("zipf:", 0) == 0) {
    char* end = nullptr;
    const double s = std::strtod(spec.c_str() + 5, &end);
    if (end == spec.c_str() + 5 || *end != '\0' || !(s >= 0) || !std::isfinite(s)) {
      throw Error("--data " + spec + ": the Zipf exponent must be a non-negative number.");
    }
    std::vector<double> p(k);
    for (uint32_t v = 0; v < k; ++v) p[v] = std::pow(v + 1.0, -s);
    return Distribution(spec, std::move(p));
  }
  if (spec.rfind("file:", 0) == 0) return load_file(spec, spec.substr(5), k);
  throw Error("--data must be zipf:S, uniform, spike or file:PATH, but is \"" + spec + "\".");
}

}  // namespace residue

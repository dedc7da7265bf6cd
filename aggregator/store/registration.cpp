#include "registration.h"

#include <algorithm>

#include "residue/core/error.h"
#include "residue/core/hex.h"

namespace residue {
namespace {

std::string describe_domain(const std::string& domain) {
  return domain.empty() ? "no dictionary (bare indices)" : domain;
}

// "artifact:<sha256>" is a memory or vocab task's artifact (aggregator/engine/artifact.h).
bool is_artifact(const std::string& domain) {
  return domain.starts_with("artifact:");
}

}  // namespace

bool is_empty(const Tally& tally) {
  for (uint32_t j = 0; j < tally.block_count(); ++j) {
    if (tally.reports(j) != 0) return false;
    for (uint64_t c : tally.counts(j)) {
      if (c != 0) return false;
    }
  }
  return true;
}

void check_empty_for_registration(const std::string& where, const std::string& task,
                                  const Tally& empty) {
  if (!is_empty(empty)) {
    throw Error(where + ": task \"" + task +
                "\" must be registered with an empty tally, but the one given holds counts.");
  }
}

void check_same_task(const std::string& where, const std::string& task,
                     std::span<const uint8_t> stored_hash, const std::string& stored_domain,
                     const ParamsHash& hash, const std::string& domain) {
  if (stored_domain != domain && (is_artifact(stored_domain) || is_artifact(domain))) {
    throw Error(where + ": the artifact of task \"" + task + "\" changed under its stored data: " +
                "the data was reported under " + describe_domain(stored_domain) +
                ", the configuration gives " + describe_domain(domain) +
                ". Devices reported against the pieces they downloaded, so the stored reports "
                "mean nothing under others. Restore the artifact file the data was collected "
                "with, or give the new artifact a new task name.");
  }
  if (stored_domain != domain) {
    throw Error(where + ": the dictionary of task \"" + task +
                "\" changed under its stored data: " + "the data was counted under " +
                describe_domain(stored_domain) + ", the configuration gives " +
                describe_domain(domain) +
                ". Stored counts are kept by position, so a reordered or edited dictionary would "
                "relabel them. Restore the dictionary file the data was collected with, or give "
                "the new dictionary a new task name.");
  }
  if (!std::equal(stored_hash.begin(), stored_hash.end(), hash.begin(), hash.end())) {
    throw Error(where + ": task \"" + task + "\" is stored with parameter hash " +
                to_hex(stored_hash) + ", not " + to_hex(hash) +
                ": a task's parameters cannot change under its data; use a new task name.");
  }
}

}  // namespace residue

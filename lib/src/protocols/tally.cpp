#include "residue/protocols/tally.h"

#include <numeric>
#include <string>

#include "residue/core/error.h"

namespace residue {
namespace {

// How far ahead of the counting the items are fetched: about 1 KB, several cache misses.
constexpr std::size_t kPrefetchItems = 256;

}  // namespace

Tally::Tally(std::string protocol_id, const ReportShape& shape)
    : protocol_id_(std::move(protocol_id)) {
  if (shape.blocks.empty()) throw Error("tally: the report shape has no blocks.");
  std::size_t offset = 0;
  for (const BlockShape& block : shape.blocks) {
    universe_.push_back(block.universe);
    offset_.push_back(offset);
    offset += block.universe;
  }
  counts_.assign(offset, 0);
  reports_.assign(shape.blocks.size(), 0);
}

void Tally::add(const Report& report) {
  if (report.block >= reports_.size()) {
    throw Error("tally: report block " + std::to_string(report.block) + " is outside [0, " +
                std::to_string(reports_.size()) + ").");
  }
  const uint32_t universe = universe_[report.block];
  uint64_t* counts = counts_.data() + offset_[report.block];
  for (uint32_t item : report.items) {
    if (item >= universe) {
      throw Error("tally: report position " + std::to_string(item) + " is outside [0, " +
                  std::to_string(universe) + ") of block " + std::to_string(report.block) + ".");
    }
    ++counts[item];
  }
  ++reports_[report.block];
}

void Tally::add(std::span<const Report> reports) {
  // Counting sort of the reports by block, then each block's reports together. A report that
  // does not fit is found while counting; the ones counted before it are taken back.
  std::vector<std::size_t> start(reports_.size() + 1, 0);
  for (const Report& r : reports) {
    if (r.block < reports_.size()) ++start[r.block + 1];
  }
  for (std::size_t j = 0; j < reports_.size(); ++j) start[j + 1] += start[j];
  std::vector<std::size_t> order(start.back());
  for (std::size_t i = 0; i < reports.size(); ++i) {
    if (reports[i].block < reports_.size()) order[start[reports[i].block]++] = i;
  }
  auto reject = [&](std::size_t bad) {
    throw Error("tally: report " + std::to_string(bad) +
                " of the batch does not fit the shape (block " +
                std::to_string(reports[bad].block) + "); nothing of the batch was counted.");
  };
  if (order.size() != reports.size()) {
    for (std::size_t i = 0; i < reports.size(); ++i) {
      if (reports[i].block >= reports_.size()) reject(i);
    }
  }
  for (std::size_t done = 0; done < order.size(); ++done) {
    const Report& r = reports[order[done]];
    uint64_t* counts = counts_.data() + offset_[r.block];
    const uint32_t universe = universe_[r.block];
    // The reports are visited in block order, not memory order, so the hardware prefetcher
    // restarts at every page of a long report: fetch ahead by hand (hints; never faults).
    const uint32_t* items = r.items.data();
    std::size_t counted = 0;
    for (; counted < r.items.size() && items[counted] < universe; ++counted) {
      __builtin_prefetch(items + counted + kPrefetchItems);
      ++counts[items[counted]];
    }
    if (counted == r.items.size()) {
      ++reports_[r.block];
      continue;
    }
    for (std::size_t c = 0; c < counted; ++c) --counts[r.items[c]];
    for (std::size_t back = 0; back < done; ++back) {
      const Report& earlier = reports[order[back]];
      for (uint32_t item : earlier.items) --counts_[offset_[earlier.block] + item];
      --reports_[earlier.block];
    }
    reject(order[done]);
  }
}

void Tally::merge(const Tally& other) {
  if (other.protocol_id_ != protocol_id_) {
    throw Error("tally: cannot merge a \"" + other.protocol_id_ + "\" tally into a \"" +
                protocol_id_ + "\" tally.");
  }
  if (other.universe_ != universe_) throw Error("tally: cannot merge tallies of different shapes.");
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  for (std::size_t j = 0; j < reports_.size(); ++j) reports_[j] += other.reports_[j];
}

void Tally::add_counts(uint32_t block, uint32_t position, uint64_t count) {
  if (block >= reports_.size() || position >= universe_[block]) {
    throw Error("tally: counter (" + std::to_string(block) + ", " + std::to_string(position) +
                ") is outside the shape.");
  }
  counts_[offset_[block] + position] += count;
}

void Tally::add_reports(uint32_t block, uint64_t reports) {
  if (block >= reports_.size()) {
    throw Error("tally: block " + std::to_string(block) + " is outside the shape.");
  }
  reports_[block] += reports;
}

std::span<const uint64_t> Tally::counts(uint32_t block) const {
  return {counts_.data() + offset_[block], universe_[block]};
}

uint64_t Tally::total_reports() const {
  return std::accumulate(reports_.begin(), reports_.end(), uint64_t{0});
}

}  // namespace residue

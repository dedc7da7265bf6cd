#include "residue/protocols/tally.h"

#include <numeric>
#include <string>

#include "residue/core/error.h"

namespace residue {

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

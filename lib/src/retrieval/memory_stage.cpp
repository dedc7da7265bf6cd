#include "residue/retrieval/memory_stage.h"

namespace residue {

std::string_view memory_stage_name(MemoryStage stage) {
  switch (stage) {
    case MemoryStage::kJoint:
      return "joint";
    case MemoryStage::kTokens:
      return "tokens";
    case MemoryStage::kShortlist:
      return "shortlist";
  }
  return "?";
}

std::optional<MemoryStage> parse_memory_stage(std::string_view name) {
  for (const MemoryStage s : {MemoryStage::kJoint, MemoryStage::kTokens, MemoryStage::kShortlist}) {
    if (name == memory_stage_name(s)) return s;
  }
  return std::nullopt;
}

std::string artifact_domain_id(std::string_view sha256, MemoryStage stage) {
  std::string id = "artifact:" + std::string(sha256);
  if (stage != MemoryStage::kJoint) {
    id += '/';
    id += memory_stage_name(stage);
  }
  return id;
}

MemoryStage memory_stage_of_domain_id(std::string_view id) {
  if (!id.starts_with("artifact:")) return MemoryStage::kJoint;
  for (const MemoryStage s : {MemoryStage::kTokens, MemoryStage::kShortlist}) {
    const std::string_view name = memory_stage_name(s);
    if (id.ends_with(name) && id.size() > name.size() && id[id.size() - name.size() - 1] == '/')
      return s;
  }
  return MemoryStage::kJoint;
}

}  // namespace residue

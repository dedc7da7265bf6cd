// The value a memory task's report carries: a (cell, next token) pair as one index of the
// joint domain of cells x tokens. The device (task_artifact.h: memory_value) and the server
// (memory_setup.h: joint_counts, memory_builder.h's rows) share this one layout.
//
//   uint64_t v = joint_value(cell, token, vocab.size());   // cell * tokens + token
#pragma once

#include <cstdint>

namespace residue {

/// cell * tokens + token: row `cell`, column `token` of the cells x tokens table.
/// REQUIRES: token < tokens.
constexpr uint64_t joint_value(uint32_t cell, uint32_t token, uint32_t tokens) {
  return uint64_t{cell} * tokens + token;
}

}  // namespace residue

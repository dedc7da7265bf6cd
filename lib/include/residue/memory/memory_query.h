// The next-token distribution a memory serves after a context: what `residue memory query`
// prints and what residued answers on GET /v1/tasks/{task}/memory/next, from one function so
// that the two give the same numbers.
//
//   const KneserNey lm = memory_base_lm(memory, corpus);
//   NextTokens next = next_tokens(memory, lm, "the results of the", 10);
//   nlohmann::json body = to_json(next, memory.vocabulary());
//
// Reentrant; runs a FAISS search (set_search_threads()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "residue/lm/kneser_ney.h"
#include "residue/lm/vocabulary.h"
#include "residue/memory/memory.h"

namespace residue {

struct NextToken {
  uint32_t token = 0;
  double p = 0;      ///< the mixture: lambda p_mem + (1 - lambda) p_lm
  double p_mem = 0;  ///< the memory decoder's distribution
  double p_lm = 0;   ///< the base LM's
};

struct NextTokens {
  std::string arm;
  double lambda = 0;
  std::vector<uint32_t> context;  ///< the context's token ids (unknown words: the unknown token)
  std::vector<uint32_t> cells;    ///< the key's nearest cells the decoder read
  std::vector<float> distances;
  std::vector<NextToken> top;  ///< decreasing p (ties: smaller token first)
};

/// The `top` most likely next tokens after `context` (text_tokens() of it), read as the start of
/// a sentence: <s> w_1 ... w_n, predicting w_{n+1}, with `arm` (empty: the default arm). `lm`
/// must be the memory's base LM (memory_base_lm). Throws Error on an unknown arm.
NextTokens next_tokens(const Memory& memory, const KneserNey& lm, std::string_view context,
                       std::size_t top, std::string_view arm = {});

/// {"arm", "lambda", "context" (words), "cells", "distances", "top": [{"token", "p", "p_mem",
/// "p_lm"}]}.
nlohmann::json to_json(const NextTokens& next, const Vocabulary& vocab);

}  // namespace residue

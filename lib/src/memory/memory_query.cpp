#include "residue/memory/memory_query.h"

#include <algorithm>

#include "residue/memory/memory_decoder.h"
#include "residue/retrieval/corpus.h"

namespace residue {

NextTokens next_tokens(const Memory& memory, const KneserNey& lm, std::string_view context,
                       std::size_t top, std::string_view arm_name) {
  const MemoryArm& arm = memory.arm(arm_name.empty() ? memory.info().default_arm : arm_name);
  NextTokens out{.arm = arm.name, .lambda = arm.hyper.lambda};
  out.context = memory.vocabulary().ids(text_tokens(context));
  const std::vector<uint32_t>& ids = out.context;

  std::vector<uint32_t> history = {memory.key_encoder().bos()};
  history.insert(history.end(), ids.begin(), ids.end());
  const std::vector<float> key = memory.key_encoder().encode(history);
  const uint32_t v = ids.empty() ? lm.bos() : ids.back();
  const uint32_t u = ids.size() < 2 ? lm.bos() : ids[ids.size() - 2];
  const std::vector<double> p_lm = lm.distribution(u, v);
  const MemoryDecoder decoder(memory.codebook(), arm, memory.tokens());
  std::vector<double> p_mem(memory.tokens()), p(memory.tokens());
  decoder.memory_distribution(key, p_mem);
  decoder.distribution(key, p_lm, p);
  Neighbours nn = decoder.search(key, std::min(memory.cells(), arm.hyper.neighbours));
  out.cells = std::move(nn.cells);
  out.distances = std::move(nn.distances);

  std::vector<uint32_t> order(p.size());
  for (uint32_t t = 0; t < order.size(); ++t) order[t] = t;
  const std::size_t shown = std::min(top, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(shown), order.end(),
                    [&](uint32_t a, uint32_t b) { return p[a] != p[b] ? p[a] > p[b] : a < b; });
  for (std::size_t r = 0; r < shown; ++r) {
    const uint32_t t = order[r];
    out.top.push_back({.token = t, .p = p[t], .p_mem = p_mem[t], .p_lm = p_lm[t]});
  }
  return out;
}

nlohmann::json to_json(const NextTokens& next, const Vocabulary& vocab) {
  nlohmann::json rows = nlohmann::json::array();
  for (const NextToken& t : next.top) {
    rows.push_back(
        {{"token", vocab.word(t.token)}, {"p", t.p}, {"p_mem", t.p_mem}, {"p_lm", t.p_lm}});
  }
  nlohmann::json context = nlohmann::json::array();
  for (uint32_t id : next.context) context.push_back(vocab.word(id));
  return {{"arm", next.arm},     {"lambda", next.lambda},       {"context", context},
          {"cells", next.cells}, {"distances", next.distances}, {"top", rows}};
}

}  // namespace residue

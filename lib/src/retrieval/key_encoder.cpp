#include "residue/retrieval/key_encoder.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "residue/core/error.h"

namespace residue {

KeyEncoder::KeyEncoder(WordEmbeddings embeddings, KeyEncoderOptions options)
    : embeddings_(std::move(embeddings)), options_(options) {
  if (options_.window == 0) throw Error("key_encoder: window must be at least 1, but is 0.");
  if (!(options_.decay > 0 && options_.decay <= 1)) {
    throw Error("key_encoder: decay must be in (0, 1], but is " + std::to_string(options_.decay) +
                ".");
  }
}

void KeyEncoder::encode(std::span<const uint32_t> history, std::span<float> key) const {
  const uint32_t d = dimension();
  if (key.size() != d) {
    throw Error("key_encoder: key needs " + std::to_string(d) + " floats, but has " +
                std::to_string(key.size()) + ".");
  }
  // Sums in double so that a key does not depend on float rounding order across platforms
  // more than it must.
  std::vector<double> sum(d, 0.0);
  double weight = 1;
  const std::size_t used = std::min<std::size_t>(history.size(), options_.window);
  for (std::size_t k = 0; k < used; ++k) {
    const uint32_t id = history[history.size() - 1 - k];
    if (id >= embeddings_.rows()) {
      throw Error("key_encoder: id " + std::to_string(id) + " is outside [0, " +
                  std::to_string(embeddings_.rows()) + ").");
    }
    const std::span<const float> e = embeddings_.vector(id);
    for (uint32_t j = 0; j < d; ++j) sum[j] += weight * e[j];
    weight *= options_.decay;
  }
  double norm = 0;
  for (double x : sum) norm += x * x;
  norm = std::sqrt(norm);
  const double scale = norm > 0 ? 1 / norm : 0;
  for (uint32_t j = 0; j < d; ++j) key[j] = static_cast<float>(sum[j] * scale);
}

std::vector<float> KeyEncoder::encode(std::span<const uint32_t> history) const {
  std::vector<float> key(dimension());
  encode(history, key);
  return key;
}

std::vector<float> KeyEncoder::encode_sentence(std::span<const uint32_t> sentence) const {
  const uint32_t d = dimension();
  std::vector<uint32_t> context;
  context.reserve(sentence.size() + 1);
  context.push_back(bos());
  for (std::size_t i = 0; i < sentence.size(); ++i) {
    if (sentence[i] >= bos()) {
      throw Error("key_encoder: sentence position " + std::to_string(i) + " has id " +
                  std::to_string(sentence[i]) + ", not below bos() = " + std::to_string(bos()) +
                  ".");
    }
    context.push_back(sentence[i]);
  }
  std::vector<float> keys(sentence.size() * d);
  for (std::size_t i = 0; i < sentence.size(); ++i) {
    // The context of position i is context[0 .. i]; only its last `window` ids matter.
    const std::size_t length = std::min<std::size_t>(i + 1, options_.window);
    encode(std::span<const uint32_t>(context).subspan(i + 1 - length, length),
           std::span<float>(keys).subspan(i * d, d));
  }
  return keys;
}

std::vector<float> KeyEncoder::encode_sentences(
    std::span<const std::vector<uint32_t>> sentences) const {
  std::vector<float> keys;
  for (const std::vector<uint32_t>& s : sentences) {
    const std::vector<float> k = encode_sentence(s);
    keys.insert(keys.end(), k.begin(), k.end());
  }
  return keys;
}

}  // namespace residue

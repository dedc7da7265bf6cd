// HmacDrbg: HMAC_DRBG with HMAC-SHA-256 (NIST SP 800-90A rev. 1, section 10.1.2; no
// prediction resistance, no reseeding), as an Rng.
//
// It is deterministic: the same (entropy, nonce, personalization) always gives the same
// stream. Residue uses it for memoized reports (RAPPOR's permanent randomized response): keyed
// by a device secret and (task, value), it re-derives the same randomized report every period
// without storing anything linked to the value. It is NOT a source of fresh randomness: its
// inputs must include a secret of at least 32 random bytes, or the reports it drives are not
// private. Not thread-safe.
//
//   HmacDrbg drbg(device_secret, task_hash, value_bytes);   // secret, nonce, personalization
//   encoder.encode(value, drbg, report);                     // the same report every time
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "residue/random/rng.h"

namespace residue {

class HmacDrbg final : public Rng {
 public:
  /// Instantiate: seed material = entropy || nonce || personalization. Throws Error if the
  /// entropy is shorter than 32 bytes (the security strength of HMAC-SHA-256).
  HmacDrbg(std::span<const uint8_t> entropy, std::span<const uint8_t> nonce,
           std::span<const uint8_t> personalization = {});
  ~HmacDrbg() override;

  /// The Generate function: fills `out` (any length; SP 800-90A caps one request at 2^16 bytes,
  /// longer requests are served as several). No additional input.
  void generate(std::span<uint8_t> out);

 protected:
  void refill(std::span<uint64_t, kBufferWords> out) override;

 private:
  void update(std::span<const uint8_t> a, std::span<const uint8_t> b = {},
              std::span<const uint8_t> c = {});

  std::array<uint8_t, 32> key_{};
  std::array<uint8_t, 32> value_{};
};

}  // namespace residue

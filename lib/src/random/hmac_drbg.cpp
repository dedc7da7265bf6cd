#include "residue/random/hmac_drbg.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <initializer_list>
#include <string>

#include "residue/core/error.h"

namespace residue {
namespace {

constexpr std::size_t kOutBytes = 32;  // SHA-256: outlen, and the key and V length
// SP 800-90A table 2: at most 2^19 bits per Generate request.
constexpr std::size_t kMaxRequestBytes = std::size_t{1} << 16;

[[noreturn]] void throw_openssl(const char* what) {
  throw Error(std::string("HmacDrbg: OpenSSL ") + what + " failed (error " +
              std::to_string(ERR_get_error()) + ").");
}

// HMAC-SHA-256 through EVP_MAC (HMAC_CTX is deprecated in OpenSSL 3). One object computes
// many MACs under changing keys, so the algorithm is fetched once per Generate call.
class HmacSha256 {
 public:
  HmacSha256() {
    mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac_ == nullptr) throw_openssl("EVP_MAC_fetch(HMAC)");
    ctx_ = EVP_MAC_CTX_new(mac_);
    if (ctx_ == nullptr) {
      EVP_MAC_free(mac_);
      throw_openssl("EVP_MAC_CTX_new");
    }
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_END};
    if (EVP_MAC_CTX_set_params(ctx_, params) != 1) {
      EVP_MAC_CTX_free(ctx_);
      EVP_MAC_free(mac_);
      throw_openssl("EVP_MAC_CTX_set_params(SHA256)");
    }
  }
  ~HmacSha256() {
    EVP_MAC_CTX_free(ctx_);
    EVP_MAC_free(mac_);
  }
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;

  /// out = HMAC(key, concatenation of `parts`). `out` may alias `key` or a part: the key is
  /// copied at init and the parts are consumed before the result is written.
  void mac(std::span<const uint8_t, kOutBytes> key,
           std::initializer_list<std::span<const uint8_t>> parts,
           std::span<uint8_t, kOutBytes> out) {
    if (EVP_MAC_init(ctx_, key.data(), key.size(), nullptr) != 1) throw_openssl("EVP_MAC_init");
    for (std::span<const uint8_t> part : parts) {
      if (!part.empty() && EVP_MAC_update(ctx_, part.data(), part.size()) != 1) {
        throw_openssl("EVP_MAC_update");
      }
    }
    std::size_t written = 0;
    if (EVP_MAC_final(ctx_, out.data(), &written, out.size()) != 1 || written != kOutBytes) {
      throw_openssl("EVP_MAC_final");
    }
  }

 private:
  EVP_MAC* mac_ = nullptr;
  EVP_MAC_CTX* ctx_ = nullptr;
};

}  // namespace

HmacDrbg::HmacDrbg(std::span<const uint8_t> entropy, std::span<const uint8_t> nonce,
                   std::span<const uint8_t> personalization) {
  if (entropy.size() < kOutBytes) {
    throw Error("HmacDrbg entropy must be at least 32 bytes, but is " +
                std::to_string(entropy.size()) + ".");
  }
  // SP 800-90A 10.1.2.3: Key = 0x00..00, V = 0x01..01, then Update(seed_material).
  key_.fill(0x00);
  value_.fill(0x01);
  update(entropy, nonce, personalization);
}

HmacDrbg::~HmacDrbg() {
  OPENSSL_cleanse(key_.data(), key_.size());
  OPENSSL_cleanse(value_.data(), value_.size());
}

// SP 800-90A 10.1.2.2, with provided_data = a || b || c.
void HmacDrbg::update(std::span<const uint8_t> a, std::span<const uint8_t> b,
                      std::span<const uint8_t> c) {
  static constexpr uint8_t kZero[1] = {0x00};
  static constexpr uint8_t kOne[1] = {0x01};
  HmacSha256 hmac;
  hmac.mac(key_, {value_, kZero, a, b, c}, key_);
  hmac.mac(key_, {value_}, value_);
  if (a.empty() && b.empty() && c.empty()) return;
  hmac.mac(key_, {value_, kOne, a, b, c}, key_);
  hmac.mac(key_, {value_}, value_);
}

// SP 800-90A 10.1.2.5 without additional input; requests over the cap are served as several.
void HmacDrbg::generate(std::span<uint8_t> out) {
  HmacSha256 hmac;
  while (!out.empty()) {
    const std::size_t request = std::min(out.size(), kMaxRequestBytes);
    for (std::size_t done = 0; done < request; done += kOutBytes) {
      hmac.mac(key_, {value_}, value_);
      std::copy_n(value_.begin(), std::min(kOutBytes, request - done), out.begin() + done);
    }
    update({});
    out = out.subspan(request);
  }
}

void HmacDrbg::refill(std::span<uint64_t, kBufferWords> out) {
  std::array<uint8_t, kBufferWords * 8> bytes;
  generate(bytes);
  // Little-endian words, so a memoized report is the same on every platform.
  for (std::size_t i = 0; i < kBufferWords; ++i) {
    uint64_t word = 0;
    for (std::size_t j = 0; j < 8; ++j) word |= static_cast<uint64_t>(bytes[8 * i + j]) << (8 * j);
    out[i] = word;
  }
  OPENSSL_cleanse(bytes.data(), bytes.size());
}

}  // namespace residue

// Access: who may do what, and upload how much. Bearer tokens are known only by their SHA-256
// and compared in constant time; each has roles (report, read, admin), a token-bucket rate
// limit on reports and a daily report quota (UTC days, kept in memory: a restart forgets the
// day's use, which errs toward accepting). Thread-safe.
//
//   std::optional<std::size_t> who = access.authenticate(req.get_header_value("Authorization"));
//   if (!access.allows(*who, Role::kRead)) ...           // 403
//   QuotaDecision a = access.admit(*who, batch_reports);     // a.retry_after when refused
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.h"

namespace residue {

struct QuotaDecision {
  bool ok = true;
  /// Seconds the client should wait before retrying, when refused.
  int retry_after = 0;
  std::string reason;
};

class Access {
 public:
  using Clock = std::chrono::system_clock;

  explicit Access(std::vector<TokenConfig> tokens);

  /// The index of the token in "Bearer <token>", or nullopt. Every configured hash is compared
  /// (CRYPTO_memcmp) whatever matches, so timing does not reveal which one did.
  std::optional<std::size_t> authenticate(std::string_view authorization) const;
  const std::string& name(std::size_t token) const { return tokens_[token].config.name; }
  /// True if the token has `role`; admin implies read.
  bool allows(std::size_t token, Role role) const;

  /// Takes `reports` from the token's rate budget and daily quota, or refuses.
  QuotaDecision admit(std::size_t token, uint64_t reports, Clock::time_point now = Clock::now());
  /// Gives back what admit() took, for batches that were not counted (duplicates, failures).
  void refund(std::size_t token, uint64_t reports, Clock::time_point now = Clock::now());

 private:
  struct State {
    TokenConfig config;
    double bucket = 0;  // reports the token may still send now; negative: in debt
    Clock::time_point refilled{};
    int64_t day = -1;  // UTC day of `used_today`
    uint64_t used_today = 0;
  };
  void refill(State& s, Clock::time_point now) const;

  mutable std::mutex mu_;
  std::vector<State> tokens_;
};

}  // namespace residue

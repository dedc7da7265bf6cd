#include "access.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cmath>

namespace residue {
namespace {

int64_t utc_day(Access::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::hours>(t.time_since_epoch()).count() / 24;
}

}  // namespace

Access::Access(std::vector<TokenConfig> tokens) {
  for (TokenConfig& t : tokens) {
    State s{.config = std::move(t)};
    s.bucket = s.config.reports_per_second;  // a full second's burst to start with
    tokens_.push_back(std::move(s));
  }
}

std::optional<std::size_t> Access::authenticate(std::string_view authorization) const {
  constexpr std::string_view kPrefix = "Bearer ";
  if (authorization.size() <= kPrefix.size() ||
      authorization.substr(0, kPrefix.size()) != kPrefix) {
    return std::nullopt;
  }
  const std::string_view token = authorization.substr(kPrefix.size());
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  std::optional<std::size_t> match;
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (CRYPTO_memcmp(digest, tokens_[i].config.sha256.data(), SHA256_DIGEST_LENGTH) == 0)
      match = i;
  }
  return match;
}

bool Access::allows(std::size_t token, Role role) const {
  const std::vector<Role>& roles = tokens_[token].config.roles;  // immutable: no lock
  auto has = [&](Role r) { return std::find(roles.begin(), roles.end(), r) != roles.end(); };
  return has(role) || (role == Role::kRead && has(Role::kAdmin));
}

void Access::refill(State& s, Clock::time_point now) const {
  const double rate = s.config.reports_per_second;
  if (rate > 0) {
    const double elapsed = std::chrono::duration<double>(now - s.refilled).count();
    s.bucket = std::min(rate, s.bucket + std::max(0.0, elapsed) * rate);
  }
  s.refilled = now;
  if (utc_day(now) != s.day) {
    s.day = utc_day(now);
    s.used_today = 0;
  }
}

QuotaDecision Access::admit(std::size_t token, uint64_t reports, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  State& s = tokens_[token];
  refill(s, now);
  if (s.config.daily_quota > 0 && s.used_today + reports > s.config.daily_quota) {
    const auto tomorrow = std::chrono::hours(24 * (s.day + 1));
    const double wait = std::chrono::duration<double>(tomorrow - now.time_since_epoch()).count();
    return {false, static_cast<int>(std::ceil(wait)),
            "token \"" + s.config.name + "\" has used " + std::to_string(s.used_today) +
                " of its " + std::to_string(s.config.daily_quota) + " reports for today"};
  }
  // A batch may take the bucket below zero (batches are larger than a second's budget at low
  // rates); the debt is paid back before the next one is admitted.
  if (s.config.reports_per_second > 0 && s.bucket <= 0) {
    return {false, static_cast<int>(std::ceil(-s.bucket / s.config.reports_per_second)) + 1,
            "token \"" + s.config.name + "\" is over its rate of " +
                std::to_string(static_cast<uint64_t>(s.config.reports_per_second)) + " reports/s"};
  }
  if (s.config.reports_per_second > 0) s.bucket -= static_cast<double>(reports);
  s.used_today += reports;
  return {};
}

void Access::refund(std::size_t token, uint64_t reports, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  State& s = tokens_[token];
  refill(s, now);
  if (s.config.reports_per_second > 0) {
    s.bucket = std::min(s.config.reports_per_second, s.bucket + static_cast<double>(reports));
  }
  s.used_today -= std::min(s.used_today, reports);
}

}  // namespace residue

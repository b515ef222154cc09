#include "guard/token_bucket.h"

#include <algorithm>

namespace bulwark::guard {

using internal::CeilDivSaturated;
using internal::CeilToMillis;
using internal::Uint128;
using DenyReason = RateLimitDecision::DenyReason;

Result<TokenBucket> TokenBucket::Create(const RateLimitPolicy& policy) {
  BULWARK_RETURN_IF_ERROR(ValidateRateLimitPolicy(policy));
  if (policy.algorithm != RateLimitPolicy::Algorithm::kTokenBucket) {
    return Err(InvalidArgumentError("rate limit policy: not a token bucket"));
  }
  const auto window_ns = std::chrono::nanoseconds(policy.window).count();
  return TokenBucket(policy.limit, policy.limit + policy.burst, static_cast<uint64_t>(window_ns));
}

int64_t TokenBucket::NanosToNextToken(uint64_t tokens, uint64_t fraction) const {
  if (tokens >= capacity_) return 0;
  const uint64_t units = window_ns_ - fraction;  // < 2^47: a 64-bit division
  return static_cast<int64_t>(units / limit_ + (units % limit_ != 0 ? 1 : 0));
}

RateLimitDecision TokenBucket::Take(State& state, int64_t now_ns, uint64_t cost) const {
  const Uint128 now = Uint128{static_cast<uint64_t>(std::max<int64_t>(now_ns, 0))} * limit_;
  const Uint128 tat = std::max(state.tat, now);
  const Uint128 full_at = now + tau_;
  // tat > full_at only when `now` lags a reading already applied: no tokens.
  const Uint128 available = tat < full_at ? full_at - tat : 0;

  RateLimitDecision decision{.limit = limit_};
  Uint128 left = available;
  if (cost > capacity_) {
    decision.deny_reason = DenyReason::kCostExceedsCapacity;
  } else if (const Uint128 need = Uint128{cost} * window_ns_; need <= available) {
    state.tat = tat + need;
    left = available - need;
    decision.allowed = true;
  } else {
    decision.deny_reason = DenyReason::kQuotaExhausted;
    decision.retry_after = CeilToMillis(CeilDivSaturated(need - available, limit_));
  }
  const internal::QuotientRemainder tokens = internal::DivMod(left, window_ns_);
  decision.remaining = static_cast<uint64_t>(tokens.quotient);  // <= capacity_
  decision.reset = CeilToMillis(NanosToNextToken(decision.remaining, tokens.remainder));
  return decision;
}

bool TokenBucket::IsIdle(const State& state, int64_t now_ns) const {
  return state.tat <= Uint128{static_cast<uint64_t>(std::max<int64_t>(now_ns, 0))} * limit_;
}

}  // namespace bulwark::guard

#include "guard/sliding_window.h"

#include <algorithm>

#include "guard/fixed_point.h"

namespace bulwark::guard {

using internal::CeilToMillis;
using internal::Uint128;
using DenyReason = RateLimitDecision::DenyReason;

Result<SlidingWindow> SlidingWindow::Create(const RateLimitPolicy& policy) {
  BULWARK_RETURN_IF_ERROR(ValidateRateLimitPolicy(policy));
  if (policy.algorithm != RateLimitPolicy::Algorithm::kSlidingWindow) {
    return Err(InvalidArgumentError("rate limit policy: not a sliding window"));
  }
  return SlidingWindow(policy.limit, std::chrono::nanoseconds(policy.window).count());
}

int64_t SlidingWindow::NanosUntilFits(const State& state, int64_t elapsed, uint64_t cost) const {
  const auto window = static_cast<uint64_t>(window_ns_);
  if (cost <= limit_ - state.current) {  // current <= limit_ always
    // Fits in this window once previous * (window - e) <= slack, which the
    // denial says is not yet so; previous > 0 follows.
    const Uint128 slack = Uint128{limit_ - state.current - cost} * window;
    const auto fits_at = static_cast<int64_t>(
        window - static_cast<uint64_t>(internal::DivMod(slack, state.previous).quotient));
    return fits_at - elapsed;
  }
  // Only in the next window, where `current` becomes the weighted previous:
  // current * (window - e') <= (limit - cost) * window, with current > 0.
  const Uint128 slack = Uint128{limit_ - cost} * window;
  const auto fits_at = static_cast<int64_t>(
      window - static_cast<uint64_t>(internal::DivMod(slack, state.current).quotient));
  return (window_ns_ - elapsed) + fits_at;
}

RateLimitDecision SlidingWindow::Take(State& state, int64_t now_ns, uint64_t cost) const {
  now_ns = std::max<int64_t>(now_ns, 0);
  int64_t index = now_ns / window_ns_;
  int64_t elapsed = now_ns % window_ns_;
  if (index < state.window) {
    index = state.window;
    elapsed = 0;
  } else if (index == state.window + 1) {
    state = {.window = index, .current = 0, .previous = state.current};
  } else if (index > state.window + 1) {
    state = {.window = index};
  }

  const auto window = static_cast<uint64_t>(window_ns_);
  const Uint128 quota = Uint128{limit_} * window;
  Uint128 used = Uint128{state.previous} * static_cast<uint64_t>(window_ns_ - elapsed) +
                 Uint128{state.current} * window;

  RateLimitDecision decision{.limit = limit_, .reset = CeilToMillis(window_ns_ - elapsed)};
  if (cost > limit_) {
    decision.deny_reason = DenyReason::kCostExceedsCapacity;
  } else if (const Uint128 need = Uint128{cost} * window; used + need <= quota) {
    state.current += cost;
    used += need;
    decision.allowed = true;
  } else {
    decision.deny_reason = DenyReason::kQuotaExhausted;
    decision.retry_after = CeilToMillis(NanosUntilFits(state, elapsed, cost));
  }
  decision.remaining =
      used >= quota ? 0 : static_cast<uint64_t>(internal::DivMod(quota - used, window).quotient);
  // With nothing left, the window's end says nothing of when the next unit
  // comes: the previous window's weight may hold the quota past it (it
  // falls as the window slides), or let a unit in before. Then the reset is
  // when one unit fits, never after a denial's retry_after.
  if (decision.remaining == 0 && cost <= limit_) {
    decision.reset = CeilToMillis(NanosUntilFits(state, elapsed, 1));
  }
  return decision;
}

bool SlidingWindow::IsIdle(const State& state, int64_t now_ns) const {
  const int64_t index = std::max<int64_t>(now_ns, 0) / window_ns_;
  if (index >= state.window + 2) return true;
  if (index == state.window + 1) return state.current == 0;
  return index == state.window && state.current == 0 && state.previous == 0;
}

}  // namespace bulwark::guard

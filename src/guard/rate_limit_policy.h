// RateLimitPolicy and RateLimitDecision: what a rate limit allows, and what it
// answered for one request. Shared by the algorithms (token_bucket.h,
// sliding_window.h), the keyed limiter (rate_limiter.h) and the response
// headers (rate_limit_headers.h).
#ifndef BULWARK_GUARD_RATE_LIMIT_POLICY_H_
#define BULWARK_GUARD_RATE_LIMIT_POLICY_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace bulwark::guard {

// One quota: at most `limit` units of cost per `window`, for each key.
struct RateLimitPolicy {
  enum class Algorithm {
    // Tokens refill continuously at limit/window up to limit + burst; a
    // request takes `cost` tokens. Smooth, and allows bursts of limit + burst.
    kTokenBucket,
    // Cloudflare's sliding-window counter: the count in the current fixed
    // window plus the previous window's count weighted by how much of the
    // previous window the sliding window still overlaps.
    kSlidingWindow,
  };
  Algorithm algorithm = Algorithm::kTokenBucket;
  // Units of cost per window; for the token bucket, the bucket capacity
  // (before burst) and the number of tokens refilled per window. At least 1.
  uint64_t limit = 0;
  // Between 1 ms and 1 day. For the token bucket, the time to refill `limit`.
  std::chrono::milliseconds window{0};
  // Extra token-bucket capacity above `limit`; must be 0 for kSlidingWindow.
  uint64_t burst = 0;
  // The policy identifier sent in RateLimit-Policy and RateLimit: 1 to 64
  // printable ASCII characters (0x20-0x7E).
  std::string name;
};

// Returns OK if `policy` is usable, else kInvalidArgument naming the field:
// limit < 1, window outside [1 ms, 1 day], limit + burst overflowing,
// burst on a sliding window, or a bad name.
Status ValidateRateLimitPolicy(const RateLimitPolicy& policy);

// The answer for one request.
struct RateLimitDecision {
  enum class DenyReason {
    kNone,                 // allowed
    kQuotaExhausted,       // try again after retry_after
    kCostExceedsCapacity,  // cost can never fit the policy; retrying cannot help
    kKeyLimitReached,      // the limiter holds max_keys live keys (fail closed)
  };
  bool allowed = false;
  // The policy's limit (the quota "q" of the RateLimit-Policy header).
  uint64_t limit = 0;
  // Whole units of cost available after this request (the "r" of the
  // RateLimit header). With a token-bucket burst it may exceed `limit`;
  // the RateLimit field then says `limit` (guard/rate_limit_headers.h).
  uint64_t remaining = 0;
  // Time until the available quota next grows, rounded up to whole ms: for
  // the token bucket until the next whole token arrives (0 if the bucket is
  // full); for the sliding window until the current window ends, or with
  // nothing remaining, until one unit fits. Until then the client can use no
  // more than `remaining`.
  std::chrono::milliseconds reset{0};
  // When denied for kQuotaExhausted, the exact wait (rounded up to whole ms)
  // after which the same request would be allowed, absent other traffic on
  // the key; for kKeyLimitReached a hint of one window. 0 when allowed and
  // for kCostExceedsCapacity.
  std::chrono::milliseconds retry_after{0};
  DenyReason deny_reason = DenyReason::kNone;
};

}  // namespace bulwark::guard

#endif  // BULWARK_GUARD_RATE_LIMIT_POLICY_H_

#include "guard/rate_limit_policy.h"

#include <limits>

namespace bulwark::guard {

Status ValidateRateLimitPolicy(const RateLimitPolicy& policy) {
  using Algorithm = RateLimitPolicy::Algorithm;
  if (policy.algorithm != Algorithm::kTokenBucket &&
      policy.algorithm != Algorithm::kSlidingWindow) {
    return InvalidArgumentError("rate limit policy: unknown algorithm");
  }
  if (policy.limit < 1) return InvalidArgumentError("rate limit policy: limit must be at least 1");
  if (policy.window < std::chrono::milliseconds(1) || policy.window > std::chrono::days(1)) {
    return InvalidArgumentError("rate limit policy: window must be between 1 ms and 1 day");
  }
  if (policy.algorithm == Algorithm::kSlidingWindow && policy.burst != 0) {
    return InvalidArgumentError("rate limit policy: burst applies only to the token bucket");
  }
  if (policy.burst > std::numeric_limits<uint64_t>::max() - policy.limit) {
    return InvalidArgumentError("rate limit policy: limit + burst overflows");
  }
  if (policy.name.empty() || policy.name.size() > 64) {
    return InvalidArgumentError("rate limit policy: name must be 1 to 64 characters");
  }
  for (char c : policy.name) {
    if (c < 0x20 || c > 0x7e) {
      return InvalidArgumentError("rate limit policy: name must be printable ASCII");
    }
  }
  return OkStatus();
}

}  // namespace bulwark::guard

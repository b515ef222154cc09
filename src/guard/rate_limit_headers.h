// RateLimitHeaders: the response header fields that tell a client its quota.
//
// Follows draft-ietf-httpapi-ratelimit-headers-11 (23 May 2026), which
// replaced the RateLimit-Limit / -Remaining / -Reset trio of drafts up to -06
// with two Structured Field lists:
//
//   RateLimit-Policy: "per-ip";q=100;w=60   (section 3) quota q per window
//                                           of w whole seconds
//   RateLimit: "per-ip";r=42;t=30           (section 4) r units available;
//                                           within the next t seconds no
//                                           more than r are usable
//
// plus Retry-After (RFC 9110 section 10.2.3, delay-seconds) on a denial that
// waiting can cure.
#ifndef BULWARK_GUARD_RATE_LIMIT_HEADERS_H_
#define BULWARK_GUARD_RATE_LIMIT_HEADERS_H_

#include <string>

#include "guard/rate_limit_policy.h"

namespace bulwark::guard {

// Appends to `lines`, as the lines of a message head (each `name: value`
// and CRLF), in this order:
//   RateLimit-Policy: "<name>";q=<limit, scaled to w>;w=<window in s, rounded up>
//   RateLimit: "<name>";r=<remaining, at most limit>;t=<reset in s, rounded up>
//   Retry-After: <retry_after in s, rounded up, at least 1>
// Retry-After only when denied for kQuotaExhausted or kKeyLimitReached;
// kCostExceedsCapacity omits it since no wait helps. A sub-second or
// fractional window is advertised over the whole seconds it rounds up to (w
// must be whole seconds), its limit scaled to them and rounded down (10 per
// 200 ms is q=50;w=1). When denied, t is at
// most the Retry-After value, as section 6 of the draft asks. `policy` is
// assumed valid (its name is printable ASCII; '"' and '\' are escaped).
// What the gateway sends on every request of a rate-limited route.
void AppendRateLimitFieldLines(const RateLimitPolicy& policy, const RateLimitDecision& decision,
                               std::string& lines);

}  // namespace bulwark::guard

#endif  // BULWARK_GUARD_RATE_LIMIT_HEADERS_H_

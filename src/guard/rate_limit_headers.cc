#include "guard/rate_limit_headers.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "guard/fixed_point.h"

namespace bulwark::guard {
namespace {

int64_t CeilSeconds(std::chrono::milliseconds d) {
  const int64_t ms = std::max<int64_t>(d.count(), 0);
  return ms / 1000 + (ms % 1000 != 0 ? 1 : 0);
}

// The writers below put text at `w` and return the end of what they put.
// Callers size the space with ItemBound: they run on every request of a
// rate-limited route, so the fields are built in place, not append by append.

// An sf-string (RFC 8941 section 3.3.3) for a printable-ASCII name.
char* PutQuoted(char* w, std::string_view name) {
  *w++ = '"';
  for (char c : name) {
    if (c == '"' || c == '\\') *w++ = '\\';
    *w++ = c;
  }
  *w++ = '"';
  return w;
}

template <typename Int>
char* PutInt(char* w, Int v) {
  return std::to_chars(w, w + 20, v).ptr;  // 20 digits hold any 64-bit value
}

char* PutText(char* w, std::string_view text) {
  std::memcpy(w, text.data(), text.size());
  return w + text.size();
}

// `"<name>";<k1>=<v1>;<k2>=<v2>`.
template <typename Int1, typename Int2>
char* PutItem(char* w, std::string_view name, char k1, Int1 v1, char k2, Int2 v2) {
  w = PutQuoted(w, name);
  *w++ = ';';
  *w++ = k1;
  *w++ = '=';
  w = PutInt(w, v1);
  *w++ = ';';
  *w++ = k2;
  *w++ = '=';
  return PutInt(w, v2);
}

// The most PutItem writes for `name`: every character escaped, two numbers.
size_t ItemBound(std::string_view name) { return 2 * name.size() + 2 + 2 * (3 + 20); }

// The numbers both forms carry.
struct Values {
  bool retry;           // Retry-After goes with them
  int64_t retry_after;  // seconds, at least 1
  int64_t t;            // seconds to the reset, at most retry_after when denied
  int64_t window;       // the policy's window in whole seconds, at least 1
  uint64_t remaining;   // r: never above q
  uint64_t quota;       // q: the policy's limit, per `window` seconds
};

Values ValuesOf(const RateLimitPolicy& policy, const RateLimitDecision& decision) {
  using DenyReason = RateLimitDecision::DenyReason;
  Values v;
  v.retry = !decision.allowed && decision.deny_reason != DenyReason::kCostExceedsCapacity;
  v.retry_after = std::max<int64_t>(CeilSeconds(decision.retry_after), 1);
  v.t = CeilSeconds(decision.reset);
  if (v.retry) v.t = std::min(v.t, v.retry_after);
  v.window = std::max<int64_t>(CeilSeconds(policy.window), 1);
  // w is whole seconds; a window that is not is advertised over the whole
  // seconds it rounds up to, with its limit scaled to them (10 per 200 ms
  // is q=50;w=1), rounded down: the rate the policy allows, not a fifth.
  const auto window_ms = static_cast<uint64_t>(std::max<int64_t>(policy.window.count(), 1));
  const auto advertised_ms = static_cast<uint64_t>(v.window * 1000);
  v.quota = window_ms == advertised_ms
                ? policy.limit
                : internal::Saturate64(
                      internal::DivMod(internal::Uint128{policy.limit} * advertised_ms, window_ms)
                          .quotient);
  // A token bucket with a burst may hold more than a window's quota; the
  // draft's r counts units of the quota q names, so a client told r > q
  // would read a policy that is not there. The surplus is still admitted.
  v.remaining = std::min(decision.remaining, policy.limit);
  return v;
}

}  // namespace

void AppendRateLimitFieldLines(const RateLimitPolicy& policy, const RateLimitDecision& decision,
                               std::string& lines) {
  static constexpr std::string_view kPolicy = "RateLimit-Policy: ";
  static constexpr std::string_view kLimit = "\r\nRateLimit: ";
  static constexpr std::string_view kRetry = "\r\nRetry-After: ";
  const Values v = ValuesOf(policy, decision);
  const size_t at = lines.size();
  const size_t bound =
      kPolicy.size() + kLimit.size() + kRetry.size() + 2 * ItemBound(policy.name) + 20 + 2;
  lines.resize_and_overwrite(at + bound, [&](char* p, size_t) {
    char* w = PutText(p + at, kPolicy);
    w = PutItem(w, policy.name, 'q', v.quota, 'w', v.window);
    w = PutText(w, kLimit);
    w = PutItem(w, policy.name, 'r', v.remaining, 't', v.t);
    if (v.retry) {
      w = PutText(w, kRetry);
      w = PutInt(w, v.retry_after);
    }
    *w++ = '\r';
    *w++ = '\n';
    return w - p;
  });
}

}  // namespace bulwark::guard

#include "guard/rate_limit_headers.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace bulwark::guard {
namespace {

int64_t CeilSeconds(std::chrono::milliseconds d) {
  const int64_t ms = std::max<int64_t>(d.count(), 0);
  return ms / 1000 + (ms % 1000 != 0 ? 1 : 0);
}

// Appends an sf-string (RFC 8941 section 3.3.3) for a printable-ASCII name.
void AppendQuoted(std::string& out, const std::string& name) {
  if (std::none_of(name.begin(), name.end(), [](char c) { return c == '"' || c == '\\'; })) {
    out.append(1, '"').append(name).append(1, '"');
    return;
  }
  out.push_back('"');
  for (char c : name) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

template <typename Int>
void AppendInt(std::string& out, Int v) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), v);
  out.append(digits, end);
}

// `"<name>";<k1>=<v1>;<k2>=<v2>`.
template <typename Int1, typename Int2>
void AppendItem(std::string& out, const std::string& name, char k1, Int1 v1, char k2, Int2 v2) {
  AppendQuoted(out, name);
  out.append(1, ';').append(1, k1).append(1, '=');
  AppendInt(out, v1);
  out.append(1, ';').append(1, k2).append(1, '=');
  AppendInt(out, v2);
}

// The numbers both forms carry.
struct Values {
  bool retry;           // Retry-After goes with them
  int64_t retry_after;  // seconds, at least 1
  int64_t t;            // seconds to the reset, at most retry_after when denied
  int64_t window;       // the policy's window in whole seconds, at least 1
};

Values ValuesOf(const RateLimitPolicy& policy, const RateLimitDecision& decision) {
  using DenyReason = RateLimitDecision::DenyReason;
  Values v;
  v.retry = !decision.allowed && decision.deny_reason != DenyReason::kCostExceedsCapacity;
  v.retry_after = std::max<int64_t>(CeilSeconds(decision.retry_after), 1);
  v.t = CeilSeconds(decision.reset);
  if (v.retry) v.t = std::min(v.t, v.retry_after);
  v.window = std::max<int64_t>(CeilSeconds(policy.window), 1);
  return v;
}

}  // namespace

std::vector<HeaderField> RateLimitHeaders(const RateLimitPolicy& policy,
                                          const RateLimitDecision& decision) {
  const Values v = ValuesOf(policy, decision);
  std::vector<HeaderField> fields;
  fields.reserve(v.retry ? 3 : 2);
  AppendItem(fields.emplace_back("RateLimit-Policy", std::string()).second, policy.name, 'q',
             policy.limit, 'w', v.window);
  AppendItem(fields.emplace_back("RateLimit", std::string()).second, policy.name, 'r',
             decision.remaining, 't', v.t);
  if (v.retry) AppendInt(fields.emplace_back("Retry-After", std::string()).second, v.retry_after);
  return fields;
}

void AppendRateLimitFieldLines(const RateLimitPolicy& policy, const RateLimitDecision& decision,
                               std::string& lines) {
  const Values v = ValuesOf(policy, decision);
  lines.append("RateLimit-Policy: ");
  AppendItem(lines, policy.name, 'q', policy.limit, 'w', v.window);
  lines.append("\r\nRateLimit: ");
  AppendItem(lines, policy.name, 'r', decision.remaining, 't', v.t);
  lines.append("\r\n");
  if (v.retry) {
    lines.append("Retry-After: ");
    AppendInt(lines, v.retry_after);
    lines.append("\r\n");
  }
}

}  // namespace bulwark::guard

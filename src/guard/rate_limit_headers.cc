#include "guard/rate_limit_headers.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace bulwark::guard {
namespace {

int64_t CeilSeconds(std::chrono::milliseconds d) {
  const int64_t ms = std::max<int64_t>(d.count(), 0);
  return ms / 1000 + (ms % 1000 != 0 ? 1 : 0);
}

// An sf-string (RFC 8941 section 3.3.3) for a printable-ASCII name.
std::string QuotedName(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

std::vector<HeaderField> RateLimitHeaders(const RateLimitPolicy& policy,
                                          const RateLimitDecision& decision) {
  using DenyReason = RateLimitDecision::DenyReason;
  const std::string name = QuotedName(policy.name);
  const bool retry = !decision.allowed && decision.deny_reason != DenyReason::kCostExceedsCapacity;
  const int64_t retry_after = std::max<int64_t>(CeilSeconds(decision.retry_after), 1);
  int64_t t = CeilSeconds(decision.reset);
  if (retry) t = std::min(t, retry_after);

  std::vector<HeaderField> fields;
  fields.emplace_back("RateLimit-Policy",
                      fmt::format("{};q={};w={}", name, policy.limit,
                                  std::max<int64_t>(CeilSeconds(policy.window), 1)));
  fields.emplace_back("RateLimit", fmt::format("{};r={};t={}", name, decision.remaining, t));
  if (retry) fields.emplace_back("Retry-After", fmt::format("{}", retry_after));
  return fields;
}

}  // namespace bulwark::guard

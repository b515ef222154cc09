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

}  // namespace

std::vector<HeaderField> RateLimitHeaders(const RateLimitPolicy& policy,
                                          const RateLimitDecision& decision) {
  std::vector<HeaderField> fields;
  AppendRateLimitHeaders(policy, decision, fields);
  return fields;
}

void AppendRateLimitHeaders(const RateLimitPolicy& policy, const RateLimitDecision& decision,
                            std::vector<HeaderField>& fields) {
  using DenyReason = RateLimitDecision::DenyReason;
  const bool retry = !decision.allowed && decision.deny_reason != DenyReason::kCostExceedsCapacity;
  const int64_t retry_after = std::max<int64_t>(CeilSeconds(decision.retry_after), 1);
  int64_t t = CeilSeconds(decision.reset);
  if (retry) t = std::min(t, retry_after);

  // Built by appending: this runs on every request of a rate-limited route.
  // `"<name>";<k1>=<v1>;<k2>=<v2>`, reserved once (two 20-digit numbers fit).
  auto item = [&](std::string_view k1, auto v1, std::string_view k2, auto v2) {
    std::string out;
    out.reserve(policy.name.size() + 52);
    AppendQuoted(out, policy.name);
    out.append(";").append(k1).append("=");
    AppendInt(out, v1);
    out.append(";").append(k2).append("=");
    AppendInt(out, v2);
    return out;
  };
  fields.reserve(fields.size() + (retry ? 3 : 2));
  fields.emplace_back("RateLimit-Policy", item("q", policy.limit, "w",
                                               std::max<int64_t>(CeilSeconds(policy.window), 1)));
  fields.emplace_back("RateLimit", item("r", decision.remaining, "t", t));
  if (retry) {
    std::string& after = fields.emplace_back("Retry-After", std::string()).second;
    AppendInt(after, retry_after);
  }
}

}  // namespace bulwark::guard

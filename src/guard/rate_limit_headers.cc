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

  // `"<name>";<k1>=<v1>;<k2>=<v2>`. This runs on every request of a
  // rate-limited route: one allocation of the exact size, filled in place,
  // unless the name needs escaping.
  const bool plain_name = std::none_of(policy.name.begin(), policy.name.end(),
                                       [](char c) { return c == '"' || c == '\\'; });
  auto item = [&](char k1, auto v1, char k2, auto v2) {
    char n1[24], n2[24];
    const auto l1 = static_cast<size_t>(std::to_chars(n1, n1 + sizeof(n1), v1).ptr - n1);
    const auto l2 = static_cast<size_t>(std::to_chars(n2, n2 + sizeof(n2), v2).ptr - n2);
    std::string out;
    if (!plain_name) {
      AppendQuoted(out, policy.name);
      out.append(1, ';').append(1, k1).append(1, '=').append(n1, l1);
      out.append(1, ';').append(1, k2).append(1, '=').append(n2, l2);
      return out;
    }
    const std::string& name = policy.name;
    const size_t total = name.size() + 8 + l1 + l2;  // two quotes, ";k=" twice
    out.resize_and_overwrite(total, [&](char* p, size_t) {
      *p++ = '"';
      p = std::copy(name.begin(), name.end(), p);
      *p++ = '"';
      *p++ = ';';
      *p++ = k1;
      *p++ = '=';
      p = std::copy(n1, n1 + l1, p);
      *p++ = ';';
      *p++ = k2;
      *p++ = '=';
      std::copy(n2, n2 + l2, p);
      return total;
    });
    return out;
  };
  fields.reserve(fields.size() + (retry ? 3 : 2));
  fields.emplace_back("RateLimit-Policy", item('q', policy.limit, 'w',
                                               std::max<int64_t>(CeilSeconds(policy.window), 1)));
  fields.emplace_back("RateLimit", item('r', decision.remaining, 't', t));
  if (retry) {
    std::string& after = fields.emplace_back("Retry-After", std::string()).second;
    AppendInt(after, retry_after);
  }
}

}  // namespace bulwark::guard

#include "guard/rate_limit_headers.h"

#include <gmock/gmock.h>

#include <gtest/gtest.h>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "guard/rate_limiter.h"

namespace bulwark::guard {
namespace {

using namespace std::chrono_literals;
using testing::ElementsAre;
using testing::Pair;
using DenyReason = RateLimitDecision::DenyReason;

RateLimitPolicy Policy(std::chrono::milliseconds window = 60s) {
  return {.algorithm = RateLimitPolicy::Algorithm::kTokenBucket,
          .limit = 100,
          .window = window,
          .name = "api"};
}

// The fields AppendRateLimitFieldLines writes, as (name, value) pairs; each
// line must be `name: value` and CRLF.
std::vector<std::pair<std::string, std::string>> RateLimitHeaders(const RateLimitPolicy& policy,
                                                                  const RateLimitDecision& d) {
  std::string lines;
  AppendRateLimitFieldLines(policy, d, lines);
  std::vector<std::pair<std::string, std::string>> fields;
  for (size_t at = 0; at < lines.size();) {
    const size_t end = lines.find("\r\n", at);
    const size_t colon = lines.find(": ", at);
    if (end == std::string::npos || colon == std::string::npos || colon > end) {
      ADD_FAILURE() << "not a field line at " << at << " of " << lines;
      break;
    }
    fields.emplace_back(lines.substr(at, colon - at), lines.substr(colon + 2, end - colon - 2));
    at = end + 2;
  }
  return fields;
}

TEST(RateLimitHeadersTest, AllowedResponseCarriesPolicyAndServiceLimit) {
  RateLimitDecision d{.allowed = true, .limit = 100, .remaining = 42, .reset = 30s};
  EXPECT_THAT(RateLimitHeaders(Policy(), d),
              ElementsAre(Pair("RateLimit-Policy", "\"api\";q=100;w=60"),
                          Pair("RateLimit", "\"api\";r=42;t=30")));
}

// A bucket with a burst holds more than q; r never says so.
TEST(RateLimitHeadersTest, RemainingNeverExceedsTheQuota) {
  FakeClock clock;
  auto limiter = RateLimiter::Create({.algorithm = RateLimitPolicy::Algorithm::kTokenBucket,
                                      .limit = 10,
                                      .window = 10s,
                                      .burst = 5,
                                      .name = "bursty"},
                                     clock);
  ASSERT_TRUE(limiter.has_value());
  const RateLimitDecision first = limiter->Check("k");
  ASSERT_TRUE(first.allowed);
  ASSERT_GT(first.remaining, 10u);  // the burst is there to be taken
  EXPECT_THAT(RateLimitHeaders(limiter->policy(), first),
              ElementsAre(Pair("RateLimit-Policy", "\"bursty\";q=10;w=10"),
                          Pair("RateLimit", testing::StartsWith("\"bursty\";r=10;t="))));
}

// w is whole seconds: a window that is not is told over the seconds it
// rounds up to, its limit scaled to them (rounded down), so q/w is the
// policy's rate and not a fraction of it.
TEST(RateLimitHeadersTest, SecondsAreRoundedUpAndTheQuotaScaledToThem) {
  RateLimitDecision d{.allowed = true, .limit = 100, .remaining = 0, .reset = 29001ms};
  EXPECT_THAT(RateLimitHeaders(Policy(1500ms), d),
              ElementsAre(Pair("RateLimit-Policy", "\"api\";q=133;w=2"),
                          Pair("RateLimit", "\"api\";r=0;t=30")));
  RateLimitPolicy fifth = Policy(200ms);
  fifth.limit = 10;
  EXPECT_THAT(RateLimitHeaders(fifth, d), ElementsAre(Pair("RateLimit-Policy", "\"api\";q=50;w=1"),
                                                      Pair("RateLimit", "\"api\";r=0;t=30")));
  d.reset = 0ms;
  EXPECT_THAT(RateLimitHeaders(Policy(1ms), d),
              ElementsAre(Pair("RateLimit-Policy", "\"api\";q=100000;w=1"),
                          Pair("RateLimit", "\"api\";r=0;t=0")));
}

TEST(RateLimitHeadersTest, DenialAddsRetryAfterInWholeSecondsAtLeastOne) {
  RateLimitDecision d{.allowed = false,
                      .limit = 100,
                      .remaining = 0,
                      .reset = 4500ms,
                      .retry_after = 4500ms,
                      .deny_reason = DenyReason::kQuotaExhausted};
  EXPECT_THAT(RateLimitHeaders(Policy(), d),
              ElementsAre(Pair("RateLimit-Policy", "\"api\";q=100;w=60"),
                          Pair("RateLimit", "\"api\";r=0;t=5"), Pair("Retry-After", "5")));
  d.reset = 1ms;
  d.retry_after = 1ms;
  EXPECT_THAT(RateLimitHeaders(Policy(), d),
              ElementsAre(Pair("RateLimit-Policy", "\"api\";q=100;w=60"),
                          Pair("RateLimit", "\"api\";r=0;t=1"), Pair("Retry-After", "1")));
}

TEST(RateLimitHeadersTest, EffectiveWindowNeverEndsAfterRetryAfter) {
  // Sliding window: the window ends in 57 s but the previous window's weight
  // decays enough in 3 s.
  RateLimitDecision d{.allowed = false,
                      .limit = 100,
                      .remaining = 0,
                      .reset = 57s,
                      .retry_after = 3s,
                      .deny_reason = DenyReason::kQuotaExhausted};
  EXPECT_THAT(RateLimitHeaders(Policy(), d),
              ElementsAre(Pair("RateLimit-Policy", "\"api\";q=100;w=60"),
                          Pair("RateLimit", "\"api\";r=0;t=3"), Pair("Retry-After", "3")));
}

TEST(RateLimitHeadersTest, CostBeyondCapacityHasNoRetryAfter) {
  RateLimitDecision d{.allowed = false,
                      .limit = 100,
                      .remaining = 100,
                      .deny_reason = DenyReason::kCostExceedsCapacity};
  EXPECT_THAT(RateLimitHeaders(Policy(), d),
              ElementsAre(Pair("RateLimit-Policy", "\"api\";q=100;w=60"),
                          Pair("RateLimit", "\"api\";r=100;t=0")));
}

TEST(RateLimitHeadersTest, NameIsAnEscapedStructuredFieldString) {
  RateLimitPolicy policy = Policy();
  policy.name = R"(a"b\c)";
  ASSERT_TRUE(ValidateRateLimitPolicy(policy).ok());
  RateLimitDecision d{.allowed = true, .limit = 100, .remaining = 1, .reset = 1s};
  EXPECT_THAT(RateLimitHeaders(policy, d),
              ElementsAre(Pair("RateLimit-Policy", R"("a\"b\\c";q=100;w=60)"),
                          Pair("RateLimit", R"("a\"b\\c";r=1;t=1)")));
}

// Names short and long, with the largest numbers a decision can carry, are
// written whole.
TEST(RateLimitHeadersTest, LongNamesAndLargestNumbersAreWrittenWhole) {
  for (size_t size : {64u, 65u, 300u}) {
    RateLimitPolicy policy = Policy(24h);
    policy.name = std::string(size, 'n');
    policy.limit = std::numeric_limits<uint64_t>::max();
    RateLimitDecision d{.allowed = true,
                        .limit = policy.limit,
                        .remaining = std::numeric_limits<uint64_t>::max(),
                        .reset = 24h};
    const std::string quoted = "\"" + policy.name + "\"";
    EXPECT_THAT(RateLimitHeaders(policy, d),
                ElementsAre(Pair("RateLimit-Policy", quoted + ";q=18446744073709551615;w=86400"),
                            Pair("RateLimit", quoted + ";r=18446744073709551615;t=86400")))
        << size;
  }
}

TEST(RateLimitHeadersTest, LinesAreAppendedAfterWhatIsThere) {
  RateLimitPolicy quoted = Policy(1500ms);
  quoted.name = "per \"team\" \\ route";
  const RateLimitDecision d{.allowed = false,
                            .limit = 100,
                            .remaining = 0,
                            .reset = 59'001ms,
                            .retry_after = 1'500ms,
                            .deny_reason = DenyReason::kQuotaExhausted};
  std::string alone;
  AppendRateLimitFieldLines(quoted, d, alone);
  std::string after = "X: y\r\n";
  AppendRateLimitFieldLines(quoted, d, after);
  EXPECT_EQ(after, "X: y\r\n" + alone);
}

TEST(RateLimitHeadersTest, FromALimiterDecision) {
  FakeClock clock;
  auto limiter = RateLimiter::Create({.algorithm = RateLimitPolicy::Algorithm::kTokenBucket,
                                      .limit = 2,
                                      .window = 10s,
                                      .name = "per-ip"},
                                     clock);
  ASSERT_TRUE(limiter.has_value());
  (void)limiter->Check("203.0.113.7");
  RateLimitDecision last = limiter->Check("203.0.113.7");
  EXPECT_THAT(RateLimitHeaders(limiter->policy(), last),
              ElementsAre(Pair("RateLimit-Policy", "\"per-ip\";q=2;w=10"),
                          Pair("RateLimit", "\"per-ip\";r=0;t=5")));
  clock.Advance(1200ms);
  RateLimitDecision denied = limiter->Check("203.0.113.7");
  EXPECT_THAT(RateLimitHeaders(limiter->policy(), denied),
              ElementsAre(Pair("RateLimit-Policy", "\"per-ip\";q=2;w=10"),
                          Pair("RateLimit", "\"per-ip\";r=0;t=4"), Pair("Retry-After", "4")));
}

}  // namespace
}  // namespace bulwark::guard

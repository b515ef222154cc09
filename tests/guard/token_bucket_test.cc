#include "guard/token_bucket.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "core/clock.h"
#include "guard/rate_limiter.h"

namespace bulwark::guard {
namespace {

using namespace std::chrono_literals;
using DenyReason = RateLimitDecision::DenyReason;

RateLimiter Bucket(const Clock& clock, uint64_t limit, std::chrono::milliseconds window,
                   uint64_t burst = 0) {
  auto limiter = RateLimiter::Create({.algorithm = RateLimitPolicy::Algorithm::kTokenBucket,
                                      .limit = limit,
                                      .window = window,
                                      .burst = burst,
                                      .name = "tb"},
                                     clock);
  EXPECT_TRUE(limiter.has_value());
  return std::move(*limiter);
}

TEST(TokenBucketTest, AllowsExactlyLimitThenDenies) {
  FakeClock clock;
  RateLimiter limiter = Bucket(clock, 10, 60s);
  for (uint64_t i = 0; i < 10; ++i) {
    RateLimitDecision d = limiter.Check("k");
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.limit, 10u);
    EXPECT_EQ(d.remaining, 9 - i);
    EXPECT_EQ(d.retry_after, 0ms);
  }
  RateLimitDecision d = limiter.Check("k");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.deny_reason, DenyReason::kQuotaExhausted);
  EXPECT_EQ(d.remaining, 0u);
}

TEST(TokenBucketTest, RefillsOneTokenEveryWindowOverLimit) {
  FakeClock clock;
  RateLimiter limiter = Bucket(clock, 10, 60s);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter.Check("k").allowed);
  clock.Advance(5999ms);
  EXPECT_FALSE(limiter.Check("k").allowed);
  clock.Advance(1ms);
  EXPECT_TRUE(limiter.Check("k").allowed);
  EXPECT_FALSE(limiter.Check("k").allowed);
}

TEST(TokenBucketTest, RefillsContinuouslyToTheNanosecond) {
  // 3 per second: a token every 333,333,333.3 ns.
  FakeClock clock;
  RateLimiter limiter = Bucket(clock, 3, 1s);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.Check("k").allowed);
  clock.Advance(333'333'333ns);
  EXPECT_FALSE(limiter.Check("k").allowed);
  clock.Advance(1ns);
  EXPECT_TRUE(limiter.Check("k").allowed);
}

TEST(TokenBucketTest, DoesNotDriftOverManyWindows) {
  FakeClock clock;
  RateLimiter limiter = Bucket(clock, 3, 1s);
  for (int window = 0; window < 1000; ++window) {
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.Check("k").allowed) << window;
    ASSERT_FALSE(limiter.Check("k").allowed) << window;
    clock.Advance(1s);
  }
}

TEST(TokenBucketTest, BurstAddsCapacityButNotRate) {
  FakeClock clock;
  RateLimiter limiter = Bucket(clock, 10, 60s, /*burst=*/5);
  RateLimitDecision first = limiter.Check("k");
  EXPECT_EQ(first.limit, 10u);
  EXPECT_EQ(first.remaining, 14u);
  for (int i = 0; i < 14; ++i) ASSERT_TRUE(limiter.Check("k").allowed);
  RateLimitDecision denied = limiter.Check("k");
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.retry_after, 6s);
  clock.Advance(6s);
  EXPECT_TRUE(limiter.Check("k").allowed);
  EXPECT_FALSE(limiter.Check("k").allowed);
}

TEST(TokenBucketTest, CostTakesThatManyTokens) {
  FakeClock clock;
  RateLimiter limiter = Bucket(clock, 10, 60s);
  EXPECT_EQ(limiter.Check("k", 4).remaining, 6u);
  EXPECT_EQ(limiter.Check("k", 4).remaining, 2u);
  RateLimitDecision denied = limiter.Check("k", 4);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.remaining, 2u);
  EXPECT_EQ(denied.retry_after, 12s);          // two more tokens, 6 s each
  EXPECT_TRUE(limiter.Check("k", 2).allowed);  // a denial charges nothing
}

TEST(TokenBucketTest, CostAboveCapacityIsAlwaysDeniedAndChargesNothing) {
  FakeClock clock;
  RateLimiter limiter = Bucket(clock, 10, 60s, /*burst=*/5);
  RateLimitDecision d = limiter.Check("k", 16);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.deny_reason, DenyReason::kCostExceedsCapacity);
  EXPECT_EQ(d.retry_after, 0ms);
  EXPECT_EQ(d.remaining, 15u);
  EXPECT_TRUE(limiter.Check("k", 15).allowed);
}

TEST(TokenBucketTest, RetryAfterIsExact) {
  FakeClock clock;
  RateLimiter limiter = Bucket(clock, 10, 60s);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter.Check("k").allowed);
  EXPECT_EQ(limiter.Check("k").retry_after, 6000ms);
  clock.Advance(1500ms);
  EXPECT_EQ(limiter.Check("k").retry_after, 4500ms);
  EXPECT_EQ(limiter.Check("k", 3).retry_after, 16500ms);

  RateLimiter thirds = Bucket(clock, 3, 1s);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(thirds.Check("k").allowed);
  EXPECT_EQ(thirds.Check("k").retry_after, 334ms);  // 333.33 ms, rounded up
}

TEST(TokenBucketTest, ResetIsTimeToTheNextWholeToken) {
  FakeClock clock;
  RateLimiter limiter = Bucket(clock, 10, 60s);
  EXPECT_EQ(limiter.Check("k", 0).reset, 0ms);  // full bucket
  EXPECT_EQ(limiter.Check("k").reset, 6s);
  clock.Advance(2s);
  RateLimitDecision d = limiter.Check("k");
  EXPECT_EQ(d.remaining, 8u);  // 9 + 1/3 - 1
  EXPECT_EQ(d.reset, 4s);
}

TEST(TokenBucketTest, CostZeroReportsWithoutCharging) {
  FakeClock clock;
  RateLimiter limiter = Bucket(clock, 10, 60s);
  ASSERT_TRUE(limiter.Check("k", 3).allowed);
  RateLimitDecision peek = limiter.Check("k", 0);
  EXPECT_TRUE(peek.allowed);
  EXPECT_EQ(peek.remaining, 7u);
  EXPECT_EQ(limiter.Check("k", 0).remaining, 7u);
}

TEST(TokenBucketTest, HugeLimitsAndWindowsDoNotOverflow) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  FakeClock clock;
  RateLimiter wide = Bucket(clock, kMax - 1, std::chrono::days(1), /*burst=*/1);
  RateLimitDecision all = wide.Check("k", kMax);
  EXPECT_TRUE(all.allowed);
  EXPECT_EQ(all.remaining, 0u);
  EXPECT_EQ(wide.Check("k").retry_after, 1ms);  // a token every ~5 fs

  RateLimiter slow = Bucket(clock, 1, std::chrono::days(1), /*burst=*/kMax - 1);
  ASSERT_TRUE(slow.Check("k", kMax).allowed);
  EXPECT_EQ(slow.Check("k").retry_after, std::chrono::days(1));
  RateLimitDecision never = slow.Check("k", kMax);  // saturates instead of wrapping
  EXPECT_FALSE(never.allowed);
  EXPECT_GT(never.retry_after, std::chrono::days(100'000));

  clock.Advance(std::chrono::days(3650));
  EXPECT_EQ(wide.Check("k", 0).remaining, kMax);
  EXPECT_EQ(slow.Check("k", 0).remaining, 3650u);
}

TEST(TokenBucketTest, OlderClockReadingFromARacingThreadGrantsNothingExtra) {
  auto bucket = TokenBucket::Create({.limit = 2, .window = 1s, .name = "tb"});
  ASSERT_TRUE(bucket.has_value());
  TokenBucket::State state;
  const int64_t t = 5'000'000'000;
  ASSERT_TRUE(bucket->Take(state, t, 2).allowed);
  EXPECT_FALSE(bucket->Take(state, t - 1'000'000'000, 1).allowed);  // a reading 1 s older
  EXPECT_FALSE(bucket->Take(state, t, 1).allowed);
}

// Property: a denial's retry_after is exact to the millisecond: the same
// request is allowed after retry_after and denied 1 ms earlier.
TEST(TokenBucketTest, RetryAfterAndResetAreExactForRandomTraffic) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 200; ++round) {
    const uint64_t limit = 1 + rng() % 50;
    const auto window = std::chrono::milliseconds(1 + rng() % 5000);
    auto bucket =
        TokenBucket::Create({.limit = limit, .window = window, .burst = rng() % 5, .name = "tb"});
    ASSERT_TRUE(bucket.has_value());
    TokenBucket::State state;
    int64_t now = 0;
    for (int step = 0; step < 100; ++step) {
      now += static_cast<int64_t>(rng() % 50'000'000);
      const uint64_t cost = 1 + rng() % 3;
      const RateLimitDecision d = bucket->Take(state, now, cost);
      if (d.deny_reason == DenyReason::kQuotaExhausted) {
        const int64_t wait = std::chrono::nanoseconds(d.retry_after).count();
        TokenBucket::State later = state;
        TokenBucket::State earlier = state;
        ASSERT_TRUE(bucket->Take(later, now + wait, cost).allowed);
        ASSERT_FALSE(bucket->Take(earlier, now + wait - 1'000'000, cost).allowed);
      }
      if (d.reset > 0ms) {
        TokenBucket::State peek = state;
        const int64_t reset = std::chrono::nanoseconds(d.reset).count();
        ASSERT_EQ(bucket->Take(peek, now + reset - 1'000'000, 0).remaining, d.remaining);
        ASSERT_GT(bucket->Take(peek, now + reset, 0).remaining, d.remaining);
      }
    }
  }
}

}  // namespace
}  // namespace bulwark::guard

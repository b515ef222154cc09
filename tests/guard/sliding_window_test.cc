#include "guard/sliding_window.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "core/clock.h"
#include "guard/rate_limiter.h"

namespace bulwark::guard {
namespace {

using namespace std::chrono_literals;
using DenyReason = RateLimitDecision::DenyReason;

RateLimiter Window(const Clock& clock, uint64_t limit, std::chrono::milliseconds window) {
  auto limiter = RateLimiter::Create({.algorithm = RateLimitPolicy::Algorithm::kSlidingWindow,
                                      .limit = limit,
                                      .window = window,
                                      .name = "sw"},
                                     clock);
  EXPECT_TRUE(limiter.has_value());
  return std::move(*limiter);
}

TEST(SlidingWindowTest, AllowsExactlyLimitThenDenies) {
  FakeClock clock;
  RateLimiter limiter = Window(clock, 10, 60s);
  for (uint64_t i = 0; i < 10; ++i) {
    RateLimitDecision d = limiter.Check("k");
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 9 - i);
    // The window's end while some is left; with none left, when one unit
    // fits: 10 * (60 - e)/60 + 1 <= 10 from 6 s into the next window.
    EXPECT_EQ(d.reset, i < 9 ? 60s : 66s);
  }
  RateLimitDecision d = limiter.Check("k");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.deny_reason, DenyReason::kQuotaExhausted);
  EXPECT_EQ(d.remaining, 0u);
}

TEST(SlidingWindowTest, PreviousWindowWeighsByOverlap) {
  // 10 in the previous window; 25% into the current one the sliding window
  // still covers 75% of it: estimate 7.5, so 2 more fit and a third does not.
  FakeClock clock;
  RateLimiter limiter = Window(clock, 10, 60s);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter.Check("k").allowed);
  clock.Advance(75s);
  RateLimitDecision first = limiter.Check("k");
  EXPECT_TRUE(first.allowed);
  EXPECT_EQ(first.remaining, 1u);  // 10 - 8.5, rounded down
  EXPECT_EQ(first.reset, 45s);
  EXPECT_TRUE(limiter.Check("k").allowed);
  RateLimitDecision third = limiter.Check("k");
  EXPECT_FALSE(third.allowed);
  // At 18 s into the window the estimate is 10 * 42/60 + 2 = 9.
  EXPECT_EQ(third.retry_after, 3s);
  clock.Advance(2999ms);
  EXPECT_FALSE(limiter.Check("k").allowed);
  clock.Advance(1ms);
  EXPECT_TRUE(limiter.Check("k").allowed);
}

TEST(SlidingWindowTest, RetryAfterCrossesIntoTheNextWindowWhenThisOneIsFull) {
  FakeClock clock;
  RateLimiter limiter = Window(clock, 10, 60s);
  clock.Advance(30s);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter.Check("k").allowed);
  // Next window: 10 * (60 - e)/60 + 1 <= 10 from e = 6 s, i.e. 30 s + 6 s away.
  RateLimitDecision d = limiter.Check("k");
  EXPECT_EQ(d.retry_after, 36s);
  EXPECT_EQ(d.reset, 36s);  // not the window's end, when nothing comes back
  EXPECT_EQ(limiter.Check("k", 4).retry_after, 54s);  // 10 * (60 - e)/60 + 4 <= 10 at e = 24
  clock.Advance(35999ms);
  EXPECT_FALSE(limiter.Check("k").allowed);
  clock.Advance(1ms);
  EXPECT_TRUE(limiter.Check("k").allowed);
}

TEST(SlidingWindowTest, QuotaFullyReturnsAfterTwoWindows) {
  FakeClock clock;
  RateLimiter limiter = Window(clock, 10, 60s);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter.Check("k").allowed);
  clock.Advance(120s);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter.Check("k").allowed) << i;
  EXPECT_FALSE(limiter.Check("k").allowed);
}

TEST(SlidingWindowTest, CostCountsAsThatManyRequests) {
  FakeClock clock;
  RateLimiter limiter = Window(clock, 10, 60s);
  EXPECT_EQ(limiter.Check("k", 7).remaining, 3u);
  RateLimitDecision denied = limiter.Check("k", 4);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.remaining, 3u);
  EXPECT_TRUE(limiter.Check("k", 3).allowed);
}

TEST(SlidingWindowTest, CostAboveLimitIsAlwaysDenied) {
  FakeClock clock;
  RateLimiter limiter = Window(clock, 10, 60s);
  RateLimitDecision d = limiter.Check("k", 11);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.deny_reason, DenyReason::kCostExceedsCapacity);
  EXPECT_EQ(d.retry_after, 0ms);
  EXPECT_EQ(d.remaining, 10u);
  EXPECT_EQ(limiter.size(), 0u);
}

TEST(SlidingWindowTest, HugeLimitsAndWindowsDoNotOverflow) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  FakeClock clock;
  RateLimiter limiter = Window(clock, kMax, std::chrono::days(1));
  RateLimitDecision all = limiter.Check("k", kMax);
  EXPECT_TRUE(all.allowed);
  EXPECT_EQ(all.remaining, 0u);
  RateLimitDecision next = limiter.Check("k");
  EXPECT_FALSE(next.allowed);
  // The next window, 1 ns in: kMax * (1 - 1ns/1day) + 1 <= kMax.
  EXPECT_EQ(next.retry_after, std::chrono::days(1) + 1ms);
  clock.Advance(std::chrono::days(1) + 1ms);
  EXPECT_TRUE(limiter.Check("k").allowed);
  clock.Advance(std::chrono::days(3650));
  EXPECT_EQ(limiter.Check("k", 0).remaining, kMax);
}

TEST(SlidingWindowTest, OlderClockReadingFromARacingThreadGrantsNothingExtra) {
  auto window = SlidingWindow::Create({.algorithm = RateLimitPolicy::Algorithm::kSlidingWindow,
                                       .limit = 2,
                                       .window = 1s,
                                       .name = "sw"});
  ASSERT_TRUE(window.has_value());
  SlidingWindow::State state;
  ASSERT_TRUE(window->Take(state, 1'500'000'000, 2).allowed);  // window 1
  EXPECT_FALSE(window->Take(state, 900'000'000, 1).allowed);   // a reading from window 0
  EXPECT_EQ(state.current, 2u);
}

TEST(SlidingWindowTest, RetryAfterIsExactForRandomTraffic) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    const uint64_t limit = 1 + rng() % 50;
    const auto window_ms = static_cast<int64_t>(1 + rng() % 5000);
    auto window = SlidingWindow::Create({.algorithm = RateLimitPolicy::Algorithm::kSlidingWindow,
                                         .limit = limit,
                                         .window = std::chrono::milliseconds(window_ms),
                                         .name = "sw"});
    ASSERT_TRUE(window.has_value());
    SlidingWindow::State state;
    int64_t now = 0;
    for (int step = 0; step < 100; ++step) {
      now += static_cast<int64_t>(rng() % (window_ms * 200'000));
      const uint64_t cost = 1 + rng() % 3;
      const RateLimitDecision d = window->Take(state, now, cost);
      if (d.deny_reason != DenyReason::kQuotaExhausted) continue;
      const int64_t wait = std::chrono::nanoseconds(d.retry_after).count();
      SlidingWindow::State later = state;
      SlidingWindow::State earlier = state;
      ASSERT_TRUE(window->Take(later, now + wait, cost).allowed);
      ASSERT_FALSE(window->Take(earlier, now + wait - 1'000'000, cost).allowed);
    }
  }
}

}  // namespace
}  // namespace bulwark::guard

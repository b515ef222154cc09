#include "guard/rate_limiter.h"

#include <malloc.h>

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"

namespace bulwark::guard {
namespace {

using namespace std::chrono_literals;
using Algorithm = RateLimitPolicy::Algorithm;
using DenyReason = RateLimitDecision::DenyReason;

RateLimiter Make(const Clock& clock, Algorithm algorithm, uint64_t limit,
                 std::chrono::milliseconds window, RateLimiterOptions options = {}) {
  auto limiter = RateLimiter::Create(
      {.algorithm = algorithm, .limit = limit, .window = window, .name = "rl"}, clock, options);
  EXPECT_TRUE(limiter.has_value());
  return std::move(*limiter);
}

class RateLimiterTest : public testing::TestWithParam<Algorithm> {};

INSTANTIATE_TEST_SUITE_P(BothAlgorithms, RateLimiterTest,
                         testing::Values(Algorithm::kTokenBucket, Algorithm::kSlidingWindow),
                         [](const testing::TestParamInfo<Algorithm>& info) {
                           return info.param == Algorithm::kTokenBucket ? "TokenBucket"
                                                                        : "SlidingWindow";
                         });

TEST_P(RateLimiterTest, KeysAreIndependent) {
  FakeClock clock;
  RateLimiter limiter = Make(clock, GetParam(), 3, 60s);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.Check("10.0.0.1").allowed);
  EXPECT_FALSE(limiter.Check("10.0.0.1").allowed);
  EXPECT_TRUE(limiter.Check("10.0.0.2").allowed);
  EXPECT_EQ(limiter.Check("10.0.0.2").remaining, 1u);
  // Keys are bytes: no normalization, embedded NULs count.
  EXPECT_TRUE(limiter.Check(std::string("10.0.0.1\0x", 10)).allowed);
  EXPECT_EQ(limiter.size(), 3u);
}

// A long key (a header's value) is held as a digest: each is still its own
// key, and a flood of long ones costs no more memory than short ones.
TEST_P(RateLimiterTest, LongKeysAreKeptApartAndCostNoMoreThanShortOnes) {
  FakeClock clock;
  RateLimiter limiter = Make(clock, GetParam(), 2, 60s);
  const std::string long_key(16 * 1024, 'k');
  std::string other = long_key;
  other.back() = 'j';
  ASSERT_TRUE(limiter.Check(long_key).allowed);
  ASSERT_TRUE(limiter.Check(long_key).allowed);
  EXPECT_FALSE(limiter.Check(long_key).allowed);
  EXPECT_TRUE(limiter.Check(other).allowed);
  // Just over and at the length kept as it is.
  EXPECT_TRUE(limiter.Check(std::string(33, 'k')).allowed);
  EXPECT_TRUE(limiter.Check(std::string(32, 'k')).allowed);
  EXPECT_EQ(limiter.size(), 4u);
#if !defined(__SANITIZE_ADDRESS__)
  const size_t before = mallinfo2().uordblks;
  for (int i = 0; i < 2000; ++i) {
    std::string key = long_key;
    key.replace(0, 4, reinterpret_cast<const char*>(&i), 4);
    ASSERT_TRUE(limiter.Check(key).allowed);
  }
  // 2000 keys of 16 KiB would hold 32 MiB as they came.
  EXPECT_LT(mallinfo2().uordblks - before, size_t{2} << 20);
#endif
}

TEST_P(RateLimiterTest, ManyKeysWorkAndIdleOnesAreSweptAsNewOnesArrive) {
  FakeClock clock;
  RateLimiter limiter = Make(clock, GetParam(), 5, 1s);
  constexpr int kKeys = 100'000;
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(limiter.Check("old-" + std::to_string(i)).allowed);
  }
  EXPECT_EQ(limiter.size(), static_cast<size_t>(kKeys));
  EXPECT_EQ(limiter.Check("old-99999").remaining, 3u);

  clock.Advance(2s);  // every old key has fully recovered
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(limiter.Check("new-" + std::to_string(i)).allowed);
  }
  // Each shard doubled past its last sweep and dropped its idle keys; none
  // of the live new keys went.
  RateLimiterStats stats = limiter.stats();
  EXPECT_GE(stats.swept, 95'000u);
  EXPECT_LE(stats.keys, 105'000u);
  EXPECT_EQ(stats.key_limit_denials, 0u);
  EXPECT_EQ(limiter.Check("new-0").remaining, 3u);
}

TEST_P(RateLimiterTest, SweepDropsOnlyStateEquivalentToAbsent) {
  FakeClock clock;
  RateLimiter limiter = Make(clock, GetParam(), 4, 1s);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(limiter.Check("busy").allowed);
  ASSERT_TRUE(limiter.Check("light").allowed);
  EXPECT_EQ(limiter.SweepIdle(), 0u);  // both still count
  clock.Advance(200ms);                // "light" refills its token at 250 ms
  EXPECT_EQ(limiter.SweepIdle(), 0u);
  EXPECT_LT(limiter.Check("busy", 0).remaining, 4u);  // not yet recovered
  clock.Advance(2s);
  EXPECT_EQ(limiter.SweepIdle(), 2u);
  EXPECT_EQ(limiter.size(), 0u);
  // Forgotten keys behave exactly like fresh ones.
  EXPECT_EQ(limiter.Check("busy").remaining, 3u);
}

// After a flood the hash tables' buckets are given back too, not only the
// keys.
TEST_P(RateLimiterTest, SweepAfterAFloodGivesBackBuckets) {
  FakeClock clock;
  RateLimiter limiter = Make(clock, GetParam(), 4, 1s);
  for (int i = 0; i < 100'000; ++i)
    ASSERT_TRUE(limiter.Check("flood-" + std::to_string(i)).allowed);
  EXPECT_GE(limiter.stats().buckets, 100'000u);
  clock.Advance(2s);
  EXPECT_EQ(limiter.SweepIdle(), 100'000u);
  EXPECT_EQ(limiter.stats().keys, 0u);
  EXPECT_LE(limiter.stats().buckets, 64u * 16);
}

// The memory a flood's keys took goes back to the heap once they are swept,
// not only their count: the tables' entries live in arenas that a sweep
// drops whole, so nothing of the flood stays in the allocator's lists of
// small blocks. A few long keys stay live through it, in the new arenas.
TEST_P(RateLimiterTest, SweepAfterAFloodGivesBackTheKeysMemory) {
  FakeClock clock;
  RateLimiter limiter = Make(clock, GetParam(), 4, 1s);
  const size_t empty = limiter.stats().heap_bytes;
  for (int i = 0; i < 100'000; ++i)
    ASSERT_TRUE(limiter.Check("flood-" + std::to_string(i)).allowed);
  const size_t flooded = limiter.stats().heap_bytes;
  EXPECT_GE(flooded, empty + 100'000u * 64);
  clock.Advance(2s);
  const std::string kept(40, 'k');
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(limiter.Check(kept + std::to_string(i)).allowed);
  EXPECT_EQ(limiter.SweepIdle(), 100'000u);
  EXPECT_EQ(limiter.stats().keys, 100u);
  // What stays is the new arenas' first chunks, a few KiB a shard.
  EXPECT_LE(limiter.stats().heap_bytes, empty + 64 * 8 * 1024)
      << "empty: " << empty << ", flooded: " << flooded;
  // The keys kept are the same keys: each still has its one request spent.
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.Check(kept + std::to_string(i), 0).remaining, 3u);
  // And the limiter takes a second flood as it took the first.
  for (int i = 0; i < 100'000; ++i)
    ASSERT_TRUE(limiter.Check("second-" + std::to_string(i)).allowed);
  EXPECT_EQ(limiter.stats().keys, 100'100u);
}

TEST_P(RateLimiterTest, RequestsThatLeaveNoTraceAreNotStored) {
  FakeClock clock;
  RateLimiter limiter = Make(clock, GetParam(), 4, 1s);
  EXPECT_TRUE(limiter.Check("peek", 0).allowed);
  EXPECT_FALSE(limiter.Check("huge", 5).allowed);
  EXPECT_EQ(limiter.size(), 0u);
}

TEST_P(RateLimiterTest, BeyondMaxKeysNewKeysAreDeniedAndLiveKeysKept) {
  FakeClock clock;
  // 64 keys: one per shard.
  RateLimiter limiter = Make(clock, GetParam(), 10, 1s, {.max_keys = 64});
  std::vector<std::string> admitted;
  int refused = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "k" + std::to_string(i);
    RateLimitDecision d = limiter.Check(key);
    if (d.allowed) {
      admitted.push_back(key);
    } else {
      ++refused;
      EXPECT_EQ(d.deny_reason, DenyReason::kKeyLimitReached);
      EXPECT_EQ(d.retry_after, 1s);
      EXPECT_EQ(d.remaining, 0u);
    }
  }
  EXPECT_LE(admitted.size(), 64u);
  EXPECT_GE(admitted.size(), 32u);
  EXPECT_EQ(limiter.stats().key_limit_denials, static_cast<uint64_t>(refused));
  for (const std::string& key : admitted) {
    EXPECT_EQ(limiter.Check(key).remaining, 8u) << key;  // state survived the flood
  }
  clock.Advance(3s);  // every admitted key idle, and the full-shard sweep is due
  int later = 0;
  for (int i = 1000; i < 2000; ++i) later += limiter.Check("k" + std::to_string(i)).allowed;
  EXPECT_EQ(later, static_cast<int>(admitted.size()));
}

TEST_P(RateLimiterTest, ConcurrentChecksOnOneKeyNeverAdmitMoreThanTheLimit) {
  FakeClock clock;
  constexpr uint64_t kLimit = 20'000;
  RateLimiter limiter = Make(clock, GetParam(), kLimit, std::chrono::days(1));
  std::atomic<uint64_t> allowed{0};
  std::atomic<uint64_t> reported_remaining_sum{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) {
        RateLimitDecision d = limiter.Check("hot");
        if (d.allowed) {
          allowed.fetch_add(1, std::memory_order_relaxed);
          reported_remaining_sum.fetch_add(d.remaining, std::memory_order_relaxed);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(allowed.load(), kLimit);
  // Every remaining value 0..limit-1 was handed out exactly once: no lost update.
  EXPECT_EQ(reported_remaining_sum.load(), kLimit * (kLimit - 1) / 2);
}

TEST_P(RateLimiterTest, ConcurrentChecksOnManyKeysWhileTimeMoves) {
  FakeClock clock;
  RateLimiter limiter = Make(clock, GetParam(), 100, 10ms);
  std::atomic<bool> stop{false};
  std::thread ticker([&] {
    while (!stop.load()) clock.Advance(1ms);
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20'000; ++i) {
        (void)limiter.Check("t" + std::to_string(t) + "-" + std::to_string(i % 3000));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  stop = true;
  ticker.join();
  EXPECT_LE(limiter.size(), 12'000u);
}

TEST(RateLimiterMoveTest, MovedLimiterKeepsItsState) {
  FakeClock clock;
  RateLimiter a = Make(clock, Algorithm::kTokenBucket, 2, 1s);
  ASSERT_TRUE(a.Check("k").allowed);
  RateLimiter b = std::move(a);
  EXPECT_EQ(b.Check("k").remaining, 0u);
  EXPECT_EQ(b.policy().name, "rl");
}

}  // namespace
}  // namespace bulwark::guard

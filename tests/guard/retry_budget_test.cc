#include "guard/retry_budget.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>
#include <vector>

namespace bulwark::guard {
namespace {

using std::chrono::milliseconds;

TEST(RetryBudgetTest, AQuietUpstreamMayAlwaysRetryAFew) {
  RetryBudget budget({.percent = 20, .min_concurrent = 3});
  RetryBudget::Request request(budget);
  std::vector<RetryBudget::Retry> retries;
  for (int i = 0; i < 3; ++i) {
    retries.push_back(budget.TryRetry());
    EXPECT_TRUE(retries.back().admitted()) << i;
  }
  // A fourth at once would be a storm on a service with one request.
  EXPECT_FALSE(budget.TryRetry().admitted());
  EXPECT_EQ(budget.retries_in_flight(), 3);
  retries.pop_back();  // one ends: another may go
  EXPECT_TRUE(budget.TryRetry().admitted());
}

TEST(RetryBudgetTest, RetriesStayWithinTheirShareOfTheRequestsInFlight) {
  RetryBudget budget({.percent = 20, .min_concurrent = 3});
  std::vector<std::optional<RetryBudget::Request>> requests(100);
  for (auto& request : requests) request.emplace(budget);
  EXPECT_EQ(budget.requests_in_flight(), 100);
  std::vector<RetryBudget::Retry> retries;
  for (;;) {
    RetryBudget::Retry retry = budget.TryRetry();
    if (!retry.admitted()) break;
    retries.push_back(std::move(retry));
  }
  EXPECT_EQ(retries.size(), 20u);  // 20 % of 100
  // Fewer requests in flight: the share shrinks, and no new retry goes
  // until the ones in flight are within it.
  for (size_t i = 0; i < 50; ++i) requests[i].reset();
  EXPECT_FALSE(budget.TryRetry().admitted());
  retries.resize(9);
  retries.push_back(budget.TryRetry());
  EXPECT_TRUE(retries.back().admitted());  // the 10th of 50
  EXPECT_FALSE(budget.TryRetry().admitted());
}

TEST(RetryBudgetTest, ARetryMovedIsCountedOnce) {
  RetryBudget budget({.percent = 100, .min_concurrent = 1});
  RetryBudget::Request request(budget);
  RetryBudget::Retry first = budget.TryRetry();
  ASSERT_TRUE(first.admitted());
  RetryBudget::Retry second = std::move(first);
  EXPECT_FALSE(first.admitted());  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_TRUE(second.admitted());
  EXPECT_EQ(budget.retries_in_flight(), 1);
  second = RetryBudget::Retry();
  EXPECT_EQ(budget.retries_in_flight(), 0);
}

TEST(RetryBudgetTest, ThreadsRacingForTheLastSlotsNeverOverrunIt) {
  RetryBudget budget({.percent = 1, .min_concurrent = 5});
  RetryBudget::Request request(budget);
  std::atomic<int> admitted{0};
  std::atomic<int> most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        RetryBudget::Retry retry = budget.TryRetry();
        if (!retry.admitted()) continue;
        admitted.fetch_add(1);
        const int now = budget.retries_in_flight();
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_GT(admitted.load(), 0);
  EXPECT_LE(most.load(), 5);
  EXPECT_EQ(budget.retries_in_flight(), 0);
}

TEST(RetryBackoffTest, FullJitterUnderADoublingCeilingUpToTheMaximum) {
  const milliseconds base(25);
  const milliseconds max(250);
  // The largest draw reaches the ceiling: 25, 50, 100, 200, then 250.
  const uint64_t top = ~uint64_t{0};
  std::vector<int64_t> ceilings;
  for (int n = 1; n <= 6; ++n) {
    int64_t ceiling = 0;
    for (uint64_t draw = top - 300; draw != 0 && draw <= top; ++draw) {
      ceiling = std::max<int64_t>(ceiling, RetryBackoff(base, max, n, draw).count());
    }
    ceilings.push_back(ceiling);
  }
  EXPECT_EQ(ceilings, (std::vector<int64_t>{25, 50, 100, 200, 250, 250}));
  EXPECT_EQ(RetryBackoff(base, max, 3, 0), milliseconds(0));
  EXPECT_EQ(RetryBackoff(base, max, 1000, 7), milliseconds(7));  // no overflow
  EXPECT_EQ(RetryBackoff(milliseconds(0), max, 2, 7), milliseconds(0));
}

TEST(RetryAfterDelayTest, DeltaSecondsAndTheThreeDateForms) {
  using std::chrono::seconds;
  // 1994-11-06 08:49:37 UTC, and a second and a half before it.
  const std::chrono::sys_seconds date =
      std::chrono::sys_days(std::chrono::year(1994) / std::chrono::November / 6) +
      std::chrono::hours(8) + std::chrono::minutes(49) + seconds(37);
  const std::chrono::system_clock::time_point now = date - std::chrono::milliseconds(1500);
  EXPECT_EQ(RetryAfterDelay("120", now), seconds(120));
  EXPECT_EQ(RetryAfterDelay("0", now), seconds(0));
  EXPECT_EQ(RetryAfterDelay("99999999999999999999999", now), seconds(86400)) << "held to a day";
  // Rounded up: a retry never comes before the date.
  EXPECT_EQ(RetryAfterDelay("Sun, 06 Nov 1994 08:49:37 GMT", now), seconds(2));
  EXPECT_EQ(RetryAfterDelay("Sunday, 06-Nov-94 08:49:37 GMT", now), seconds(2));
  EXPECT_EQ(RetryAfterDelay("Sun Nov  6 08:49:37 1994", now), seconds(2));
  EXPECT_EQ(RetryAfterDelay("Sun, 06 Nov 1994 09:49:37 GMT", now), seconds(3602));
  EXPECT_EQ(RetryAfterDelay("Sat, 05 Nov 1994 08:49:37 GMT", now), seconds(0)) << "past";
  EXPECT_EQ(RetryAfterDelay("Sun, 06 Nov 2094 08:49:37 GMT", now), seconds(86400));
  EXPECT_EQ(RetryAfterDelay("Sun, 06 Nov 2300 08:49:37 GMT", now), seconds(86400)) << "no overflow";
  EXPECT_EQ(RetryAfterDelay("Sun, 06 Nov 1600 08:49:37 GMT", now), seconds(0));
  EXPECT_EQ(RetryAfterDelay("Sun, 06 Nov 9999 08:49:37 GMT", now), seconds(86400));
  EXPECT_EQ(RetryAfterDelay("Wed Nov 16 08:49:37 1994", now), seconds(86400)) << "a day on";
  EXPECT_EQ(RetryAfterDelay("Sun, 06 Nov 1994 08:49:60 GMT", now), seconds(25)) << "a leap second";
  // A two-digit year more than 50 years ahead is the century before's.
  const std::chrono::system_clock::time_point in_2025 =
      std::chrono::sys_days(std::chrono::year(2025) / std::chrono::January / 1);
  EXPECT_EQ(RetryAfterDelay("Monday, 06-Nov-76 08:49:37 GMT", in_2025), seconds(0)) << "1976";
  EXPECT_EQ(RetryAfterDelay("Monday, 06-Nov-74 08:49:37 GMT", in_2025), seconds(86400)) << "2074";
  for (std::string_view bad : {"", "-1", "1.5", "+3", "soon", "Sun, 06 Nov 1994 08:49:37 UTC",
                               "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 31 Feb 1994 08:49:37 GMT",
                               "Sun, 06 nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:49:37 GMT",
                               "Sun, 06 Nov 1994 08:49:37 GMT x", "Sun Nov 6 08:49:37 1994",
                               "Sunday, 06-Nov-1994 08:49:37 GMT"}) {
    EXPECT_FALSE(RetryAfterDelay(bad, now).has_value()) << bad;
  }
}

}  // namespace
}  // namespace bulwark::guard

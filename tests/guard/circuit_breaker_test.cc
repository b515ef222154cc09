#include "guard/circuit_breaker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace bulwark::guard {
namespace {

using State = CircuitBreaker::State;
using std::chrono::milliseconds;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  CircuitBreaker breaker_{{.failure_threshold = 3, .open_duration = milliseconds(1000)}, clock_};

  void Fail(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(breaker_.Allow());
      breaker_.RecordFailure();
    }
  }
};

TEST_F(CircuitBreakerTest, OpensAfterConsecutiveFailuresOnly) {
  Fail(2);
  ASSERT_TRUE(breaker_.Allow());
  breaker_.RecordSuccess();  // resets the run
  Fail(2);
  EXPECT_EQ(breaker_.state(), State::kClosed);
  Fail(1);
  EXPECT_EQ(breaker_.state(), State::kOpen);
  EXPECT_FALSE(breaker_.Allow());
}

TEST_F(CircuitBreakerTest, RefusesWhileOpenThenLetsOneProbeThrough) {
  Fail(3);
  clock_.Advance(milliseconds(999));
  EXPECT_FALSE(breaker_.Allow());
  clock_.Advance(milliseconds(1));
  EXPECT_TRUE(breaker_.Allow());
  EXPECT_EQ(breaker_.state(), State::kHalfOpen);
  EXPECT_FALSE(breaker_.Allow()) << "one probe at a time";
}

TEST_F(CircuitBreakerTest, SuccessfulProbeCloses) {
  Fail(3);
  clock_.Advance(milliseconds(1000));
  ASSERT_TRUE(breaker_.Allow());
  breaker_.RecordSuccess();
  EXPECT_EQ(breaker_.state(), State::kClosed);
  EXPECT_TRUE(breaker_.Allow());
  EXPECT_TRUE(breaker_.Allow());
}

// A probe that ended for its client's sake (an upload that failed) judges
// nothing: its slot is free for the next probe, and the state stays. A
// request let through while the breaker was closed frees no probe's slot.
TEST_F(CircuitBreakerTest, AnAbandonedProbeFreesItsSlotAndDecidesNothing) {
  using Admission = CircuitBreaker::Admission;
  const Admission before_opening = breaker_.Admit();
  ASSERT_EQ(before_opening, Admission::kAllowed);
  Fail(3);
  clock_.Advance(milliseconds(1000));
  const Admission probe = breaker_.Admit();
  ASSERT_EQ(probe, Admission::kProbe);
  ASSERT_EQ(breaker_.Admit(), Admission::kRefused);
  breaker_.RecordAbandoned(before_opening);  // held no slot: frees none
  EXPECT_EQ(breaker_.Admit(), Admission::kRefused);
  breaker_.RecordAbandoned(probe);
  EXPECT_EQ(breaker_.state(), State::kHalfOpen);
  const Admission next = breaker_.Admit();
  EXPECT_EQ(next, Admission::kProbe);
  EXPECT_FALSE(breaker_.Allow());
  breaker_.RecordAbandoned(next);
  breaker_.RecordAbandoned(next);  // never more slots than probes
  EXPECT_TRUE(breaker_.Allow());
  EXPECT_FALSE(breaker_.Allow());
  // Closed, it changes nothing either: the failures still count.
  breaker_.RecordSuccess();
  Fail(2);
  breaker_.RecordAbandoned(Admission::kAllowed);
  Fail(1);
  EXPECT_EQ(breaker_.state(), State::kOpen);
}

TEST_F(CircuitBreakerTest, FailedProbeReopensForAnotherFullPause) {
  Fail(3);
  clock_.Advance(milliseconds(1000));
  ASSERT_TRUE(breaker_.Allow());
  clock_.Advance(milliseconds(300));
  breaker_.RecordFailure();
  EXPECT_EQ(breaker_.state(), State::kOpen);
  clock_.Advance(milliseconds(999));
  EXPECT_FALSE(breaker_.Allow());
  clock_.Advance(milliseconds(1));
  EXPECT_TRUE(breaker_.Allow());
}

TEST_F(CircuitBreakerTest, ConcurrentCallersGetExactlyTheProbeSlots) {
  CircuitBreaker breaker(
      {.failure_threshold = 1, .open_duration = milliseconds(10), .half_open_probes = 2}, clock_);
  ASSERT_TRUE(breaker.Allow());
  breaker.RecordFailure();
  clock_.Advance(milliseconds(10));
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (breaker.Allow()) admitted++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 2);
  EXPECT_EQ(breaker.state(), State::kHalfOpen);
}

// The callers that arrive together as the pause ends: the thread that
// moves the breaker to half-open and those that see it half-open at once
// share the probe slots, and never get more between them.
TEST_F(CircuitBreakerTest, CallersAtTheEndOfThePauseGetNoMoreThanTheProbeSlots) {
  constexpr int kThreads = 4;
  for (int round = 0; round < 2000; ++round) {
    CircuitBreaker breaker(
        {.failure_threshold = 1, .open_duration = milliseconds(1), .half_open_probes = 1}, clock_);
    ASSERT_TRUE(breaker.Allow());
    breaker.RecordFailure();
    clock_.Advance(milliseconds(1));
    std::atomic<int> ready{0};
    std::atomic<int> probes{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        ready++;
        while (ready.load() < kThreads) {
        }
        for (int i = 0; i < 3; ++i) {
          if (breaker.Admit() == CircuitBreaker::Admission::kProbe) probes++;
        }
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(probes.load(), 1) << "round " << round;
  }
}

// The gauge and counter follow each move of state as it happens: closed,
// open, half-open, open again, half-open, closed.
TEST(CircuitBreakerMetricsTest, ShowEachChangeOfState) {
  metrics::MetricsRegistry registry;
  metrics::Gauge& state = registry.AddGauge("state", "state");
  metrics::Counter& opened = registry.AddCounter("opened_total", "opened");
  state.Set(7);  // the breaker says closed when it starts
  FakeClock clock;
  CircuitBreaker breaker({.failure_threshold = 2, .open_duration = milliseconds(100)}, clock,
                         {.state = &state, .opened = &opened});
  EXPECT_EQ(state.Value(), 0);
  ASSERT_TRUE(breaker.Allow());
  breaker.RecordFailure();
  EXPECT_EQ(state.Value(), 0) << "one failure of two";
  ASSERT_TRUE(breaker.Allow());
  breaker.RecordFailure();
  EXPECT_EQ(state.Value(), 1);
  EXPECT_EQ(opened.Value(), 1);
  EXPECT_FALSE(breaker.Allow());
  EXPECT_EQ(state.Value(), 1) << "a refusal moves nothing";
  clock.Advance(milliseconds(100));
  ASSERT_TRUE(breaker.Allow());
  EXPECT_EQ(state.Value(), 2);
  breaker.RecordFailure();  // the probe failed
  EXPECT_EQ(state.Value(), 1);
  EXPECT_EQ(opened.Value(), 2);
  clock.Advance(milliseconds(100));
  ASSERT_TRUE(breaker.Allow());
  breaker.RecordSuccess();
  EXPECT_EQ(state.Value(), 0);
  EXPECT_EQ(opened.Value(), 2);
}

// A breaker whose endpoint was replaced under the same series goes on
// deciding, and leaves the series to its successor.
TEST(CircuitBreakerMetricsTest, ABreakerThatStoppedReportingLeavesItsSeries) {
  metrics::MetricsRegistry registry;
  metrics::Gauge& state = registry.AddGauge("state", "state");
  metrics::Counter& opened = registry.AddCounter("opened_total", "opened");
  FakeClock clock;
  CircuitBreaker gone({.failure_threshold = 1}, clock, {.state = &state, .opened = &opened});
  gone.StopReporting();
  CircuitBreaker successor({.failure_threshold = 1}, clock, {.state = &state, .opened = &opened});
  ASSERT_TRUE(gone.Allow());
  gone.RecordFailure();
  EXPECT_EQ(gone.state(), State::kOpen);
  EXPECT_EQ(state.Value(), 0) << "the successor's closed state";
  EXPECT_EQ(opened.Value(), 0);
}

}  // namespace
}  // namespace bulwark::guard

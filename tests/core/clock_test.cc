#include "core/clock.h"

#include <chrono>

#include <gtest/gtest.h>

namespace bulwark {
namespace {

// The real clock's whole seconds come from the kernel's coarse clock: never
// ahead of a precise reading, and at most a tick behind it.
TEST(SystemClockTest, WholeSecondsAgreeWithThePreciseClock) {
  const SystemClock& clock = SystemClock::Default();
  for (int i = 0; i < 1000; ++i) {
    const auto before = std::chrono::system_clock::now();
    const int64_t seconds = clock.NowUnixSeconds();
    const auto after = std::chrono::system_clock::now();
    const auto at = std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
    EXPECT_LE(at, after);
    EXPECT_GT(at + std::chrono::seconds(1), before - std::chrono::milliseconds(50));
  }
}

}  // namespace
}  // namespace bulwark

#include "core/clock.h"

#include <time.h>

namespace bulwark {

int64_t SystemClock::NowUnixSeconds() const {
  timespec now{};
  if (clock_gettime(CLOCK_REALTIME_COARSE, &now) != 0) return Clock::NowUnixSeconds();
  return now.tv_sec;
}

SystemClock& SystemClock::Default() {
  static SystemClock clock;
  return clock;
}

}  // namespace bulwark

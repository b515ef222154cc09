#include "core/clock.h"

namespace bulwark {

SystemClock& SystemClock::Default() {
  static SystemClock clock;
  return clock;
}

}  // namespace bulwark

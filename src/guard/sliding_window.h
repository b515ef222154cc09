// SlidingWindow: the arithmetic of one sliding-window-counter policy, exact in
// integers (Cloudflare's approximation of a sliding log).
//
// Time is cut into fixed windows of `window` starting at the owner's origin.
// A key keeps the counts of its current and previous fixed windows; at a
// point `elapsed` into the current window the sliding window still overlaps
// (window - elapsed) / window of the previous one, so the estimated use is
//
//   previous * (window - elapsed) / window + current
//
// and a request is allowed if estimate + cost <= limit. The comparison is made
// multiplied through by `window`, so fractions are never rounded. Denied
// requests are not counted: a client that keeps knocking is not locked out
// longer than its own admitted traffic warrants.
#ifndef BULWARK_GUARD_SLIDING_WINDOW_H_
#define BULWARK_GUARD_SLIDING_WINDOW_H_

#include <cstdint>

#include "core/status.h"
#include "guard/rate_limit_policy.h"

namespace bulwark::guard {

class SlidingWindow {
 public:
  // Per-key state; value-initialized it is a key with no traffic.
  struct State {
    int64_t window = 0;     // index of the fixed window `current` counts
    uint64_t current = 0;   // cost admitted in that window
    uint64_t previous = 0;  // cost admitted in the window before it
  };

  // Fails with kInvalidArgument if the policy is invalid or not a sliding window.
  static Result<SlidingWindow> Create(const RateLimitPolicy& policy);

  // Applies a request of `cost` at `now_ns` (ns since the owner's origin,
  // >= 0) to `state`. A `now_ns` older than the state's window (a racing
  // reader of the clock) is taken as the start of the state's window, the
  // most conservative point. Not synchronized: the caller serializes access.
  RateLimitDecision Take(State& state, int64_t now_ns, uint64_t cost) const;

  // True if `state` at `now_ns` no longer affects any decision, i.e. is the
  // same as no state at all.
  bool IsIdle(const State& state, int64_t now_ns) const;

 private:
  SlidingWindow(uint64_t limit, int64_t window_ns) : limit_(limit), window_ns_(window_ns) {}

  // Ns from `elapsed` into the state's window until `cost` fits; the request
  // was just denied and cost <= limit_.
  int64_t NanosUntilFits(const State& state, int64_t elapsed, uint64_t cost) const;

  uint64_t limit_;
  int64_t window_ns_;
};

}  // namespace bulwark::guard

#endif  // BULWARK_GUARD_SLIDING_WINDOW_H_

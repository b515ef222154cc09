// CircuitBreaker: stops sending requests to an upstream that keeps failing,
// and lets a few probes through after a pause to find out when it is back.
//
//   closed     requests flow; `failure_threshold` consecutive failures open it
//   open       requests are refused at once (the gateway answers 503) until
//              `open_duration` has passed
//   half-open  up to `half_open_probes` requests at a time go through; one
//              success closes the breaker, one failure opens it again
//
// Lock-free (atomics only), so every io thread can consult one breaker per
// upstream on the request path. Time comes from the injected clock. With
// CircuitBreakerMetrics, each change of state is shown as it happens.
#ifndef BULWARK_GUARD_CIRCUIT_BREAKER_H_
#define BULWARK_GUARD_CIRCUIT_BREAKER_H_

#include <atomic>
#include <chrono>
#include <cstdint>

#include "core/clock.h"
#include "core/metrics.h"

namespace bulwark::guard {

// Where a breaker shows its state; either may be null. Both must outlive it.
struct CircuitBreakerMetrics {
  metrics::Gauge* state = nullptr;     // 0 closed, 1 open, 2 half-open
  metrics::Counter* opened = nullptr;  // times it opened (from closed or half-open)
};

struct CircuitBreakerOptions {
  int failure_threshold = 5;
  std::chrono::milliseconds open_duration{5000};
  int half_open_probes = 1;
};

class CircuitBreaker {
 public:
  enum class State { kClosed = 0, kOpen = 1, kHalfOpen = 2 };

  // `clock` must outlive the breaker. Options below 1 are raised to 1.
  CircuitBreaker(CircuitBreakerOptions options, const Clock& clock,
                 CircuitBreakerMetrics metrics = {});

  // Whether a request may be sent now, and if so whether as one of the
  // half-open probes. Every admission must be followed by exactly one
  // RecordSuccess, RecordFailure or RecordAbandoned for that request.
  enum class Admission { kRefused, kAllowed, kProbe };
  Admission Admit();
  bool Allow() { return Admit() != Admission::kRefused; }
  void RecordSuccess();
  void RecordFailure();
  // The request, admitted as `admission`, ended in a way that tells nothing
  // of the upstream (its client's body failed): the probe slot it held, if
  // any, is freed; nothing else changes.
  void RecordAbandoned(Admission admission);

  State state() const {
    return static_cast<State>(word_.load(std::memory_order_acquire) & kStateMask);
  }

  // Its gauge and counter are left to another breaker from now on (one
  // that replaced it under the same series); it goes on deciding.
  void StopReporting() { reporting_.store(false, std::memory_order_release); }

 private:
  int64_t NowNanos() const;
  // After this thread moved the state: the gauge shows the state as it is
  // now (settled against moves on other threads meanwhile), and an opening
  // is counted.
  void Moved(bool opened);

  // The state in the low bits of word_, and above them, while half-open,
  // the probes in flight: one word, so that a move of state and the count
  // of its probes change together, and no thread's probe is counted against
  // a state it did not see.
  static constexpr uint32_t kStateMask = 3;
  static constexpr uint32_t kOneProbe = 4;

  const CircuitBreakerOptions options_;
  const Clock& clock_;
  const CircuitBreakerMetrics metrics_;
  std::atomic<uint32_t> word_{static_cast<uint32_t>(State::kClosed)};
  std::atomic<int> consecutive_failures_{0};
  std::atomic<int64_t> opened_at_ns_{0};
  std::atomic<bool> reporting_{true};
};

}  // namespace bulwark::guard

#endif  // BULWARK_GUARD_CIRCUIT_BREAKER_H_

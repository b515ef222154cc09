#include "guard/circuit_breaker.h"

#include <algorithm>

namespace bulwark::guard {

namespace {
constexpr uint32_t kClosed = static_cast<uint32_t>(CircuitBreaker::State::kClosed);
constexpr uint32_t kOpen = static_cast<uint32_t>(CircuitBreaker::State::kOpen);
constexpr uint32_t kHalfOpen = static_cast<uint32_t>(CircuitBreaker::State::kHalfOpen);
}  // namespace

CircuitBreaker::CircuitBreaker(CircuitBreakerOptions options, const Clock& clock,
                               CircuitBreakerMetrics metrics)
    : options_{.failure_threshold = std::max(options.failure_threshold, 1),
               .open_duration = std::max(options.open_duration, std::chrono::milliseconds(1)),
               .half_open_probes = std::max(options.half_open_probes, 1)},
      clock_(clock),
      metrics_(metrics) {
  if (metrics_.state != nullptr) metrics_.state->Set(kClosed);
}

void CircuitBreaker::Moved(bool opened) {
  if (!reporting_.load(std::memory_order_acquire)) return;
  if (metrics_.state != nullptr) {
    // Set, then look again: a move on another thread between the load and
    // the Set would otherwise be overwritten with the older state. Any
    // later move sets the gauge itself after its own.
    for (State state = this->state();;) {
      metrics_.state->Set(static_cast<int>(state));
      const State now = this->state();
      if (now == state) break;
      state = now;
    }
  }
  if (opened && metrics_.opened != nullptr) metrics_.opened->Increment();
}

int64_t CircuitBreaker::NowNanos() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.Monotonic().time_since_epoch())
      .count();
}

CircuitBreaker::Admission CircuitBreaker::Admit() {
  const uint32_t probes = static_cast<uint32_t>(options_.half_open_probes);
  uint32_t word = word_.load(std::memory_order_acquire);
  while (true) {
    switch (word & kStateMask) {
      case kClosed:
        return Admission::kAllowed;
      case kOpen: {
        const int64_t open_ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(options_.open_duration).count();
        if (NowNanos() - opened_at_ns_.load(std::memory_order_acquire) < open_ns) {
          return Admission::kRefused;
        }
        // The pause is over: the thread that moves to half-open holds its
        // first probe.
        if (word_.compare_exchange_weak(word, kHalfOpen | kOneProbe, std::memory_order_acq_rel)) {
          Moved(/*opened=*/false);
          return Admission::kProbe;
        }
        break;
      }
      default:  // half-open
        if (word / kOneProbe >= probes) return Admission::kRefused;
        if (word_.compare_exchange_weak(word, word + kOneProbe, std::memory_order_acq_rel)) {
          return Admission::kProbe;
        }
        break;
    }
  }
}

void CircuitBreaker::RecordSuccess() {
  consecutive_failures_.store(0, std::memory_order_release);
  uint32_t word = word_.load(std::memory_order_acquire);
  while ((word & kStateMask) == kHalfOpen) {
    if (word_.compare_exchange_weak(word, kClosed, std::memory_order_acq_rel)) {
      Moved(/*opened=*/false);
      return;
    }
  }
}

void CircuitBreaker::RecordAbandoned(Admission admission) {
  if (admission != Admission::kProbe) return;
  // Never below zero: a move of state since Admit has let its probes go.
  // (A probe of an earlier half-open spell that is abandoned in a later one
  // frees a slot of that one: it is rare and errs by one probe.)
  uint32_t word = word_.load(std::memory_order_acquire);
  while ((word & kStateMask) == kHalfOpen && word >= kOneProbe) {
    if (word_.compare_exchange_weak(word, word - kOneProbe, std::memory_order_acq_rel)) return;
  }
}

void CircuitBreaker::RecordFailure() {
  // opened_at is written before the state turns open, so no thread can see
  // the open state with an old opening time.
  uint32_t word = word_.load(std::memory_order_acquire);
  if ((word & kStateMask) == kHalfOpen) {
    opened_at_ns_.store(NowNanos(), std::memory_order_release);
    while ((word & kStateMask) == kHalfOpen) {
      if (word_.compare_exchange_weak(word, kOpen, std::memory_order_acq_rel)) {
        Moved(/*opened=*/true);
        return;
      }
    }
  }
  const int failures = consecutive_failures_.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (failures < options_.failure_threshold || state() != State::kClosed) return;
  opened_at_ns_.store(NowNanos(), std::memory_order_release);
  uint32_t expected = kClosed;
  if (word_.compare_exchange_strong(expected, kOpen, std::memory_order_acq_rel)) {
    consecutive_failures_.store(0, std::memory_order_release);
    Moved(/*opened=*/true);
  }
}

}  // namespace bulwark::guard

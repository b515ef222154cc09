#include "guard/circuit_breaker.h"

#include <algorithm>

namespace bulwark::guard {

namespace {
constexpr int kClosed = static_cast<int>(CircuitBreaker::State::kClosed);
constexpr int kOpen = static_cast<int>(CircuitBreaker::State::kOpen);
constexpr int kHalfOpen = static_cast<int>(CircuitBreaker::State::kHalfOpen);
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
    for (int state = state_.load(std::memory_order_acquire);;) {
      metrics_.state->Set(state);
      const int now = state_.load(std::memory_order_acquire);
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
  int state = state_.load(std::memory_order_acquire);
  if (state == kClosed) return Admission::kAllowed;
  if (state == kOpen) {
    const int64_t open_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(options_.open_duration).count();
    if (NowNanos() - opened_at_ns_.load(std::memory_order_acquire) < open_ns) {
      return Admission::kRefused;
    }
    // The pause is over: one thread moves to half-open; everyone then
    // competes for the probe slots below.
    if (state_.compare_exchange_strong(state, kHalfOpen, std::memory_order_acq_rel)) {
      probes_in_flight_.store(0, std::memory_order_release);
      Moved(/*opened=*/false);
    } else if (state == kClosed) {
      return Admission::kAllowed;
    } else if (state == kOpen) {
      return Admission::kRefused;
    }
  }
  if (probes_in_flight_.fetch_add(1, std::memory_order_acq_rel) < options_.half_open_probes) {
    return Admission::kProbe;
  }
  probes_in_flight_.fetch_sub(1, std::memory_order_acq_rel);
  return Admission::kRefused;
}

void CircuitBreaker::RecordSuccess() {
  consecutive_failures_.store(0, std::memory_order_release);
  int expected = kHalfOpen;
  if (state_.compare_exchange_strong(expected, kClosed, std::memory_order_acq_rel)) {
    probes_in_flight_.store(0, std::memory_order_release);
    Moved(/*opened=*/false);
  }
}

void CircuitBreaker::RecordAbandoned(Admission admission) {
  if (admission != Admission::kProbe) return;
  if (state_.load(std::memory_order_acquire) != kHalfOpen) return;
  // Never below zero: a change of state since Allow reset the count.
  int probes = probes_in_flight_.load(std::memory_order_acquire);
  while (probes > 0 &&
         !probes_in_flight_.compare_exchange_weak(probes, probes - 1, std::memory_order_acq_rel)) {
  }
}

void CircuitBreaker::RecordFailure() {
  // opened_at is written before the state turns open, so no thread can see
  // the open state with an old opening time.
  if (state_.load(std::memory_order_acquire) == kHalfOpen) {
    opened_at_ns_.store(NowNanos(), std::memory_order_release);
    int expected = kHalfOpen;
    if (state_.compare_exchange_strong(expected, kOpen, std::memory_order_acq_rel)) {
      probes_in_flight_.store(0, std::memory_order_release);
      Moved(/*opened=*/true);
      return;
    }
  }
  const int failures = consecutive_failures_.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (failures < options_.failure_threshold || state_.load(std::memory_order_acquire) != kClosed) {
    return;
  }
  opened_at_ns_.store(NowNanos(), std::memory_order_release);
  int expected = kClosed;
  if (state_.compare_exchange_strong(expected, kOpen, std::memory_order_acq_rel)) {
    consecutive_failures_.store(0, std::memory_order_release);
    Moved(/*opened=*/true);
  }
}

}  // namespace bulwark::guard

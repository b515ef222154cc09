// Clock: the injectable source of time. Code that checks expiry, rotation or
// rate limits takes a Clock& so tests can control time without sleeping.
#ifndef BULWARK_CORE_CLOCK_H_
#define BULWARK_CORE_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace bulwark {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (for token exp/nbf/iat), as a system_clock time point.
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time for intervals and deadlines.
  virtual std::chrono::steady_clock::time_point Monotonic() const = 0;

  // Seconds since the Unix epoch, the unit of JWT NumericDate.
  virtual int64_t NowUnixSeconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(Now().time_since_epoch()).count();
  }
};

// The real clock. Thread-safe; stateless.
class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::now();
  }
  // From the kernel's coarse wall clock: whole seconds need no more than
  // the time of its last tick (a few milliseconds behind at most), which is
  // read without the hardware counter a precise reading takes. A proxied
  // request with a cached token asks twice (the verification cache, the
  // authorization's time); one whose token is verified, once more (its exp
  // and nbf).
  int64_t NowUnixSeconds() const override;
  // A process-wide instance.
  static SystemClock& Default();
};

// A clock that moves only when told. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t unix_seconds = 1'700'000'000)
      : nanos_(unix_seconds * 1'000'000'000LL) {}

  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(nanos_.load())));
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::nanoseconds(nanos_.load())));
  }
  void Advance(std::chrono::nanoseconds d) { nanos_ += d.count(); }
  void SetUnixSeconds(int64_t s) { nanos_ = s * 1'000'000'000LL; }

 private:
  std::atomic<int64_t> nanos_;
};

}  // namespace bulwark

#endif  // BULWARK_CORE_CLOCK_H_

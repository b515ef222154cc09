// log::Throttle, for log lines a fault may repeat thousands of times a
// second. Apart from core/log.h, which every file includes.
#ifndef BULWARK_CORE_LOG_THROTTLE_H_
#define BULWARK_CORE_LOG_THROTTLE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

namespace bulwark::log {

// Lets a line that a fault may repeat thousands of times a second (an
// accept failing for want of descriptors) out at most once per `every`,
// counting those held back in between. Thread-safe, lock-free.
//
//   static log::Throttle throttle(std::chrono::seconds(10));
//   if (auto held = throttle.Pass()) log::Warn("x", {{"suppressed", *held}});
class Throttle {
 public:
  explicit Throttle(std::chrono::steady_clock::duration every) : every_(every.count()) {}
  // The count of lines held back since the last one let out, if this one
  // may go out; nullopt if it is held back (and counted).
  std::optional<int64_t> Pass();

 private:
  const std::chrono::steady_clock::rep every_;
  std::atomic<std::chrono::steady_clock::rep> next_{0};
  std::atomic<int64_t> held_{0};
};

}  // namespace bulwark::log

#endif  // BULWARK_CORE_LOG_THROTTLE_H_

// Exact integer arithmetic for the rate-limit algorithms. Internal to guard/.
//
// The algorithms multiply nanoseconds by limits and windows; those products
// need up to 127 bits, so they are computed in unsigned __int128 (a GCC and
// Clang extension, hence __extension__) and never rounded until a result is
// reported, which keeps the bucket from drifting.
#ifndef BULWARK_GUARD_FIXED_POINT_H_
#define BULWARK_GUARD_FIXED_POINT_H_

#include <chrono>
#include <cstdint>
#include <limits>

namespace bulwark::guard::internal {

__extension__ using Uint128 = unsigned __int128;

inline constexpr int64_t kNanosPerMilli = 1'000'000;

struct QuotientRemainder {
  Uint128 quotient;
  uint64_t remainder;
};

// a / b and a % b for b > 0. Most operands fit 64 bits, where a hardware
// division is several times cheaper than the 128-bit library call.
inline QuotientRemainder DivMod(Uint128 a, uint64_t b) {
  if (static_cast<uint64_t>(a >> 64) == 0) {
    const auto a64 = static_cast<uint64_t>(a);
    return {a64 / b, a64 % b};
  }
  return {a / b, static_cast<uint64_t>(a % b)};
}

// ceil(a / b) for b > 0, saturated to INT64_MAX.
inline int64_t CeilDivSaturated(Uint128 a, uint64_t b) {
  const QuotientRemainder qr = DivMod(a, b);
  const Uint128 q = qr.quotient + (qr.remainder != 0 ? 1 : 0);
  constexpr auto kMax = static_cast<Uint128>(std::numeric_limits<int64_t>::max());
  return q > kMax ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(q);
}

// `nanos` (>= 0) rounded up to whole milliseconds.
inline std::chrono::milliseconds CeilToMillis(int64_t nanos) {
  return std::chrono::milliseconds(nanos / kNanosPerMilli + (nanos % kNanosPerMilli != 0 ? 1 : 0));
}

// `x` clamped to uint64_t.
inline uint64_t Saturate64(Uint128 x) {
  constexpr auto kMax = static_cast<Uint128>(std::numeric_limits<uint64_t>::max());
  return x > kMax ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(x);
}

}  // namespace bulwark::guard::internal

#endif  // BULWARK_GUARD_FIXED_POINT_H_

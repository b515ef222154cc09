// TokenBucket: the arithmetic of one token-bucket policy, exact in integers.
//
// A bucket holds up to capacity = limit + burst tokens and refills
// continuously at `limit` tokens per `window`; a request of cost c takes c
// tokens or is denied whole. The bucket is kept as GCRA's theoretical arrival
// time (TAT): the instant at which the bucket would be full again. One number
// per key, and a key whose TAT has passed is a full bucket, exactly like a key
// never seen, so the keyed limiter may forget it.
//
// Time is counted in units of 1/limit ns, in which one token is worth exactly
// `window` (in ns) units: refill never rounds, so no drift accumulates however
// long a key lives.
#ifndef BULWARK_GUARD_TOKEN_BUCKET_H_
#define BULWARK_GUARD_TOKEN_BUCKET_H_

#include <cstdint>

#include "core/status.h"
#include "guard/fixed_point.h"
#include "guard/rate_limit_policy.h"

namespace bulwark::guard {

class TokenBucket {
 public:
  // Per-key state; value-initialized it is a full bucket.
  struct State {
    internal::Uint128 tat = 0;  // in 1/limit ns since the limiter's origin
  };

  // Fails with kInvalidArgument if the policy is invalid or not a token bucket.
  static Result<TokenBucket> Create(const RateLimitPolicy& policy);

  // Applies a request of `cost` at `now_ns` (ns since the owner's origin,
  // >= 0) to `state`, which is changed only if the request is allowed. A
  // `now_ns` slightly older than one already applied (a racing reader of the
  // clock) is treated conservatively. Not synchronized: the caller serializes
  // access to `state`.
  RateLimitDecision Take(State& state, int64_t now_ns, uint64_t cost) const;

  // True if `state` at `now_ns` is a full bucket, the same as no state at all.
  bool IsIdle(const State& state, int64_t now_ns) const;

 private:
  TokenBucket(uint64_t limit, uint64_t capacity, uint64_t window_ns)
      : limit_(limit),
        capacity_(capacity),
        window_ns_(window_ns),
        tau_(internal::Uint128{capacity} * window_ns) {}

  // Time in ns until the next whole token, given `tokens` whole tokens and
  // `fraction` units of a partial one.
  int64_t NanosToNextToken(uint64_t tokens, uint64_t fraction) const;

  uint64_t limit_;
  uint64_t capacity_;
  uint64_t window_ns_;     // one token, in 1/limit ns units
  internal::Uint128 tau_;  // a full bucket, in 1/limit ns units
};

}  // namespace bulwark::guard

#endif  // BULWARK_GUARD_TOKEN_BUCKET_H_

// RateLimiter: one RateLimitPolicy applied independently to many keys.
//
//   auto limiter = RateLimiter::Create({.algorithm = RateLimitPolicy::Algorithm::kTokenBucket,
//                                       .limit = 100, .window = std::chrono::minutes(1),
//                                       .name = "per-ip"}, clock);
//   RateLimitDecision d = limiter->Check(client_ip);
//   if (!d.allowed) { /* 429 with AppendRateLimitFieldLines(limiter->policy(), d, lines) */ }
//
// Keys are arbitrary byte strings (client IP, principal, API key id, route,
// header value). State lives in 64 shards, each a mutex and a hash table keyed
// by a secret-keyed SipHash (key_hash.h), so cores rarely meet on one lock and
// clients cannot choose colliding keys.
//
// Memory: a key whose state has fully recovered (a full bucket, or no count
// left in the sliding window) is the same as an absent key and is dropped
// lazily. A shard sweeps its idle keys when it grows to twice its size after
// the previous sweep, so sweeping costs O(1) amortized per new key and idle
// keys never outnumber live ones by more than about 2 to 1. Live state is
// never evicted: beyond `max_keys` live keys (default 1 million), requests from new keys are
// denied with kKeyLimitReached (fail closed) until keys go idle, rather than
// forgetting a client's usage, which would let a flood of fresh keys reset
// anyone's quota. Expect about 150 bytes a key: its entry, which holds the
// key (up to 32 bytes; a longer key is held as a 16-byte keyed digest of
// it), its bucket, and the arena's room to grow.
#ifndef BULWARK_GUARD_RATE_LIMITER_H_
#define BULWARK_GUARD_RATE_LIMITER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"
#include "guard/rate_limit_policy.h"

namespace bulwark::guard {

struct RateLimiterOptions {
  // The most live keys held: at about 150 bytes a key, the default holds
  // up to about 150 MB. Enforced per shard as ceil(max_keys / 64), so the
  // total may reach up to 63 more. A full shard sweeps idle keys at most once
  // a second before refusing a new key.
  static constexpr size_t kDefaultMaxKeys = 1'000'000;
  size_t max_keys = kDefaultMaxKeys;
};

struct RateLimiterStats {
  size_t keys = 0;                 // keys held, live or idle and not yet swept
  uint64_t swept = 0;              // idle keys dropped so far
  uint64_t key_limit_denials = 0;  // requests denied with kKeyLimitReached
  size_t buckets = 0;              // hash-table buckets allocated (a pointer each)
  size_t heap_bytes = 0;           // heap the keys' tables hold: entries, free or not, and buckets
};

class RateLimiter {
 public:
  // Fails with kInvalidArgument if the policy is invalid (see
  // ValidateRateLimitPolicy) or max_keys is 0. `clock` must outlive the
  // limiter; its Monotonic() time is read once per Check.
  static Result<RateLimiter> Create(RateLimitPolicy policy, const Clock& clock,
                                    RateLimiterOptions options = {});

  RateLimiter(RateLimiter&&) noexcept;
  RateLimiter& operator=(RateLimiter&&) noexcept;
  ~RateLimiter();

  // Charges `cost` units to `key` if the policy allows it and says so; a
  // denied request charges nothing. Cost 0 only reports the key's state.
  // Thread-safe. Holds one shard's lock for a hash lookup, or, on the Check
  // that triggers that shard's lazy sweep, for a pass over the shard
  // (amortized O(1) per new key).
  RateLimitDecision Check(std::string_view key, uint64_t cost = 1);

  const RateLimitPolicy& policy() const;

  // Keys held, live or idle and not yet swept. Thread-safe; locks each shard.
  size_t size() const;
  RateLimiterStats stats() const;

  // Drops every idle key now and returns how many; for a periodic sweep when
  // lazy sweeping is not enough (e.g. to return memory after a key flood: a
  // shard left sparse moves its keys to a fresh table and gives the old
  // one's memory back to the heap whole, entries and buckets).
  // Thread-safe; holds one shard lock at a time.
  size_t SweepIdle();

  class Impl;

 private:
  explicit RateLimiter(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace bulwark::guard

#endif  // BULWARK_GUARD_RATE_LIMITER_H_

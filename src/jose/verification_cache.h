// VerificationCache: remembers tokens that verified, so a token seen again
// costs a hash lookup instead of a signature check.
//
// Entries are keyed by a hash of the token and hold the whole token, so a hit
// requires byte equality (a hash collision is a miss, never a false hit).
// Each entry keeps the token's exp; an expired entry is never returned.
// Bounded twice: each of the shards holds at most capacity/shards entries and
// max_bytes/shards bytes, and evicts its oldest insertions to stay within
// both. The bytes are an estimate of an entry's heap: the token, its parsed
// claims (about twice the token) and fixed overhead. Without the byte bound
// a caller sending the largest tokens accepted could make the cache hold
// gigabytes before the entry bound stopped it. Thread-safe; shards keep
// threads apart.
#ifndef BULWARK_JOSE_VERIFICATION_CACHE_H_
#define BULWARK_JOSE_VERIFICATION_CACHE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bulwark::jose {

class VerifiedJwt;

class VerificationCache {
 public:
  static constexpr size_t kDefaultMaxBytes = size_t{64} << 20;

  explicit VerificationCache(size_t capacity, size_t max_bytes = kDefaultMaxBytes,
                             size_t shards = 16);

  // The bytes an entry for a token of `token_size` is charged.
  static size_t ChargeFor(size_t token_size);

  // The cached result for `token`, or null. `now` is Unix seconds; entries
  // past their exp are dropped. Only an entry inserted with the same
  // `generation` (the verifier's key-set generation) is returned, so a
  // result verified with keys since replaced is never served, even if it was
  // inserted after the replacement cleared the cache.
  std::shared_ptr<const VerifiedJwt> Lookup(std::string_view token, int64_t now,
                                            uint64_t generation = 0) const;

  // Remembers `jwt` for `token` until `expires_at` (Unix seconds; 0 = no exp).
  void Insert(std::string_view token, std::shared_ptr<const VerifiedJwt> jwt, int64_t expires_at,
              uint64_t generation = 0);

  void Clear();
  size_t size() const;
  // The bytes charged for the entries held.
  size_t bytes() const;

 private:
  struct Entry {
    std::string token;
    std::shared_ptr<const VerifiedJwt> jwt;
    int64_t expires_at;
    uint64_t generation;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<uint64_t, Entry> entries;  // guarded by mu
    std::deque<uint64_t> order;                   // insertion order; guarded by mu
    size_t bytes = 0;                             // charged for `entries`; guarded by mu
  };
  Shard& ShardFor(uint64_t hash) const { return shards_[hash % shards_.size()]; }

  size_t per_shard_;
  size_t bytes_per_shard_;
  mutable std::vector<Shard> shards_;
};

}  // namespace bulwark::jose

#endif  // BULWARK_JOSE_VERIFICATION_CACHE_H_

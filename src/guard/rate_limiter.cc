#include "guard/rate_limiter.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "guard/key_hash.h"
#include "guard/sliding_window.h"
#include "guard/token_bucket.h"

namespace bulwark::guard {

class RateLimiter::Impl {
 public:
  explicit Impl(RateLimitPolicy policy) : policy_(std::move(policy)) {}
  virtual ~Impl() = default;

  virtual RateLimitDecision Check(std::string_view key, uint64_t cost) = 0;
  virtual RateLimiterStats Stats() const = 0;
  virtual size_t SweepIdle() = 0;

  const RateLimitPolicy& policy() const { return policy_; }

 private:
  const RateLimitPolicy policy_;
};

namespace {

constexpr int kShardBits = 6;
constexpr size_t kShards = size_t{1} << kShardBits;
// A shard sweeps when it reaches twice its size after the last sweep, and
// never below this many keys.
constexpr size_t kMinSweepSize = 64;
// How often a shard at max_keys may rescan for idle keys: bounds the work a
// flood of new keys can cause once the limiter is full.
constexpr int64_t kFullShardSweepIntervalNs = 1'000'000'000;

// Keys longer than this (a header's value, which the client chooses; a
// principal named by a long issuer) are held as a 128-bit digest under
// secret keys, so that every key costs the same memory however long it
// came: 20,000 distinct 15 KB values would otherwise hold 300 MB for a
// window. Keys up to it (an address, an IPv6 /64, an API key's id) are held
// as they are, in the table entry.
constexpr size_t kMaxRawKeyBytes = 32;

// The hash is computed once per Check, picks the shard, and is stored with
// the key, so the table neither rehashes keys nor compares most mismatches.
// `digest` tells a digest from a raw key of the same bytes. A stored key
// keeps its bytes in its table entry, so an entry is one allocation from its
// shard's arena and nothing of it lies elsewhere on the heap.
struct LookupKey {
  std::string_view bytes;
  uint64_t hash;
  bool digest;

  std::string_view view() const { return bytes; }
};
struct StoredKey {
  StoredKey(std::string_view key, uint64_t key_hash, bool is_digest)
      : hash(key_hash), size(static_cast<uint8_t>(key.size())), digest(is_digest) {
    std::memcpy(bytes.data(), key.data(), key.size());
  }
  std::string_view view() const { return {bytes.data(), size}; }

  uint64_t hash;
  uint8_t size;
  bool digest;
  std::array<char, kMaxRawKeyBytes> bytes;
};
static_assert(kMaxRawKeyBytes <= UINT8_MAX);
struct StoredHash {
  using is_transparent = void;
  size_t operator()(const LookupKey& k) const { return k.hash; }
  size_t operator()(const StoredKey& k) const { return k.hash; }
};
struct SameKey {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return a.hash == b.hash && a.digest == b.digest && a.view() == b.view();
  }
};

// The heap under a shard's arena, counting the bytes it lends (the arena's
// chunks, and hash-table bucket arrays too large for its pools). Used under
// the shard's lock only.
class CountingHeap final : public std::pmr::memory_resource {
 public:
  size_t held() const { return held_; }

 private:
  void* do_allocate(size_t bytes, size_t alignment) override {
    void* p = std::pmr::new_delete_resource()->allocate(bytes, alignment);
    held_ += bytes;
    return p;
  }
  void do_deallocate(void* p, size_t bytes, size_t alignment) override {
    std::pmr::new_delete_resource()->deallocate(p, bytes, alignment);
    held_ -= bytes;
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  size_t held_ = 0;
};

// Where a shard's keys live. Freed entries go back to the arena's pools and
// are reused by the next keys; the arena gives its chunks back to the heap
// only when it is dropped whole, which a sweep does once a flood's keys are
// gone (Shard::Compact). Keys freed one by one to the general allocator
// would leave its small-object lists holding the flood's memory, pinned by
// whatever else shares their pages.
struct Arena {
  // Chunks grow to 2048 entries (some 256 KiB), allocations the heap serves
  // from whole pages that it can return.
  static constexpr std::pmr::pool_options kPools{.max_blocks_per_chunk = 2048,
                                                 .largest_required_pool_block = 256};
  CountingHeap heap;
  std::pmr::unsynchronized_pool_resource pool{kPools, &heap};
};

template <typename Algorithm>
class ShardedRateLimiter final : public RateLimiter::Impl {
 public:
  ShardedRateLimiter(RateLimitPolicy policy, Algorithm algorithm, const Clock& clock,
                     size_t max_keys_per_shard)
      : Impl(std::move(policy)),
        algorithm_(algorithm),
        clock_(clock),
        origin_(clock.Monotonic()),
        max_keys_per_shard_(max_keys_per_shard) {}

  RateLimitDecision Check(std::string_view key, uint64_t cost) override {
    const int64_t now = NowNanos();
    std::array<uint64_t, 2> digest;
    const bool digested = key.size() > kMaxRawKeyBytes;
    if (digested) {
      digest = {digest_a_(key), digest_b_(key)};
      key = std::string_view(reinterpret_cast<const char*>(digest.data()), sizeof digest);
    }
    const uint64_t hash = hash_(key);
    Shard& shard = shards_[hash >> (64 - kShardBits)];
    std::lock_guard lock(shard.mu);
    if (auto it = shard.states->find(LookupKey{key, hash, digested}); it != shard.states->end()) {
      return algorithm_.Take(it->second, now, cost);
    }
    typename Algorithm::State state{};
    RateLimitDecision decision = algorithm_.Take(state, now, cost);
    if (algorithm_.IsIdle(state, now)) return decision;  // nothing worth remembering
    if (!MakeRoom(shard, now)) {
      ++shard.key_limit_denials;
      return KeyLimitDecision();
    }
    shard.states->try_emplace(StoredKey(key, hash, digested), state);
    return decision;
  }

  RateLimiterStats Stats() const override {
    RateLimiterStats stats;
    for (const Shard& shard : shards_) {
      std::lock_guard lock(shard.mu);
      stats.keys += shard.states->size();
      stats.swept += shard.swept;
      stats.key_limit_denials += shard.key_limit_denials;
      stats.buckets += shard.states->bucket_count();
      stats.heap_bytes += shard.arena->heap.held();
    }
    return stats;
  }

  size_t SweepIdle() override {
    const int64_t now = NowNanos();
    size_t dropped = 0;
    for (Shard& shard : shards_) {
      std::lock_guard lock(shard.mu);
      dropped += Sweep(shard, now);
      // After a flood the table keeps the buckets it grew to, and its arena
      // the chunks; a shard that holds far fewer keys than it has buckets
      // moves them to a fresh arena and gives the old one back whole.
      if (shard.states->bucket_count() > kMinSweepSize &&
          shard.states->size() < shard.states->bucket_count() / 8) {
        shard.Compact();
      }
    }
    return dropped;
  }

 private:
  using Table = std::pmr::unordered_map<StoredKey, typename Algorithm::State, StoredHash, SameKey>;

  struct alignas(64) Shard {
    // The live keys, copied to a fresh arena, which replaces the old one;
    // the old arena's chunks go back to the heap. Leaves the shard as it
    // was if an allocation fails.
    void Compact() {
      auto fresh_arena = std::make_unique<Arena>();
      Table fresh(&fresh_arena->pool);
      fresh.reserve(states->size());
      for (const auto& [key, state] : *states) fresh.emplace(key, state);
      states.reset();  // its entries go back to the old arena first
      arena = std::move(fresh_arena);
      states.emplace(std::move(fresh));  // takes the fresh arena with it
    }

    mutable std::mutex mu;
    // Everything below is guarded by mu. The table is always engaged; it is
    // optional only so that Compact can end it before its arena.
    std::unique_ptr<Arena> arena = std::make_unique<Arena>();
    std::optional<Table> states{std::in_place, &arena->pool};
    size_t sweep_at = kMinSweepSize;
    int64_t next_full_sweep_ns = 0;
    uint64_t swept = 0;
    uint64_t key_limit_denials = 0;
  };

  int64_t NowNanos() const {
    const auto since = std::chrono::nanoseconds(clock_.Monotonic() - origin_).count();
    return std::max<int64_t>(since, 0);
  }

  // Drops the shard's idle keys; shard.mu is held.
  size_t Sweep(Shard& shard, int64_t now) {
    const size_t dropped = std::erase_if(
        *shard.states, [&](const auto& entry) { return algorithm_.IsIdle(entry.second, now); });
    shard.swept += dropped;
    shard.sweep_at = std::max(kMinSweepSize, 2 * shard.states->size());
    return dropped;
  }

  // True if the shard may take one more key, sweeping first when it has
  // doubled or is full; shard.mu is held.
  bool MakeRoom(Shard& shard, int64_t now) {
    const bool full = shard.states->size() >= max_keys_per_shard_;
    if (shard.states->size() >= shard.sweep_at || (full && now >= shard.next_full_sweep_ns)) {
      Sweep(shard, now);
      if (full) shard.next_full_sweep_ns = now + kFullShardSweepIntervalNs;
    }
    return shard.states->size() < max_keys_per_shard_;
  }

  RateLimitDecision KeyLimitDecision() const {
    const auto window = policy().window;
    return {.allowed = false,
            .limit = policy().limit,
            .remaining = 0,
            .reset = window,
            .retry_after = window,
            .deny_reason = RateLimitDecision::DenyReason::kKeyLimitReached};
  }

  const Algorithm algorithm_;
  const Clock& clock_;
  const std::chrono::steady_clock::time_point origin_;
  const size_t max_keys_per_shard_;
  const KeyHash hash_;
  // Two more secret keys, for the 128-bit digests of long keys.
  const KeyHash digest_a_;
  const KeyHash digest_b_;
  std::array<Shard, kShards> shards_;
};

template <typename Algorithm>
std::unique_ptr<RateLimiter::Impl> MakeImpl(Algorithm algorithm, RateLimitPolicy policy,
                                            const Clock& clock, size_t max_keys) {
  const size_t per_shard = max_keys / kShards + (max_keys % kShards != 0 ? 1 : 0);
  return std::make_unique<ShardedRateLimiter<Algorithm>>(std::move(policy), algorithm, clock,
                                                         per_shard);
}

}  // namespace

Result<RateLimiter> RateLimiter::Create(RateLimitPolicy policy, const Clock& clock,
                                        RateLimiterOptions options) {
  if (options.max_keys == 0) return Err(InvalidArgumentError("rate limiter: max_keys must be > 0"));
  BULWARK_RETURN_IF_ERROR(ValidateRateLimitPolicy(policy));
  if (policy.algorithm == RateLimitPolicy::Algorithm::kTokenBucket) {
    BULWARK_ASSIGN_OR_RETURN(TokenBucket bucket, TokenBucket::Create(policy));
    return RateLimiter(MakeImpl(bucket, std::move(policy), clock, options.max_keys));
  }
  BULWARK_ASSIGN_OR_RETURN(SlidingWindow window, SlidingWindow::Create(policy));
  return RateLimiter(MakeImpl(window, std::move(policy), clock, options.max_keys));
}

RateLimiter::RateLimiter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RateLimiter::RateLimiter(RateLimiter&&) noexcept = default;
RateLimiter& RateLimiter::operator=(RateLimiter&&) noexcept = default;
RateLimiter::~RateLimiter() = default;

RateLimitDecision RateLimiter::Check(std::string_view key, uint64_t cost) {
  return impl_->Check(key, cost);
}
const RateLimitPolicy& RateLimiter::policy() const { return impl_->policy(); }
size_t RateLimiter::size() const { return impl_->Stats().keys; }
RateLimiterStats RateLimiter::stats() const { return impl_->Stats(); }
size_t RateLimiter::SweepIdle() { return impl_->SweepIdle(); }

}  // namespace bulwark::guard

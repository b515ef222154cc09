#include "jose/verification_cache.h"

#include <algorithm>
#include <functional>

namespace bulwark::jose {
namespace {

// Hashes the token's last bytes: a compact JWS ends in its signature, so
// they differ between any two tokens that verify, and hashing a few hundred
// bytes per request would cost more than the lookup. Tokens that share their
// tail only share a slot; Lookup still compares the whole token.
constexpr size_t kHashedTail = 32;

uint64_t HashToken(std::string_view token) {
  if (token.size() > kHashedTail) token.remove_prefix(token.size() - kHashedTail);
  return std::hash<std::string_view>{}(token);
}

}  // namespace

VerificationCache::VerificationCache(size_t capacity, size_t max_bytes, size_t shards)
    : per_shard_(std::max<size_t>(1, capacity / std::max<size_t>(1, shards))),
      bytes_per_shard_(max_bytes / std::max<size_t>(1, shards)),
      shards_(std::max<size_t>(1, shards)) {}

size_t VerificationCache::ChargeFor(size_t token_size) {
  // The token kept for the equality check, its claims parsed into JSON
  // values (measured at about twice the token's size), and the entry, map
  // node and shared VerifiedJwt around them.
  constexpr size_t kEntryOverhead = 512;
  return kEntryOverhead + 3 * token_size;
}

std::shared_ptr<const VerifiedJwt> VerificationCache::Lookup(std::string_view token, int64_t now,
                                                             uint64_t generation) const {
  uint64_t h = HashToken(token);
  Shard& shard = ShardFor(h);
  std::lock_guard lock(shard.mu);
  auto it = shard.entries.find(h);
  if (it == shard.entries.end() || it->second.token != token ||
      it->second.generation != generation) {
    return nullptr;
  }
  if (it->second.expires_at != 0 && now >= it->second.expires_at) {
    shard.bytes -= ChargeFor(it->second.token.size());
    shard.entries.erase(it);  // its slot in `order` is skipped at eviction
    return nullptr;
  }
  return it->second.jwt;
}

void VerificationCache::Insert(std::string_view token, std::shared_ptr<const VerifiedJwt> jwt,
                               int64_t expires_at, uint64_t generation) {
  const size_t charge = ChargeFor(token.size());
  // A token too large for a shard's budget is not kept: it would evict
  // everything else and still not fit.
  if (charge > bytes_per_shard_) return;
  uint64_t h = HashToken(token);
  Shard& shard = ShardFor(h);
  std::lock_guard lock(shard.mu);
  auto [it, inserted] = shard.entries.try_emplace(h);
  if (!inserted) shard.bytes -= ChargeFor(it->second.token.size());
  it->second = Entry{std::string(token), std::move(jwt), expires_at, generation};
  shard.bytes += charge;
  if (inserted) shard.order.push_back(h);
  while ((shard.entries.size() > per_shard_ || shard.bytes > bytes_per_shard_) &&
         !shard.order.empty()) {
    const uint64_t oldest = shard.order.front();
    shard.order.pop_front();
    auto victim = shard.entries.find(oldest);
    if (victim == shard.entries.end()) continue;  // expired and erased by Lookup
    shard.bytes -= ChargeFor(victim->second.token.size());
    shard.entries.erase(victim);
  }
  // Keep `order` from growing without bound when entries expire early.
  if (shard.order.size() > 2 * per_shard_ + 16) {
    std::deque<uint64_t> live;
    for (uint64_t k : shard.order) {
      if (shard.entries.contains(k)) live.push_back(k);
    }
    shard.order.swap(live);
  }
}

void VerificationCache::Clear() {
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    s.entries.clear();
    s.order.clear();
    s.bytes = 0;
  }
}

size_t VerificationCache::size() const {
  size_t n = 0;
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.entries.size();
  }
  return n;
}

size_t VerificationCache::bytes() const {
  size_t n = 0;
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.bytes;
  }
  return n;
}

}  // namespace bulwark::jose

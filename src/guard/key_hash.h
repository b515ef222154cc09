// KeyHash: a keyed hash for rate-limit keys.
//
// Rate-limit keys (client IPs, API key ids, header values) are chosen by the
// client. With an unkeyed hash an attacker can pick keys that all fall into
// one bucket of a hash table and turn every lookup into a scan (hash
// flooding). SipHash with a secret random key prevents that; SipHash-1-3 is
// the variant Rust's and CPython's hash tables use for the same purpose.
#ifndef BULWARK_GUARD_KEY_HASH_H_
#define BULWARK_GUARD_KEY_HASH_H_

#include <cstdint>
#include <string_view>

namespace bulwark::guard {

struct SipHashKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};

// SipHash-c-d of `data` under `key` (Aumasson and Bernstein, 2012), with the
// 16 key bytes read little-endian into k0, k1.
uint64_t SipHash13(const SipHashKey& key, std::string_view data);
uint64_t SipHash24(const SipHashKey& key, std::string_view data);

// SipHash-1-3 under a key drawn from std::random_device at construction.
// Thread-safe (immutable after construction).
class KeyHash {
 public:
  KeyHash();
  explicit KeyHash(const SipHashKey& key) : key_(key) {}
  uint64_t operator()(std::string_view data) const { return SipHash13(key_, data); }

 private:
  SipHashKey key_;
};

}  // namespace bulwark::guard

#endif  // BULWARK_GUARD_KEY_HASH_H_

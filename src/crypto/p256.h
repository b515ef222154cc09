// ECDSA P-256 (FIPS 186-5, SHA-256) verification for one fixed public key,
// with tables of the key's multiples. Internal to crypto/: PreparedVerifier
// uses it for ES256 and keeps OpenSSL for everything else.
//
// Why: a gateway verifies tokens of a few issuer keys millions of times.
// OpenSSL computes u2·Q from scratch on every call (about 60 µs here); with
// Q's multiples tabulated once, both u1·G and u2·Q become ~37 table additions
// each and need no doublings, which makes a verification about three times
// as fast. Tables cost 148 KiB per key and a few milliseconds to build, so
// they are built only for keys in steady use (see Verify) and only for a
// bounded number of keys per process.
//
// Everything here handles public data (keys, signatures, digests), so the
// code is variable-time by design. It is never used for signing.
#ifndef BULWARK_CRYPTO_P256_H_
#define BULWARK_CRYPTO_P256_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

namespace bulwark::crypto::internal {

struct P256Table;

class P256Verifier : public std::enable_shared_from_this<P256Verifier> {
 public:
  // x and y: the key's affine coordinates, 32 bytes big-endian each. Null if
  // they are not a point of the curve.
  static std::unique_ptr<P256Verifier> Create(std::string_view x, std::string_view y);
  ~P256Verifier();
  P256Verifier(const P256Verifier&) = delete;
  P256Verifier& operator=(const P256Verifier&) = delete;

  // Decides whether `signature` (r||s, 32 bytes each, big-endian) signs
  // `digest` (the message's SHA-256) under the key. nullopt while the key
  // has no table yet: the caller verifies another way. The call that makes
  // the key's kBuildAfter-th use starts building the table, if the process
  // has fewer than kMaxTables: on a thread of its own when a shared_ptr
  // owns this verifier (so no request waits for it), else in the call.
  // Thread-safe.
  std::optional<bool> Verify(std::span<const uint8_t, 32> digest,
                             std::span<const uint8_t, 64> signature) const;

  // Builds the table now (tests, benchmarks). False if the process's budget
  // of tables is spent or another thread is building it.
  bool BuildTableNow() const;

  static constexpr uint32_t kBuildAfter = 16;
  static constexpr int kMaxTables = 64;

 private:
  P256Verifier() = default;
  const P256Table* Table() const { return table_.load(std::memory_order_acquire); }
  void StartBuild() const;

  uint8_t key_[64];  // x || y, checked to be on the curve.
  mutable std::atomic<uint32_t> uses_{0};
  mutable std::atomic_flag building_;
  mutable std::atomic<const P256Table*> table_{nullptr};
};

// For tests of the arithmetic beneath Verify, on 32-byte big-endian values:
// a·b mod p for a, b < p, and a^-1 mod n for 0 < a < n. nullopt for inputs
// out of those ranges, and if the field multiplications this CPU can run
// (portable, baseline x86-64, mulx/adx) do not all agree.
std::optional<std::array<uint8_t, 32>> P256FieldMulForTest(std::span<const uint8_t, 32> a,
                                                           std::span<const uint8_t, 32> b);
std::optional<std::array<uint8_t, 32>> P256ScalarInverseForTest(std::span<const uint8_t, 32> a);

}  // namespace bulwark::crypto::internal

#endif  // BULWARK_CRYPTO_P256_H_

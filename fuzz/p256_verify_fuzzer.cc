// Differential fuzzing of ES256 verification: the table-driven verifier of
// crypto/p256.h against OpenSSL, on signatures made of the input's bytes,
// valid signatures of the input, and valid signatures with one bit flipped.
// Any disagreement aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/p256.h"
#include "crypto/signature.h"

namespace {

using bulwark::crypto::EcPoint;
using bulwark::crypto::KeyType;
using bulwark::crypto::PrivateKey;
using bulwark::crypto::SignatureAlgorithm;
using bulwark::crypto::internal::P256Verifier;

struct Fixture {
  PrivateKey key;
  std::unique_ptr<P256Verifier> table;
};

Fixture& Get() {
  static Fixture* fixture = [] {
    auto key = PrivateKey::Generate(KeyType::kEcP256);
    if (!key) abort();
    auto point = key->public_key().EcCoordinates();
    if (!point) abort();
    auto table = P256Verifier::Create(point->x, point->y);
    if (!table || !table->BuildTableNow()) abort();
    return new Fixture{std::move(*key), std::move(table)};
  }();
  return *fixture;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  Fixture& f = Get();
  uint8_t mode = data[0];
  std::string message, signature;
  if (mode % 3 == 0) {
    if (size < 65) return 0;
    signature.assign(reinterpret_cast<const char*>(data + 1), 64);
    message.assign(reinterpret_cast<const char*>(data + 65), size - 65);
  } else {
    message.assign(reinterpret_cast<const char*>(data + 2), size - 2);
    auto signed_message = Sign(f.key, SignatureAlgorithm::kEcdsaP256Sha256, message);
    if (!signed_message) abort();
    signature = std::move(*signed_message);
    if (mode % 3 == 2) signature[data[1] % 64] ^= static_cast<char>(1 << ((mode >> 2) % 8));
  }
  bool openssl =
      Verify(f.key.public_key(), SignatureAlgorithm::kEcdsaP256Sha256, message, signature).ok();
  const std::string digest = Digest(bulwark::crypto::HashAlgorithm::kSha256, message);
  auto table = f.table->Verify(
      std::span<const uint8_t, 32>(reinterpret_cast<const uint8_t*>(digest.data()), 32),
      std::span<const uint8_t, 64>(reinterpret_cast<const uint8_t*>(signature.data()), 64));
  if (!table.has_value() || *table != openssl) abort();
  if (mode % 3 == 1 && !openssl) abort();  // an untouched signature must verify
  return 0;
}

// Authenticated encryption with associated data: AES-GCM (128/192/256-bit
// keys) and ChaCha20-Poly1305. Ciphertexts carry the 16-byte tag at the end.
//
// Nonces: ChaCha20-Poly1305 takes exactly 12 bytes. AES-GCM takes 1 to 1024
// bytes (12 recommended; other lengths exist for interoperability). Callers
// must never reuse a nonce under one key; SealWithRandomNonce does it for them.
//
// An Aead is immutable after Create and safe to use from many threads.
#ifndef BULWARK_CRYPTO_AEAD_H_
#define BULWARK_CRYPTO_AEAD_H_

#include <string>
#include <string_view>

#include "core/status.h"
#include "crypto/secret_bytes.h"

namespace bulwark::crypto {

enum class AeadAlgorithm { kAesGcm, kChaCha20Poly1305 };

class Aead {
 public:
  static constexpr size_t kTagSize = 16;
  static constexpr size_t kRecommendedNonceSize = 12;

  // kInvalidArgument for a key of the wrong size.
  static Result<Aead> Create(AeadAlgorithm alg, SecretBytes key);

  // Encrypts: returns ciphertext || tag. kInvalidArgument for a bad nonce.
  Result<std::string> Seal(std::string_view nonce, std::string_view plaintext,
                           std::string_view aad) const;

  // Decrypts ciphertext || tag. kUnauthenticated (and no plaintext) if the
  // tag does not verify, kInvalidArgument for a bad nonce or short input.
  Result<SecretBytes> Open(std::string_view nonce, std::string_view ciphertext_and_tag,
                           std::string_view aad) const;

  // Seals with a fresh random 12-byte nonce: returns nonce || ciphertext || tag.
  Result<std::string> SealWithRandomNonce(std::string_view plaintext, std::string_view aad) const;
  // Opens the output of SealWithRandomNonce.
  Result<SecretBytes> OpenWithPrefixedNonce(std::string_view sealed, std::string_view aad) const;

  AeadAlgorithm algorithm() const { return alg_; }

 private:
  Aead(AeadAlgorithm alg, SecretBytes key) : alg_(alg), key_(std::move(key)) {}
  Status CheckNonce(std::string_view nonce) const;

  AeadAlgorithm alg_;
  SecretBytes key_;
};

}  // namespace bulwark::crypto

#endif  // BULWARK_CRYPTO_AEAD_H_

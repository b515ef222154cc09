// Digital signatures over the keys of keys.h. Thread-safe, stateless.
//
// The algorithm is always chosen by the caller (from the key's own metadata),
// never by the data being verified. A key whose type does not fit the
// algorithm is refused before any cryptography runs.
#ifndef BULWARK_CRYPTO_SIGNATURE_H_
#define BULWARK_CRYPTO_SIGNATURE_H_

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "crypto/digest.h"
#include "crypto/keys.h"

namespace bulwark::crypto {

namespace internal {
class P256Verifier;
}

enum class SignatureAlgorithm {
  kEd25519,
  kEcdsaP256Sha256,
  kEcdsaP384Sha384,
  kEcdsaP521Sha512,
  kRsaPkcs1Sha256,
  kRsaPkcs1Sha384,
  kRsaPkcs1Sha512,
  kRsaPssSha256,  // MGF1 with the same hash, salt length = hash length
  kRsaPssSha384,
  kRsaPssSha512,
};

// How ECDSA signatures are encoded: IEEE P1363 fixed-size r||s (JWS) or
// ASN.1 DER (X.509, CSR, OCSP). Ignored by other algorithms.
enum class EcdsaEncoding { kP1363, kDer };

// The key type `alg` requires.
KeyType RequiredKeyType(SignatureAlgorithm alg);
// The exact signature length for Ed25519 and P1363 ECDSA; the modulus size
// for RSA; 0 when it varies (DER).
size_t SignatureSize(SignatureAlgorithm alg, const PublicKey& key, EcdsaEncoding enc);

// Signs `message`. kInvalidArgument if the key does not fit the algorithm.
Result<std::string> Sign(const PrivateKey& key, SignatureAlgorithm alg, std::string_view message,
                         EcdsaEncoding enc = EcdsaEncoding::kP1363);

// OK if `signature` is a valid signature of `message`. Errors:
// kInvalidArgument if the key does not fit the algorithm, kUnauthenticated
// ("invalid signature") for anything else, including a signature of the wrong
// length or ECDSA r or s outside [1, n-1].
Status Verify(const PublicKey& key, SignatureAlgorithm alg, std::string_view message,
              std::string_view signature, EcdsaEncoding enc = EcdsaEncoding::kP1363);

// A verifier bound to one public key and algorithm, prepared once. OpenSSL 3
// spends a large part of each verification setting up its context; a
// PreparedVerifier sets it up at creation and each Verify starts from a copy.
// Immutable after Create; Verify is safe from many threads at once.
class PreparedVerifier {
 public:
  // kInvalidArgument if the key does not fit the algorithm.
  static Result<PreparedVerifier> Create(const PublicKey& key, SignatureAlgorithm alg,
                                         EcdsaEncoding enc = EcdsaEncoding::kP1363);

  // Same contract as the free Verify().
  Status Verify(std::string_view message, std::string_view signature) const;

  const PublicKey& key() const { return key_; }
  SignatureAlgorithm algorithm() const { return alg_; }

 private:
  PreparedVerifier(PublicKey key, SignatureAlgorithm alg, EcdsaEncoding enc,
                   std::shared_ptr<void> prepared)
      : key_(std::move(key)), alg_(alg), enc_(enc), prepared_(std::move(prepared)) {}
  PublicKey key_;
  SignatureAlgorithm alg_;
  EcdsaEncoding enc_;
  // Never modified: an initialized EVP_MD_CTX, or the raw Ed25519 public key.
  std::shared_ptr<void> prepared_;
  // ES256 with r||s signatures: verification through tables of the key's
  // multiples once the key is in steady use (crypto/p256.h).
  std::shared_ptr<const internal::P256Verifier> p256_;
};

}  // namespace bulwark::crypto

#endif  // BULWARK_CRYPTO_SIGNATURE_H_

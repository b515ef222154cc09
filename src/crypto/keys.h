// Asymmetric keys: Ed25519, ECDSA over P-256/P-384/P-521, and RSA.
//
// PublicKey and PrivateKey are immutable handles to an OpenSSL key. Copies
// share the key; all operations are safe from many threads at once. Keys are
// constructed valid or not at all: EC points are checked to lie on the curve,
// RSA moduli must be 2048 to 4096 bits (RSA_KEY_MIN/MAX below) with a sane
// public exponent.
#ifndef BULWARK_CRYPTO_KEYS_H_
#define BULWARK_CRYPTO_KEYS_H_

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "crypto/secret_bytes.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header.

namespace bulwark::crypto {

enum class KeyType { kEd25519, kEcP256, kEcP384, kEcP521, kRsa };

// "Ed25519", "P-256", "P-384", "P-521", "RSA".
std::string_view KeyTypeName(KeyType type);

// Byte size of one EC coordinate / scalar (32, 48, 66); 0 for non-EC types.
size_t EcCoordinateSize(KeyType type);

inline constexpr int kRsaMinBits = 2048;
inline constexpr int kRsaMaxBits = 4096;

struct EcPoint {
  std::string x;  // big-endian, EcCoordinateSize bytes
  std::string y;
};

struct RsaPublicComponents {
  std::string n;  // big-endian, no leading zeros
  std::string e;
};

struct RsaPrivateComponents {
  SecretBytes d, p, q, dp, dq, qi;
};

class PublicKey {
 public:
  static Result<PublicKey> FromEd25519(std::string_view raw);
  // `x` and `y` must be exactly EcCoordinateSize(curve) bytes.
  static Result<PublicKey> FromEcPoint(KeyType curve, std::string_view x, std::string_view y);
  static Result<PublicKey> FromRsa(std::string_view n, std::string_view e);
  // DER SubjectPublicKeyInfo or PEM "PUBLIC KEY".
  static Result<PublicKey> FromSpkiDer(std::string_view der);
  static Result<PublicKey> FromPem(std::string_view pem);

  KeyType type() const { return type_; }
  // Modulus size for RSA, curve size otherwise.
  int bits() const;

  Result<std::string> Ed25519Raw() const;
  Result<EcPoint> EcCoordinates() const;
  Result<RsaPublicComponents> RsaComponents() const;
  Result<std::string> ToSpkiDer() const;

  // For crypto/ internals only.
  evp_pkey_st* raw() const { return pkey_.get(); }
  static Result<PublicKey> Adopt(evp_pkey_st* pkey);

 private:
  PublicKey(std::shared_ptr<evp_pkey_st> pkey, KeyType type)
      : pkey_(std::move(pkey)), type_(type) {}
  std::shared_ptr<evp_pkey_st> pkey_;
  KeyType type_;
};

class PrivateKey {
 public:
  // A fresh key. `rsa_bits` is used only for kRsa.
  static Result<PrivateKey> Generate(KeyType type, int rsa_bits = 2048);
  static Result<PrivateKey> FromEd25519Seed(const SecretBytes& seed);
  // The public point is checked against the private scalar.
  static Result<PrivateKey> FromEc(KeyType curve, const SecretBytes& d, std::string_view x,
                                   std::string_view y);
  static Result<PrivateKey> FromRsa(std::string_view n, std::string_view e,
                                    const RsaPrivateComponents& priv);
  // PEM "PRIVATE KEY" (PKCS#8) or DER PKCS#8.
  static Result<PrivateKey> FromPem(const SecretBytes& pem);

  KeyType type() const { return type_; }
  int bits() const { return public_key_.bits(); }
  const PublicKey& public_key() const { return public_key_; }

  Result<SecretBytes> Ed25519Seed() const;
  Result<SecretBytes> EcPrivateScalar() const;
  Result<RsaPrivateComponents> RsaPrivate() const;
  // PKCS#8 PEM.
  Result<SecretBytes> ToPem() const;

  evp_pkey_st* raw() const { return pkey_.get(); }

 private:
  PrivateKey(std::shared_ptr<evp_pkey_st> pkey, KeyType type, PublicKey pub)
      : pkey_(std::move(pkey)), type_(type), public_key_(std::move(pub)) {}
  static Result<PrivateKey> Adopt(evp_pkey_st* pkey);
  std::shared_ptr<evp_pkey_st> pkey_;
  KeyType type_;
  PublicKey public_key_;
};

}  // namespace bulwark::crypto

#endif  // BULWARK_CRYPTO_KEYS_H_

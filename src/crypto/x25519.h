// X25519 key agreement (RFC 7748). Thread-safe, stateless.
#ifndef BULWARK_CRYPTO_X25519_H_
#define BULWARK_CRYPTO_X25519_H_

#include <string>
#include <string_view>

#include "core/status.h"
#include "crypto/secret_bytes.h"

namespace bulwark::crypto {

struct X25519KeyPair {
  SecretBytes private_key;  // 32 bytes
  std::string public_key;   // 32 bytes
};

Result<X25519KeyPair> GenerateX25519();

// The public key for a 32-byte private key.
Result<std::string> X25519PublicFromPrivate(const SecretBytes& private_key);

// The shared secret X25519(private_key, peer_public). Public keys are taken
// as RFC 7748 says: the top bit is masked and non-canonical encodings and
// points on the twist are accepted. A result of all zeros (a low-order peer
// key, which would let the peer force the secret) is refused with
// kInvalidArgument, as RFC 7748 section 6.1 allows.
Result<SecretBytes> X25519(const SecretBytes& private_key, std::string_view peer_public);

}  // namespace bulwark::crypto

#endif  // BULWARK_CRYPTO_X25519_H_

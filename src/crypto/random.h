// CSPRNG: OpenSSL's DRBG. Thread-safe.
#ifndef BULWARK_CRYPTO_RANDOM_H_
#define BULWARK_CRYPTO_RANDOM_H_

#include <cstdint>
#include <span>
#include <string>

#include "core/status.h"
#include "crypto/secret_bytes.h"

namespace bulwark::crypto {

// Fills `out` with cryptographically secure random bytes. kInternal if the
// generator fails (callers must fail closed).
Status RandomBytes(std::span<uint8_t> out);

// `size` random bytes as a secret (keys, nonces for secrets).
Result<SecretBytes> RandomSecret(size_t size);

// `size` random bytes as a plain string (salts, public nonces, ids).
Result<std::string> RandomString(size_t size);

}  // namespace bulwark::crypto

#endif  // BULWARK_CRYPTO_RANDOM_H_

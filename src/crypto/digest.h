// Hashes, HMAC and HKDF over SHA-2. Thread-safe, stateless functions.
#ifndef BULWARK_CRYPTO_DIGEST_H_
#define BULWARK_CRYPTO_DIGEST_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"
#include "crypto/secret_bytes.h"

namespace bulwark::crypto {

enum class HashAlgorithm { kSha256, kSha384, kSha512 };

// Output size in bytes (32, 48, 64).
size_t DigestSize(HashAlgorithm alg);

// The digest of `data` (raw bytes).
std::string Digest(HashAlgorithm alg, std::string_view data);

// HMAC of `data` under `key` (raw tag of DigestSize(alg) bytes). An empty key
// is allowed by RFC 2104; callers that need a minimum key length enforce it.
Result<std::string> Hmac(HashAlgorithm alg, const SecretBytes& key, std::string_view data);

// True if `tag` is the full HMAC of `data`, compared in constant time.
bool HmacVerify(HashAlgorithm alg, const SecretBytes& key, std::string_view data,
                std::string_view tag);

// RFC 5869 HKDF (extract then expand). An empty salt means HashLen zero
// bytes. kInvalidArgument if `size` is 0 or exceeds 255 * DigestSize(alg).
Result<SecretBytes> Hkdf(HashAlgorithm alg, const SecretBytes& ikm, std::string_view salt,
                         std::string_view info, size_t size);

}  // namespace bulwark::crypto

#endif  // BULWARK_CRYPTO_DIGEST_H_

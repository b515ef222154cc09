// Helpers shared by crypto/ sources. Not part of the module's API.
#ifndef BULWARK_CRYPTO_INTERNAL_H_
#define BULWARK_CRYPTO_INTERNAL_H_

#include <openssl/evp.h>

#include <string>
#include <string_view>

#include "crypto/digest.h"

namespace bulwark::crypto::internal {

// An explicitly fetched digest, fetched once per process (avoids OpenSSL 3's
// implicit fetch on every operation). Never null.
const EVP_MD* FetchedMd(HashAlgorithm alg);

// The OpenSSL name of `alg` ("SHA256", ...).
const char* MdName(HashAlgorithm alg);

inline const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
inline unsigned char* MutableBytes(std::string& s) {
  return reinterpret_cast<unsigned char*>(s.data());
}

// Clears OpenSSL's thread-local error queue so a failure here leaves nothing
// behind for an unrelated caller.
void ClearErrors();

}  // namespace bulwark::crypto::internal

#endif  // BULWARK_CRYPTO_INTERNAL_H_

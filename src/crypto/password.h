// Password hashing with Argon2id (RFC 9106), stored as PHC strings:
//   $argon2id$v=19$m=19456,t=2,p=1$<salt b64>$<hash b64>
// The parameters travel with each hash, so they can be raised later and old
// hashes still verify (NeedsRehash tells when to upgrade). Thread-safe.
#ifndef BULWARK_CRYPTO_PASSWORD_H_
#define BULWARK_CRYPTO_PASSWORD_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "crypto/secret_bytes.h"

namespace bulwark::crypto {

struct Argon2Params {
  uint32_t memory_kib = 19456;  // OWASP's minimum recommendation (19 MiB)
  uint32_t iterations = 2;
  uint32_t parallelism = 1;
  uint32_t salt_bytes = 16;
  uint32_t hash_bytes = 32;
};

// Hashes `password` with a fresh random salt. kInvalidArgument for
// parameters outside the accepted bounds.
Result<std::string> HashPassword(const SecretBytes& password, const Argon2Params& params = {});

// OK if `password` matches `phc`; kUnauthenticated if it does not;
// kInvalidArgument if `phc` is not an Argon2id PHC string within bounds
// (memory <= 1 GiB, iterations <= 64, parallelism <= 16). The comparison is
// constant time.
Status VerifyPassword(const SecretBytes& password, std::string_view phc);

// True if `phc` was made with weaker parameters than `params` (or is not parseable).
bool NeedsRehash(std::string_view phc, const Argon2Params& params = {});

}  // namespace bulwark::crypto

#endif  // BULWARK_CRYPTO_PASSWORD_H_

#include "crypto/constant_time.h"

#include <openssl/crypto.h>

namespace bulwark::crypto {

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace bulwark::crypto

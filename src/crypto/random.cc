#include "crypto/random.h"

#include <openssl/rand.h>

#include <climits>

namespace bulwark::crypto {

Status RandomBytes(std::span<uint8_t> out) {
  if (out.size() > INT_MAX) return InvalidArgumentError("random request too large");
  if (out.empty()) return OkStatus();
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return InternalError("random generator failed");
  }
  return OkStatus();
}

Result<SecretBytes> RandomSecret(size_t size) {
  SecretBytes s(size);
  BULWARK_RETURN_IF_ERROR(RandomBytes(s.MutableSecret()));
  return s;
}

Result<std::string> RandomString(size_t size) {
  std::string s(size, '\0');
  BULWARK_RETURN_IF_ERROR(
      RandomBytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(s.data()), s.size())));
  return s;
}

}  // namespace bulwark::crypto

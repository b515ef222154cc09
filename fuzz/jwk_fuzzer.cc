// Fuzzes JWK and JWKS parsing, and re-serialization of what parses.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "jose/jwk.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto keys = bulwark::jose::Jwks::ParseKeyOrSet(text);
  if (keys) {
    for (const auto& k : keys->keys()) (void)k.Thumbprint();
    (void)keys->ToJson();
  }
  return 0;
}

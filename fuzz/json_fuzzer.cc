// Fuzzes the strict JSON parser used for token headers and claims.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "jose/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)bulwark::jose::ParseJson(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}

// Fuzzes the OpenFGA model parser and validator: the input is model DSL text.
// Nothing may crash, hang or read out of bounds, however deep or cyclic the
// definitions.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/fga_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)bulwark::policy::fga::Model::Parse(input);
  return 0;
}

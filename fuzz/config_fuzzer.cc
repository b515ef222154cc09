// Fuzzes YAML config loading and validation of the server config.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/config.h"
#include "server/server_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto root = bulwark::ParseConfig(std::string_view(reinterpret_cast<const char*>(data), size),
                                   "fuzz.yaml");
  if (root) (void)bulwark::server::ServerConfigFromNode(*root);
  return 0;
}

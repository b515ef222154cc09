// Fuzzes compact JWS parsing and full JWT verification against fixed keys.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/clock.h"
#include "jose/jwt.h"

namespace {

bulwark::jose::JwtVerifier& Verifier() {
  static bulwark::FakeClock clock(1'700'000'000);
  static auto* verifier = [] {
    std::vector<bulwark::jose::Jwk> keys;
    keys.push_back(*bulwark::jose::Jwk::Generate(bulwark::jose::JwsAlgorithm::kES256, "k1"));
    keys.push_back(*bulwark::jose::Jwk::Generate(bulwark::jose::JwsAlgorithm::kHS256, "k2"));
    bulwark::jose::JwtValidationOptions opts;
    opts.require_exp = false;
    return bulwark::jose::JwtVerifier::Create(bulwark::jose::Jwks(std::move(keys)), opts, clock)
        ->release();
  }();
  return *verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view token(reinterpret_cast<const char*>(data), size);
  (void)bulwark::jose::ParseCompactJws(token);
  (void)Verifier().Verify(token);
  return 0;
}

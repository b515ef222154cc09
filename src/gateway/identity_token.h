// IdentityTokenSigner: the verified principal as a short-lived JWT signed by
// Bulwark, sent to the upstream in X-Bulwark-Identity, so a service can check
// who is calling without trusting the network path (a header alone can be
// forged by anything that reaches the service directly).
//
// Claims: iss (configured), sub, aud (the upstream's name, or in a
// forward-auth answer for a route without one the route's name, so a token
// meant for one service is useless at another), iat, exp (iat + ttl), scope,
// roles, cred (jwt | api_key | mtls), idp (the issuer name that vouched),
// and, when present, spiffe_id and api_key_id. Services verify it with the
// public JWKS served at /_bulwark/identity/jwks.json.
//
// Signing costs a signature; a token is reused for the same principal and
// audience until half its lifetime has passed (per io thread, no lock), so
// a client that keeps its credential costs one signature per half-ttl.
#ifndef BULWARK_GATEWAY_IDENTITY_TOKEN_H_
#define BULWARK_GATEWAY_IDENTITY_TOKEN_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"
#include "gateway/principal.h"
#include "jose/jwk.h"

namespace bulwark::gateway {

inline constexpr std::string_view kIdentityTokenHeader = "X-Bulwark-Identity";
inline constexpr std::string_view kIdentityJwksPath = "/_bulwark/identity/jwks.json";

struct IdentityTokenOptions {
  std::string key_file;  // private JWK (ES256, ES384, EdDSA, RS256...) with a kid
  std::string issuer;    // the `iss` services expect
  std::chrono::seconds ttl{60};
};

class IdentityTokenSigner {
 public:
  // kNotFound for a missing key file; kInvalidArgument for a key that is not
  // a private asymmetric JWK with a kid, an empty issuer, or a ttl outside
  // 10 s .. 1 h.
  static Result<std::unique_ptr<IdentityTokenSigner>> Create(const IdentityTokenOptions& options,
                                                             const Clock& clock);

  // The token for `principal` calling `audience`. Thread-safe.
  Result<std::string> TokenFor(const Principal& principal, std::string_view audience) const;

  // {"keys":[<the public key>]}.
  const std::string& public_jwks() const { return public_jwks_; }

 private:
  IdentityTokenSigner(jose::Jwk key, IdentityTokenOptions options, const Clock& clock,
                      std::string public_jwks);
  Result<std::string> Sign(const Principal& principal, std::string_view audience,
                           int64_t now) const;

  const jose::Jwk key_;
  const IdentityTokenOptions options_;
  const Clock& clock_;
  const std::string public_jwks_;
  const uint64_t id_;  // keys this signer's per-thread cache
};

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_IDENTITY_TOKEN_H_

// JwtAuthenticator: turns a bearer JWT into a Principal, against the issuers
// the config names. Each issuer has its own key set (a local JWKS file for
// now), audiences, token type and lifetime rules; the token's `iss` picks the
// issuer, and the issuer's own keys and algorithms decide. Thread-safe.
#ifndef BULWARK_GATEWAY_JWT_AUTHENTICATOR_H_
#define BULWARK_GATEWAY_JWT_AUTHENTICATOR_H_

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "gateway/principal.h"

namespace bulwark::jose {
class JwtVerifier;
}

namespace bulwark::gateway {

struct JwtIssuerConfig {
  std::string name;                    // how routes refer to it
  std::string issuer;                  // the exact `iss` value
  std::vector<std::string> audiences;  // the token's `aud` must hold one; required
  std::string jwks_file;               // a JWKS (or single JWK) file
  std::string required_typ;            // e.g. "at+jwt"; empty accepts any typ
  std::chrono::seconds leeway{60};
  std::optional<std::chrono::seconds> max_lifetime;
  // Where the roles are: a dotted path into the claims ("roles",
  // "realm_access.roles"); an array of strings or a space-separated string.
  std::string roles_claim = "roles";
};

class JwtAuthenticator {
 public:
  // Loads every issuer's keys. kInvalidArgument for a bad config or key file
  // (the message names the issuer), kNotFound for a missing file.
  static Result<std::unique_ptr<JwtAuthenticator>> Create(std::vector<JwtIssuerConfig> issuers,
                                                          const Clock& clock);
  ~JwtAuthenticator();

  // Verifies `token` and returns its principal. `allowed_issuers` holds
  // issuer names; empty allows every configured issuer. Failures are
  // kUnauthenticated with a short reason safe to log ("expired", "invalid
  // signature", "issuer not allowed", ...).
  Result<Principal> Authenticate(std::string_view token,
                                 std::span<const std::string> allowed_issuers = {}) const;

  bool HasIssuer(std::string_view name) const;

 private:
  struct Issuer;
  explicit JwtAuthenticator(std::vector<Issuer> issuers);
  std::vector<Issuer> issuers_;
};

// The token of an `Authorization: Bearer <token>` value (RFC 6750 section
// 2.1; scheme case-insensitive). nullopt if the value is another scheme or
// malformed.
std::optional<std::string_view> BearerToken(std::string_view authorization);

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_JWT_AUTHENTICATOR_H_

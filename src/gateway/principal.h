// Principal: who a request comes from, as authentication established it.
//
// Trust is a type: only the authenticators can make a Principal, and the
// authorizers accept nothing else, so unverified input cannot reach a
// decision by accident.
#ifndef BULWARK_GATEWAY_PRINCIPAL_H_
#define BULWARK_GATEWAY_PRINCIPAL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bulwark::gateway {

enum class CredentialKind { kJwt, kApiKey, kMtls };

class Principal {
 public:
  CredentialKind credential() const { return credential_; }
  // `sub` of a JWT, the key id of an API key, the SPIFFE ID of an mTLS peer.
  const std::string& subject() const { return subject_; }
  // The configured issuer name that vouched for it ("api-key" for API keys,
  // "" for mTLS).
  const std::string& issuer() const { return issuer_; }
  const std::vector<std::string>& scopes() const { return scopes_; }
  const std::vector<std::string>& roles() const { return roles_; }
  // The SPIFFE ID (URI SAN of the client certificate), if any.
  const std::string& spiffe_id() const { return spiffe_id_; }
  // SHA-256 of the verified client certificate's DER (raw bytes), "" if the
  // connection presented none.
  const std::string& cert_sha256() const { return cert_sha256_; }
  // The id of the API key that authenticated the request, "" otherwise.
  const std::string& api_key_id() const { return api_key_id_; }
  // The Unix second from which the credential is no longer taken: a JWT's
  // `exp` and its issuer's leeway. 0 when it has no such end (an API key's
  // expiry and revocation are the key index's to tell, a certificate's the
  // connection's).
  int64_t ends_at() const { return ends_at_; }

  bool HasScope(std::string_view scope) const;
  bool HasRole(std::string_view role) const;

  // The identity headers (IdentityHeaders) as the field lines the upstream
  // gets, "X-Bulwark-Subject: ...\r\n" and so on: rendered once by Seal, as a
  // token's principal serves every request that carries the token.
  const std::string& identity_fields() const { return identity_fields_; }

  // `principal`, finished and shared: immutable from here on.
  static std::shared_ptr<const Principal> Seal(Principal principal);

 private:
  friend class JwtAuthenticator;
  friend class MtlsAuthenticator;
  friend class ApiKeyAuthenticator;
  Principal() = default;

  CredentialKind credential_ = CredentialKind::kJwt;
  std::string subject_;
  std::string issuer_;
  std::vector<std::string> scopes_;
  std::vector<std::string> roles_;
  std::string spiffe_id_;
  std::string cert_sha256_;
  std::string api_key_id_;
  int64_t ends_at_ = 0;
  std::string identity_fields_;  // set by Seal
};

// The headers that tell the upstream who the principal is: X-Bulwark-Subject,
// -Issuer, -Scopes, -Roles, -Credential, and -Spiffe-Id and -Key-Id when set.
// Clients' copies of them are always stripped.
std::vector<std::pair<std::string, std::string>> IdentityHeaders(const Principal& principal);

std::string_view CredentialKindName(CredentialKind kind);

// "a b c": how scopes travel in headers and token claims (a scope holds no
// space: see JwtAuthenticator), and the scopes of a challenge.
std::string JoinWithSpaces(const std::vector<std::string>& items);

// Roles as X-Bulwark-Roles carries them: separated by spaces, each space,
// ',' and '%' within a role percent-encoded ("Realm Viewer" is
// `Realm%20Viewer`), so that a service splitting on spaces, or on commas
// as list-valued fields are split (Spring's @RequestHeader List), never
// reads a role the principal does not hold.
std::string JoinRolesForField(const std::vector<std::string>& roles);

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_PRINCIPAL_H_

#include "gateway/mtls_authenticator.h"

namespace bulwark::gateway {

std::optional<Principal> MtlsAuthenticator::Authenticate(const net::TlsConnectionInfo* tls) {
  if (tls == nullptr || !tls->client_verified) return std::nullopt;
  Principal principal;
  principal.credential_ = CredentialKind::kMtls;
  principal.subject_ = tls->spiffe_id.empty() ? tls->client_subject : tls->spiffe_id;
  principal.spiffe_id_ = tls->spiffe_id;
  principal.cert_sha256_ = tls->client_cert_sha256;
  return principal;
}

void MtlsAuthenticator::Bind(Principal& principal, const net::TlsConnectionInfo* tls) {
  if (tls == nullptr || !tls->client_verified) return;
  principal.spiffe_id_ = tls->spiffe_id;
  principal.cert_sha256_ = tls->client_cert_sha256;
}

}  // namespace bulwark::gateway

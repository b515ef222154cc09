// MtlsAuthenticator: the principal of a TLS client certificate that the
// listener verified against its CA bundle (and CRL). The SPIFFE ID (the one
// URI SAN of an X509-SVID) is the subject; a certificate without one is
// known by its subject DN. Stateless and thread-safe.
#ifndef BULWARK_GATEWAY_MTLS_AUTHENTICATOR_H_
#define BULWARK_GATEWAY_MTLS_AUTHENTICATOR_H_

#include <optional>

#include "gateway/principal.h"
#include "net/tls.h"

namespace bulwark::gateway {

class MtlsAuthenticator {
 public:
  // nullopt unless `tls` is set and its client certificate verified.
  static std::optional<Principal> Authenticate(const net::TlsConnectionInfo* tls);
  // Adds the verified client certificate's SPIFFE ID to a principal that
  // another credential established (a route that wants mTLS and a JWT: the
  // workload calling on a user's behalf). Does nothing if `tls` did not verify.
  static void Bind(Principal& principal, const net::TlsConnectionInfo* tls);
};

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_MTLS_AUTHENTICATOR_H_

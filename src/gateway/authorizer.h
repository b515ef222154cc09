// Authorizer: decides whether a principal may perform an action on a
// resource. The gateway calls it after authentication with what it knows of
// the request; the route-rule authorizer below is the first implementation,
// the policy engine (Cedar, relationships) plugs into the same interface.
#ifndef BULWARK_GATEWAY_AUTHORIZER_H_
#define BULWARK_GATEWAY_AUTHORIZER_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/ip_address.h"
#include "gateway/principal.h"
#include "gateway/route.h"
#include "net/tls.h"

namespace bulwark::gateway {

struct AuthzRequest {
  const Route* route = nullptr;
  const Principal* principal = nullptr;  // null on a public or optional route without credentials
  std::string_view action;               // the HTTP method
  std::string_view resource;             // the normalized path
  std::string_view host;
  std::optional<IpAddress> client_ip;
  bool tls = false;
  // The client's own TLS connection (version, verified certificate, SPIFFE
  // ID), null over plaintext or behind a forwarding proxy.
  const net::TlsConnectionInfo* tls_info = nullptr;
  int64_t now = 0;  // Unix seconds, by the gateway's clock
};

struct AuthzDecision {
  bool allowed = false;
  std::string reason;                       // for audit and logs, e.g. "missing scope"
  std::vector<std::string> missing_scopes;  // for WWW-Authenticate insufficient_scope
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // Thread-safe; must not block.
  virtual AuthzDecision Authorize(const AuthzRequest& request) const = 0;
};

// Applies the route's RouteAuthz. Deny overrides allow: a denied client
// address refuses even an otherwise allowed principal; every non-empty rule
// must hold.
class RouteRuleAuthorizer final : public Authorizer {
 public:
  AuthzDecision Authorize(const AuthzRequest& request) const override;
};

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_AUTHORIZER_H_

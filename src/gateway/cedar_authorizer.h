// The Cedar authorizer: routes whose authz has a `cedar` section are decided
// by Bulwark's Cedar policies, in process, on an immutable snapshot.
//
// A request becomes a Cedar request:
//   principal  <type>::"<subject>" with the type by credential kind (JWT:
//              User, API key: ApiKey, mTLS: Workload, by default), and
//              Anonymous::"anonymous" on an optional route without one;
//   action     the route's action (or the method's, or the method itself);
//   resource   the route's resource template with the path parameters
//              (Document::"{id}" for /docs/{id}), or Route::"<route name>";
//   context    what the gateway knows: method, path, host, client_ip
//              (ipaddr), time (datetime), authenticated, credential, issuer,
//              scopes and roles (sets of strings), spiffe_id, tls,
//              tls_version, client_certificate, params (the path
//              parameters). With a schema, only the attributes the action's
//              context declares are passed, and the request must fit it.
//
// Forbid overrides permit and the default is deny; a policy that errors is
// skipped, and named in the reason.
#ifndef BULWARK_GATEWAY_CEDAR_AUTHORIZER_H_
#define BULWARK_GATEWAY_CEDAR_AUTHORIZER_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "gateway/authorizer.h"
#include "policy/cedar_evaluator.h"
#include "policy/cedar_snapshot.h"

namespace bulwark::gateway {

// The Cedar entity types of principals, by how they authenticated.
struct CedarPrincipalTypes {
  std::string jwt = "User";
  std::string api_key = "ApiKey";
  std::string mtls = "Workload";
  std::string anonymous = "Anonymous";
};

// Checks a route's Cedar section and fills its parsed fields: a path
// template of literal segments and {name} parameters (a last {name*} takes
// the rest), a resource that is a Cedar entity literal whose {name}s the
// path defines, and action names or literals that parse.
Status CompileRouteCedar(RouteCedar& cedar);

class CedarAuthorizer final : public Authorizer {
 public:
  CedarAuthorizer(std::shared_ptr<const policy::cedar::SnapshotSource> policies,
                  CedarPrincipalTypes types)
      : policies_(std::move(policies)), types_(std::move(types)) {}

  // Decides a request of a route with a Cedar section (others: deny).
  AuthzDecision Authorize(const AuthzRequest& request) const override;

  // The Cedar request the gateway's request becomes, or the reason it cannot
  // be one (a path the route's template does not match, a request that does
  // not fit the schema).
  Result<policy::cedar::Request> ToCedar(const AuthzRequest& request,
                                         const policy::cedar::CedarSnapshot& snapshot) const;

 private:
  const std::shared_ptr<const policy::cedar::SnapshotSource> policies_;
  const CedarPrincipalTypes types_;
};

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_CEDAR_AUTHORIZER_H_

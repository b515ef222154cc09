// The relation authorizer: routes whose authz has a `relation` section admit
// a caller only if it has a relation to the object the path names, as the
// relation store answers (Zanzibar-style, see policy/relation_store.h).
//
// A request becomes a Check:
//   user      <type>:<subject>, the type by credential kind (JWT: user,
//             API key: api_key, mTLS: workload, by default); a request
//             without a principal is refused;
//   relation  the route's relation (or the method's);
//   object    the route's object template with the path parameters
//             (document:{id} for /docs/{id});
//   context   for conditions: client_ip, current_time (RFC 3339), method,
//             path, host, and each path parameter by name.
// A Check that errors (a missing condition parameter, an object id the
// model cannot hold) denies, with the reason in the audit record; a grant's
// reason is its resolution path.
#ifndef BULWARK_GATEWAY_RELATION_AUTHORIZER_H_
#define BULWARK_GATEWAY_RELATION_AUTHORIZER_H_

#include <string>

#include "core/status.h"
#include "gateway/authorizer.h"
#include "policy/relation_store.h"

namespace bulwark::gateway {

// The user types of callers, by how they authenticated.
struct RelationUserTypes {
  std::string jwt = "user";
  std::string api_key = "api_key";
  std::string mtls = "workload";
};

// Checks a route's relation section and fills its parsed fields: the path
// template, an object template `type:id` whose {name}s the path defines,
// and a relation for every method or a map by method.
Status CompileRouteRelation(RouteRelation& relation);

class RelationAuthorizer final : public Authorizer {
 public:
  // `relations` must outlive the authorizer.
  RelationAuthorizer(const policy::RelationStore& relations, RelationUserTypes types)
      : relations_(relations), types_(std::move(types)) {}

  // Decides a request of a route with a relation section (others: deny).
  AuthzDecision Authorize(const AuthzRequest& request) const override;

 private:
  const policy::RelationStore& relations_;
  const RelationUserTypes types_;
};

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_RELATION_AUTHORIZER_H_

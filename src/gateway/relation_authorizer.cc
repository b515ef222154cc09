#include "gateway/relation_authorizer.h"

#include <fmt/format.h>

#include "gateway/path_template.h"
#include "gateway/principal.h"
#include "gateway/route.h"
#include "net/request_path.h"

namespace bulwark::gateway {

namespace fga = policy::fga;
namespace cel = policy::cel;

namespace {

AuthzDecision Deny(std::string reason) { return {.allowed = false, .reason = std::move(reason)}; }

}  // namespace

Status CompileRouteRelation(RouteRelation& route) {
  BULWARK_ASSIGN_OR_RETURN(route.path_segments, CompilePathTemplate(route.path));
  const size_t colon = route.object.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == route.object.size()) {
    return InvalidArgumentError(
        fmt::format("object `{}`: expected type:id such as document:{{id}}", route.object));
  }
  route.object_type = route.object.substr(0, colon);
  route.object_id = route.object.substr(colon + 1);
  if (!fga::IsName(route.object_type)) {
    return InvalidArgumentError(fmt::format("object `{}`: bad type", route.object));
  }
  auto sample = ExpandTemplate(route.object_id, SampleParams(route.path_segments));
  if (!sample) return InvalidArgumentError(fmt::format("object: {}", sample.error().message()));
  if (!fga::ParseObject(route.object_type + ":" + *sample)) {
    return InvalidArgumentError(fmt::format("object `{}` is not a valid object", route.object));
  }
  if (route.relation.empty() && route.relations_by_method.empty()) {
    return InvalidArgumentError("give a relation, or relations by method");
  }
  if (!route.relation.empty() && !fga::IsName(route.relation)) {
    return InvalidArgumentError("bad relation name");
  }
  for (const auto& [method, r] : route.relations_by_method) {
    if (!fga::IsName(r)) return InvalidArgumentError(fmt::format("bad relation name `{}`", r));
  }
  return OkStatus();
}

AuthzDecision RelationAuthorizer::Authorize(const AuthzRequest& request) const {
  if (request.route == nullptr || !request.route->authz.relation)
    return Deny("no relation section");
  const RouteRelation& route = *request.route->authz.relation;
  const Principal* p = request.principal;
  if (p == nullptr) return Deny("relation: no authenticated caller");
  auto params =
      MatchPathTemplate(route.path_segments, request.resource, !request.route->case_sensitive);
  if (!params) return Deny(fmt::format("relation: path does not match {}", route.path));
  std::string relation = route.relation;
  if (relation.empty()) {
    for (const auto& [method, r] : route.relations_by_method) {
      if (method == request.action) relation = r;
    }
    if (relation.empty()) return Deny(fmt::format("relation: none for {}", request.action));
  }
  auto id = ExpandTemplate(route.object_id, *params);
  if (!id) return Deny("relation: " + id.error().message());
  auto object = fga::ParseObject(route.object_type + ":" + *id);
  if (!object) return Deny("relation: " + object.error().message());
  const std::string& type = p->credential() == CredentialKind::kJwt      ? types_.jwt
                            : p->credential() == CredentialKind::kApiKey ? types_.api_key
                                                                         : types_.mtls;
  auto user = fga::ParseUser(type + ":" + p->subject());
  if (!user) return Deny("relation: the caller is not a valid user: " + user.error().message());

  fga::CheckRequest check{std::move(*object), std::move(relation), std::move(*user), {}, {}};
  check.context.emplace(
      "current_time",
      cel::Value::String(cel::FormatTimestamp({cel::Int128{request.now} * 1'000'000'000})));
  check.context.emplace("method", cel::Value::String(std::string(request.action)));
  // As the service resolves it (net::PathWithoutParameters), as Cedar sees it.
  check.context.emplace("path", cel::Value::String(net::PathWithoutParameters(request.resource)));
  check.context.emplace("host", cel::Value::String(RoutedHostName(request.host)));
  if (request.client_ip) {
    cel::IpAddress ip{request.client_ip->bytes(), !request.client_ip->is_v4()};
    check.context.emplace("client_ip", cel::Value::String(cel::FormatIpAddress(ip)));
  }
  for (const auto& [name, value] : *params) check.context.emplace(name, cel::Value::String(value));

  auto result = relations_.Check(check);
  const std::string what = fmt::format("{}#{}@{}", fga::ToString(check.object), check.relation,
                                       fga::ToString(check.user));
  if (!result) return Deny(fmt::format("relation {}: error: {}", what, result.error().message()));
  if (!result->allowed) return Deny(fmt::format("relation {}: no such relation", what));
  std::string reason = "relation granted:";
  for (const std::string& step : result->path) reason += " " + step + ";";
  reason.pop_back();
  return {.allowed = true, .reason = std::move(reason)};
}

}  // namespace bulwark::gateway

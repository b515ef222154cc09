#include "gateway/cedar_authorizer.h"

#include <fmt/format.h>

#include <algorithm>

#include "gateway/path_template.h"
#include "gateway/route.h"
#include "net/request_path.h"
#include "policy/cedar_parser.h"

namespace bulwark::gateway {

namespace {

namespace cedar = policy::cedar;

// The resource literal's type and id template: Document::"{id}".
struct ResourceTemplate {
  std::string type;
  std::string id;  // with {name} placeholders
};

Result<ResourceTemplate> ParseResourceTemplate(std::string_view text) {
  const size_t open = text.find("::\"");
  if (open == std::string_view::npos || text.size() < open + 4 || text.back() != '"') {
    return Err(InvalidArgumentError(fmt::format(
        "resource `{}`: expected a Cedar entity literal such as Document::\"{{id}}\"", text)));
  }
  // The type must be a valid entity type path: check it by parsing a literal of it.
  const std::string type(text.substr(0, open));
  if (!cedar::ParseEntityUid(type + "::\"x\"")) {
    return Err(InvalidArgumentError(fmt::format("resource `{}`: bad entity type", text)));
  }
  std::string id(text.substr(open + 3, text.size() - open - 4));
  if (id.find('"') != std::string::npos || id.find('\\') != std::string::npos) {
    return Err(InvalidArgumentError(
        fmt::format("resource `{}`: quotes and escapes are not supported in the id", text)));
  }
  return ResourceTemplate{type, std::move(id)};
}

Result<cedar::EntityUid> ActionUid(std::string_view action) {
  if (action.find("::\"") != std::string_view::npos) return cedar::ParseEntityUid(action);
  return cedar::EntityUid{"Action", std::string(action)};
}

cedar::Value StringSet(const std::vector<std::string>& items) {
  cedar::ValueSet set;
  set.reserve(items.size());
  for (const std::string& s : items) set.push_back(cedar::Value::String(s));
  return cedar::Value::Set(std::move(set));
}

AuthzDecision Deny(std::string reason) { return {.allowed = false, .reason = std::move(reason)}; }

}  // namespace

Status CompileRouteCedar(RouteCedar& route) {
  BULWARK_ASSIGN_OR_RETURN(route.path_segments, CompilePathTemplate(route.path));
  const PathParams names = SampleParams(route.path_segments);
  route.resource_type.clear();
  route.resource_id.clear();
  if (!route.resource.empty()) {
    BULWARK_ASSIGN_OR_RETURN(ResourceTemplate resource, ParseResourceTemplate(route.resource));
    if (auto expanded = ExpandTemplate(resource.id, names); !expanded) return expanded.error();
    route.resource_type = std::move(resource.type);
    route.resource_id = std::move(resource.id);
  }
  std::vector<std::pair<std::string, std::string>> actions = route.actions_by_method;
  if (!route.action.empty()) actions = {{"", route.action}};
  route.action_uids.clear();
  for (const auto& [method, action] : actions) {
    auto uid = ActionUid(action);
    if (!uid) return InvalidArgumentError(fmt::format("action `{}` is not a Cedar action", action));
    route.action_uids.emplace_back(method, std::move(*uid));
  }
  return OkStatus();
}

Result<cedar::Request> CedarAuthorizer::ToCedar(const AuthzRequest& request,
                                                const cedar::CedarSnapshot& snapshot) const {
  const RouteCedar& route = *request.route->authz.cedar;
  auto params =
      MatchPathTemplate(route.path_segments, request.resource, !request.route->case_sensitive);
  if (!params) {
    return Err(InvalidArgumentError(fmt::format("path does not match {}", route.path)));
  }
  cedar::Request out;
  if (const Principal* p = request.principal) {
    const std::string& type = p->credential() == CredentialKind::kJwt      ? types_.jwt
                              : p->credential() == CredentialKind::kApiKey ? types_.api_key
                                                                           : types_.mtls;
    out.principal = {type, p->subject()};
  } else {
    out.principal = {types_.anonymous, "anonymous"};
  }
  out.action = {"Action", std::string(request.action)};  // the method, unless mapped
  for (const auto& [method, uid] : route.action_uids) {
    if (method.empty() || method == request.action) {
      out.action = uid;
      break;
    }
  }
  if (route.resource_type.empty()) {
    out.resource = {"Route", request.route->name};
  } else {
    BULWARK_ASSIGN_OR_RETURN(std::string id, ExpandTemplate(route.resource_id, *params));
    out.resource = {route.resource_type, std::move(id)};
  }

  cedar::ValueRecord context;
  context.emplace("method", cedar::Value::String(std::string(request.action)));
  // The path as the service resolves it, so that `context.path like
  // "/docs/secret*"` is not stepped around by `/docs;x/secret`.
  context.emplace("path", cedar::Value::String(net::PathWithoutParameters(request.resource)));
  context.emplace("host", cedar::Value::String(RoutedHostName(request.host)));
  if (request.client_ip) {
    cedar::IpAddr ip{.v4 = request.client_ip->is_v4(),
                     .bytes = request.client_ip->bytes(),
                     .prefix = static_cast<uint8_t>(request.client_ip->is_v4() ? 32 : 128)};
    context.emplace("client_ip", cedar::Value::OfIp(ip));
  }
  context.emplace("time", cedar::Value::OfDatetime({request.now * 1000}));
  const Principal* p = request.principal;
  context.emplace("authenticated", cedar::Value::Bool(p != nullptr));
  context.emplace("credential", cedar::Value::String(
                                    p ? std::string(CredentialKindName(p->credential())) : "none"));
  context.emplace("issuer", cedar::Value::String(p ? p->issuer() : ""));
  context.emplace("scopes", StringSet(p ? p->scopes() : std::vector<std::string>{}));
  context.emplace("roles", StringSet(p ? p->roles() : std::vector<std::string>{}));
  if (p != nullptr && !p->spiffe_id().empty()) {
    context.emplace("spiffe_id", cedar::Value::String(p->spiffe_id()));
  }
  context.emplace("tls", cedar::Value::Bool(request.tls));
  if (request.tls_info != nullptr) {
    context.emplace("tls_version", cedar::Value::String(request.tls_info->version));
  }
  context.emplace("client_certificate", cedar::Value::Bool(request.tls_info != nullptr &&
                                                           request.tls_info->client_verified));
  cedar::ValueRecord path_params;
  for (auto& [name, value] : *params) path_params.emplace(name, cedar::Value::String(value));
  context.emplace("params", cedar::Value::Record(std::move(path_params)));

  if (const cedar::Schema* schema = snapshot.schema.get()) {
    // Only what the action's context declares: the schema's records are closed.
    if (const cedar::ActionSchema* action = schema->FindAction(out.action)) {
      std::erase_if(context, [&](const auto& field) {
        return !action->context.record().contains(field.first);
      });
    }
    BULWARK_ASSIGN_OR_RETURN(out.context,
                             cedar::ConformRequest(*schema, out.principal, out.action, out.resource,
                                                   cedar::Value::Record(std::move(context))));
  } else {
    out.context = cedar::Value::Record(std::move(context));
  }
  return out;
}

AuthzDecision CedarAuthorizer::Authorize(const AuthzRequest& request) const {
  if (request.route == nullptr || !request.route->authz.cedar) return Deny("no Cedar route");
  const std::shared_ptr<const cedar::CedarSnapshot> snapshot = policies_->Current();
  auto cedar_request = ToCedar(request, *snapshot);
  if (!cedar_request) return Deny("policy: " + cedar_request.error().message());
  const cedar::Decision decision =
      snapshot->policies->Authorize(*cedar_request, *snapshot->entities);
  std::string reason = decision.allow ? "permitted by" : "denied";
  if (!decision.allow) reason += decision.reasons.empty() ? " (no policy permits)" : " by";
  for (const std::string& id : decision.reasons) reason += " " + id;
  for (const cedar::PolicyError& e : decision.errors) reason += "; error in " + e.policy_id;
  return {.allowed = decision.allow, .reason = std::move(reason)};
}

}  // namespace bulwark::gateway

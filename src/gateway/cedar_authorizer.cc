#include "gateway/cedar_authorizer.h"

#include <fmt/format.h>

#include <algorithm>

#include "policy/cedar_parser.h"

namespace bulwark::gateway {

namespace {

namespace cedar = policy::cedar;

// Splits "/a/b/c" into {"a", "b", "c"}.
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    const size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// "{name}" -> "name", "{name*}" -> "name" with rest = true; else nullopt.
std::optional<std::string_view> Parameter(std::string_view segment, bool* rest = nullptr) {
  if (segment.size() < 3 || segment.front() != '{' || segment.back() != '}') return std::nullopt;
  std::string_view name = segment.substr(1, segment.size() - 2);
  const bool star = name.back() == '*';
  if (star) name.remove_suffix(1);
  if (rest != nullptr) *rest = star;
  if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      })) {
    return std::nullopt;
  }
  return name;
}

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

// Replaces each {name} of `id` by its parameter; fails for an unknown name.
Result<std::string> Expand(std::string_view id,
                           const std::map<std::string, std::string, std::less<>>& params) {
  std::string out;
  while (!id.empty()) {
    const size_t open = id.find('{');
    out += id.substr(0, open);
    if (open == std::string_view::npos) break;
    const size_t close = id.find('}', open);
    if (close == std::string_view::npos) return Err(InvalidArgumentError("unclosed { in resource"));
    auto it = params.find(id.substr(open + 1, close - open - 1));
    if (it == params.end()) {
      return Err(InvalidArgumentError(fmt::format("resource parameter `{}` is not in the path",
                                                  id.substr(open + 1, close - open - 1))));
    }
    out += it->second;
    id.remove_prefix(close + 1);
  }
  return out;
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

std::optional<std::map<std::string, std::string, std::less<>>> MatchPathTemplate(
    const std::vector<RouteCedar::PathSegment>& segments, std::string_view path) {
  std::map<std::string, std::string, std::less<>> params;
  if (segments.empty()) return params;
  std::string_view rest = path;
  if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  for (size_t i = 0; i < segments.size(); ++i) {
    const RouteCedar::PathSegment& want = segments[i];
    if (want.rest) {
      if (rest.empty()) return std::nullopt;
      params.emplace(want.text, std::string(rest));
      return params;
    }
    const size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    const bool last = i + 1 == segments.size();
    if (last != (slash == std::string_view::npos)) return std::nullopt;
    if (want.parameter) {
      if (segment.empty()) return std::nullopt;
      params.emplace(want.text, std::string(segment));
    } else if (segment != want.text) {
      return std::nullopt;
    }
    rest = last ? std::string_view() : rest.substr(slash + 1);
  }
  return params;
}

Status CompileRouteCedar(RouteCedar& route) {
  std::map<std::string, std::string, std::less<>> names;
  route.path_segments.clear();
  if (!route.path.empty()) {
    if (route.path.front() != '/') return InvalidArgumentError("path must start with '/'");
    const std::vector<std::string_view> segments = Segments(route.path);
    for (size_t i = 0; i < segments.size(); ++i) {
      const std::string_view s = segments[i];
      bool star = false;
      if (auto name = Parameter(s, &star)) {
        if (star && i + 1 != segments.size()) {
          return InvalidArgumentError(fmt::format("path: {{{}*}} must be the last segment", *name));
        }
        if (!names.emplace(std::string(*name), "x").second) {
          return InvalidArgumentError(fmt::format("path: parameter `{}` appears twice", *name));
        }
        route.path_segments.push_back({std::string(*name), true, star});
      } else if (s.find_first_of("{}") != std::string_view::npos) {
        return InvalidArgumentError(fmt::format("path: bad segment `{}`", s));
      } else {
        route.path_segments.push_back({std::string(s), false, false});
      }
    }
  }
  route.resource_type.clear();
  route.resource_id.clear();
  if (!route.resource.empty()) {
    BULWARK_ASSIGN_OR_RETURN(ResourceTemplate resource, ParseResourceTemplate(route.resource));
    if (auto expanded = Expand(resource.id, names); !expanded) return expanded.error();
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
  auto params = MatchPathTemplate(route.path_segments, request.resource);
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
    BULWARK_ASSIGN_OR_RETURN(std::string id, Expand(route.resource_id, *params));
    out.resource = {route.resource_type, std::move(id)};
  }

  cedar::ValueRecord context;
  context.emplace("method", cedar::Value::String(std::string(request.action)));
  context.emplace("path", cedar::Value::String(std::string(request.resource)));
  context.emplace("host", cedar::Value::String(std::string(request.host)));
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

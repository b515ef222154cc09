#include "gateway/gateway_config.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include <fmt/format.h>

#include "gateway/cors.h"
#include "gateway/health_checker.h"
#include "net/http_fetch.h"
#include "net/request_head.h"
#include "net/request_path.h"
#include "policy/cedar_parser.h"

namespace bulwark::gateway {

Result<std::vector<CidrRange>> CidrList(const ConfigNode& node) {
  std::vector<CidrRange> out;
  for (const ConfigNode& item : node.Elements()) {
    BULWARK_ASSIGN_OR_RETURN(std::string text, item.String());
    auto range = CidrRange::Parse(text);
    if (!range) return Err(item.Error(range.error().message()));
    out.push_back(*range);
  }
  if (!node.IsMissing() && !node.IsSequence()) return Err(node.Error("expected a list"));
  return out;
}

namespace {

Result<std::vector<std::string>> ListOr(const ConfigNode& node) {
  if (node.IsMissing()) return std::vector<std::string>();
  return node.StringList();
}

// An upstream's `host:port` (an IPv6 literal in brackets).
// "host:port", or in a list of several, {address: "host:port", weight: N}.
Result<UpstreamAddress> AddressFromNode(const ConfigNode& node, bool weighted = false) {
  UpstreamAddress address;
  ConfigNode text_node = node;
  if (weighted && node.IsMap()) {
    BULWARK_RETURN_IF_ERROR(node.CheckKeys({"address", "weight"}));
    text_node = node["address"];
    BULWARK_ASSIGN_OR_RETURN(int64_t weight, node["weight"].IntOr(1, 1, 100));
    address.weight = static_cast<int>(weight);
  }
  BULWARK_ASSIGN_OR_RETURN(std::string text, text_node.String());
  if (Status parsed = ParseHostPort(text, &address.host, &address.port); !parsed.ok()) {
    return Err(text_node.Error(parsed.message()));
  }
  if (address.port == 0) return Err(text_node.Error("port must be a number from 1 to 65535"));
  return address;
}

Result<JwtIssuerConfig> IssuerFromNode(const ConfigNode& node, const std::string& base_dir) {
  BULWARK_RETURN_IF_ERROR(
      node.CheckKeys({"name", "issuer", "audiences", "jwks_file", "jwks_uri", "jwks_ca_file",
                      "jwks_refresh_seconds", "jwks_min_refetch_seconds", "jwks_max_stale_seconds",
                      "typ", "leeway_seconds", "max_lifetime_seconds", "roles_claim",
                      "forward_token", "token_cache_mib"}));
  JwtIssuerConfig issuer;
  BULWARK_ASSIGN_OR_RETURN(issuer.name, node["name"].String());
  BULWARK_ASSIGN_OR_RETURN(issuer.issuer, node["issuer"].String());
  BULWARK_ASSIGN_OR_RETURN(issuer.audiences, node["audiences"].StringList());
  if (issuer.audiences.empty()) return Err(node["audiences"].Error("must name an audience"));
  auto from_base = [&base_dir](const std::string& file) {
    const std::filesystem::path path(file);
    return path.is_absolute() ? file : (std::filesystem::path(base_dir) / path).string();
  };
  if (node["jwks_file"].IsMissing() == node["jwks_uri"].IsMissing()) {
    return Err(node.Error("exactly one of jwks_file and jwks_uri is required"));
  }
  if (!node["jwks_file"].IsMissing()) {
    BULWARK_ASSIGN_OR_RETURN(std::string jwks, node["jwks_file"].String());
    issuer.jwks_file = from_base(jwks);
  } else {
    BULWARK_ASSIGN_OR_RETURN(issuer.jwks_uri, node["jwks_uri"].String());
    if (!issuer.jwks_uri.starts_with("https://") && !issuer.jwks_uri.starts_with("http://")) {
      return Err(node["jwks_uri"].Error("must be an https URL (http only to loopback)"));
    }
    BULWARK_ASSIGN_OR_RETURN(std::string ca, node["jwks_ca_file"].StringOr(""));
    if (!ca.empty()) issuer.jwks_ca_file = from_base(ca);
    BULWARK_ASSIGN_OR_RETURN(int64_t refresh, node["jwks_refresh_seconds"].IntOr(300, 10, 86400));
    BULWARK_ASSIGN_OR_RETURN(int64_t refetch, node["jwks_min_refetch_seconds"].IntOr(30, 1, 3600));
    // By default a day, and never less than four refreshes.
    BULWARK_ASSIGN_OR_RETURN(
        int64_t stale, node["jwks_max_stale_seconds"].IntOr(std::max<int64_t>(86400, 4 * refresh),
                                                            10, 30 * 86400));
    // Equal, one refresh that failed once would drop the keys.
    if (stale < 2 * refresh) {
      return Err(
          node["jwks_max_stale_seconds"].Error("must be at least twice jwks_refresh_seconds"));
    }
    issuer.jwks_refresh_interval = std::chrono::seconds(refresh);
    issuer.jwks_min_refetch_interval = std::chrono::seconds(refetch);
    issuer.jwks_max_stale = std::chrono::seconds(stale);
  }
  BULWARK_ASSIGN_OR_RETURN(issuer.required_typ, node["typ"].StringOr(""));
  BULWARK_ASSIGN_OR_RETURN(int64_t leeway, node["leeway_seconds"].IntOr(60, 0, 600));
  issuer.leeway = std::chrono::seconds(leeway);
  if (!node["max_lifetime_seconds"].IsMissing()) {
    BULWARK_ASSIGN_OR_RETURN(int64_t life, node["max_lifetime_seconds"].Int(1, 366 * 86400));
    issuer.max_lifetime = std::chrono::seconds(life);
  }
  BULWARK_ASSIGN_OR_RETURN(int64_t cache_mib, node["token_cache_mib"].IntOr(64, 0, 4096));
  issuer.token_cache_bytes = static_cast<size_t>(cache_mib) << 20;
  BULWARK_ASSIGN_OR_RETURN(issuer.roles_claim, node["roles_claim"].StringOr("roles"));
  BULWARK_ASSIGN_OR_RETURN(issuer.forward_token, node["forward_token"].BoolOr(false));
  return issuer;
}

// An upstream's or a route's `retry`: what is sent again (`on`), how
// often, and how; the budget only on an upstream's, which its routes share.
Result<RetryPolicy> RetryFromNode(const ConfigNode& node, bool upstream) {
  if (!upstream && !node["budget_percent"].IsMissing()) {
    return Err(
        node["budget_percent"].Error("is the upstream's: its routes' retries share one budget"));
  }
  BULWARK_RETURN_IF_ERROR(node.CheckKeys({"on", "attempts", "per_try_timeout_ms", "backoff_base_ms",
                                          "backoff_max_ms", "budget_percent"}));
  RetryPolicy policy;
  if (ConfigNode on = node["on"]; !on.IsMissing()) {
    BULWARK_ASSIGN_OR_RETURN(std::vector<std::string> conditions, on.StringList());
    if (conditions.empty()) return Err(on.Error("expected at least one condition"));
    policy.on_reset = false;
    for (const std::string& condition : conditions) {
      int status = 0;
      const auto [end, ec] =
          std::from_chars(condition.data(), condition.data() + condition.size(), status);
      if (condition == "connect-failure") {
        // Always retried: the service never saw the request.
      } else if (condition == "reset") {
        policy.on_reset = true;
      } else if (condition == "timeout") {
        policy.on_timeout = true;
      } else if (condition == "gateway-error") {
        policy.statuses.insert(policy.statuses.end(), {502, 503, 504});
      } else if (condition == "5xx") {
        for (int s = 500; s <= 599; ++s) policy.statuses.push_back(s);
      } else if (ec == std::errc() && end == condition.data() + condition.size() &&
                 condition.size() == 3 && status >= 400 && status <= 599) {
        policy.statuses.push_back(status);
      } else {
        return Err(on.Error(fmt::format(
            "unknown condition '{}': expected connect-failure, reset, timeout, gateway-error, "
            "5xx or a status from 400 to 599",
            condition)));
      }
    }
  } else {
    policy.statuses = {502, 503, 504};
  }
  std::sort(policy.statuses.begin(), policy.statuses.end());
  policy.statuses.erase(std::unique(policy.statuses.begin(), policy.statuses.end()),
                        policy.statuses.end());
  BULWARK_ASSIGN_OR_RETURN(int64_t attempts, node["attempts"].IntOr(0, 1, 10));
  policy.attempts = static_cast<int>(attempts);
  BULWARK_ASSIGN_OR_RETURN(int64_t per_try, node["per_try_timeout_ms"].IntOr(0, 1, 3'600'000));
  policy.per_try_timeout = std::chrono::milliseconds(per_try);
  BULWARK_ASSIGN_OR_RETURN(int64_t base, node["backoff_base_ms"].IntOr(25, 0, 10'000));
  BULWARK_ASSIGN_OR_RETURN(
      int64_t max, node["backoff_max_ms"].IntOr(std::min<int64_t>(base * 10, 60'000), 0, 60'000));
  if (max < base) return Err(node["backoff_max_ms"].Error("must not be below backoff_base_ms"));
  policy.backoff_base = std::chrono::milliseconds(base);
  policy.backoff_max = std::chrono::milliseconds(max);
  BULWARK_ASSIGN_OR_RETURN(int64_t budget, node["budget_percent"].IntOr(20, 1, 100));
  policy.budget_percent = static_cast<int>(budget);
  return policy;
}

// Whether a route's rules may set or remove field `name`: never one of the
// framing or of this hop (which Bulwark writes, or drops, itself), nor one
// Bulwark sets: on a request the identity, the forwarding fields, Host,
// Expect and the request id, or one it drops (a name with '_'); on an
// answer Date, the request id every answer tells, and those of its
// refusals (the challenge of a 401, the limits of a 429).
bool FieldRuleAllowed(std::string_view name, bool request) {
  if (net::IsHopByHopField(name) || net::EqualsIgnoreCase(name, "X-Request-Id")) return false;
  const auto any_of = [&](std::initializer_list<std::string_view> names) {
    return std::any_of(names.begin(), names.end(),
                       [&](std::string_view owned) { return net::EqualsIgnoreCase(name, owned); });
  };
  if (!request) {
    return !any_of({"Date", "WWW-Authenticate", "Retry-After", "RateLimit", "RateLimit-Policy"});
  }
  return name.find('_') == std::string_view::npos && !IsGatewayOwnedRequestField(name);
}

Result<FieldRules> FieldRulesFromNode(const ConfigNode& node, bool request) {
  BULWARK_RETURN_IF_ERROR(node.CheckKeys({"set", "remove"}));
  FieldRules rules;
  const auto check_name = [&](const ConfigNode& at, const std::string& name) -> Status {
    if (!net::IsToken(name)) return at.Error("'" + name + "' is not a field name");
    if (!FieldRuleAllowed(name, request)) {
      return at.Error("'" + name + "' is Bulwark's own (see the gateway's field rules)");
    }
    // Names compare in any case: one named twice is a mistake.
    if (std::any_of(rules.remove.begin(), rules.remove.end(),
                    [&](const std::string& seen) { return net::EqualsIgnoreCase(seen, name); })) {
      return at.Error("'" + name + "' is named twice");
    }
    return OkStatus();
  };
  if (ConfigNode set = node["set"]; !set.IsMissing()) {
    if (!set.IsMap()) return Err(set.Error("must map field names to values"));
    for (const std::string& name : set.Keys()) {
      BULWARK_RETURN_IF_ERROR(check_name(set[name], name));
      BULWARK_ASSIGN_OR_RETURN(std::string value, set[name].String());
      if (!net::IsFieldValue(value) || value.starts_with(' ') || value.starts_with('\t') ||
          value.ends_with(' ') || value.ends_with('\t')) {
        return Err(
            set[name].Error("is not a field value (control characters, or space at an end)"));
      }
      rules.remove.push_back(name);
      rules.set.emplace_back(name, std::move(value));
    }
  }
  if (ConfigNode remove = node["remove"]; !remove.IsMissing() && !remove.IsSequence()) {
    return Err(remove.Error("must be a list of field names"));
  }
  for (const ConfigNode& item : node["remove"].Elements()) {
    BULWARK_ASSIGN_OR_RETURN(std::string name, item.String());
    BULWARK_RETURN_IF_ERROR(check_name(item, name));
    rules.remove.push_back(std::move(name));
  }
  return rules;
}

// A route's `cors` block (cors.h).
Result<CorsPolicy> CorsPolicyFromNode(const ConfigNode& node) {
  BULWARK_RETURN_IF_ERROR(node.CheckKeys({"allow_origins", "allow_methods", "allow_headers",
                                          "expose_headers", "allow_credentials", "max_age_s"}));
  CorsPolicy policy;
  ConfigNode origins = node["allow_origins"];
  if (!origins.IsSequence() || origins.Elements().empty()) {
    return Err(origins.Error("must list the origins whose pages may call the route"));
  }
  for (const ConfigNode& item : origins.Elements()) {
    BULWARK_ASSIGN_OR_RETURN(std::string origin, item.String());
    if (Status added = AddAllowedOrigin(origin, policy); !added.ok()) {
      return Err(item.Error(added.message()));
    }
  }
  BULWARK_ASSIGN_OR_RETURN(policy.credentials, node["allow_credentials"].BoolOr(false));
  if (policy.credentials && policy.any_origin) {
    return Err(node["allow_credentials"].Error(
        "cannot go with allow_origins '*': every site could read answers made with its "
        "visitors' cookies; list the origins"));
  }
  // Field names, each named once in any case; '*' alone where `star` is.
  const auto names = [](const ConfigNode& list, bool star) -> Result<std::vector<std::string>> {
    if (!list.IsMissing() && !list.IsSequence()) return Err(list.Error("must be a list"));
    std::vector<std::string> out;
    for (const ConfigNode& item : list.Elements()) {
      BULWARK_ASSIGN_OR_RETURN(std::string name, item.String());
      if (!star && name == "*") {
        return Err(
            item.Error("name the fields a page may read: '*' exposes none to a page "
                       "that sends credentials"));
      }
      if (!net::IsToken(name)) {  // '*' is a token
        return Err(item.Error("'" + name + "' is not a field name"));
      }
      if (std::any_of(out.begin(), out.end(),
                      [&](const std::string& seen) { return net::EqualsIgnoreCase(seen, name); })) {
        return Err(item.Error("'" + name + "' is named twice"));
      }
      out.push_back(std::move(name));
    }
    return out;
  };
  if (ConfigNode methods = node["allow_methods"]; !methods.IsMissing()) {
    BULWARK_ASSIGN_OR_RETURN(policy.methods, methods.StringList());
    for (const std::string& method : policy.methods) {
      if (!net::IsToken(method) ||
          std::any_of(method.begin(), method.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
        return Err(methods.Error("'" + method + "' is not a method in upper case"));
      }
      if (std::count(policy.methods.begin(), policy.methods.end(), method) > 1) {
        return Err(methods.Error("'" + method + "' is named twice"));
      }
    }
    if (policy.methods.empty()) return Err(methods.Error("must name a method"));
  }
  BULWARK_ASSIGN_OR_RETURN(policy.headers, names(node["allow_headers"], /*star=*/true));
  if (std::find(policy.headers.begin(), policy.headers.end(), "*") != policy.headers.end()) {
    if (policy.headers.size() > 1) return Err(node["allow_headers"].Error("list '*' alone"));
    policy.headers.clear();
    policy.any_header = true;
  }
  BULWARK_ASSIGN_OR_RETURN(policy.expose_headers, names(node["expose_headers"], /*star=*/false));
  if (ConfigNode age = node["max_age_s"]; !age.IsMissing()) {
    BULWARK_ASSIGN_OR_RETURN(policy.max_age_s, age.Int(0, 86'400));
  }
  return policy;
}

Result<Route> RouteFromNode(const ConfigNode& node) {
  BULWARK_RETURN_IF_ERROR(node.CheckKeys(
      {"name", "host", "path_prefix", "prefix_rewrite", "methods", "authn", "authz", "rate_limit",
       "upstream", "websocket", "websocket_outlives_token", "retry", "response_timeout_ms",
       "request_headers", "response_headers", "case_sensitive", "cors"}));
  Route route;
  BULWARK_ASSIGN_OR_RETURN(route.name, node["name"].String());
  BULWARK_ASSIGN_OR_RETURN(route.upstream, node["upstream"].StringOr(""));
  BULWARK_ASSIGN_OR_RETURN(route.websocket, node["websocket"].BoolOr(false));
  if (route.websocket && route.upstream.empty()) {
    return Err(node["websocket"].Error("needs an upstream to tunnel to"));
  }
  BULWARK_ASSIGN_OR_RETURN(route.websocket_outlives_token,
                           node["websocket_outlives_token"].BoolOr(false));
  if (route.websocket_outlives_token && !route.websocket) {
    return Err(node["websocket_outlives_token"].Error("needs websocket: true"));
  }
  if (ConfigNode retry = node["retry"]; !retry.IsMissing()) {
    if (route.upstream.empty()) return Err(retry.Error("needs an upstream to send again to"));
    BULWARK_ASSIGN_OR_RETURN(route.retry, RetryFromNode(retry, /*upstream=*/false));
  }
  if (ConfigNode timeout = node["response_timeout_ms"]; !timeout.IsMissing()) {
    if (route.upstream.empty()) return Err(timeout.Error("needs an upstream to wait for"));
    BULWARK_ASSIGN_OR_RETURN(int64_t ms, timeout.Int(1, 3'600'000));
    route.response_timeout = std::chrono::milliseconds(ms);
  }
  BULWARK_ASSIGN_OR_RETURN(route.host, node["host"].StringOr(""));
  if (!route.host.empty()) {
    // A port would be ignored (a Host's port is), so it is not taken.
    if (HostWithoutPort(route.host) != route.host || !net::CheckAuthority(route.host).ok()) {
      return Err(node["host"].Error("must be a host name or an IPv6 literal, without a port"));
    }
    route.host = RoutedHostName(route.host);  // as the Host it is matched with
  }
  BULWARK_ASSIGN_OR_RETURN(route.path_prefix, node["path_prefix"].StringOr("/"));
  BULWARK_ASSIGN_OR_RETURN(route.case_sensitive, node["case_sensitive"].BoolOr(true));
  if (route.path_prefix.empty() || route.path_prefix.front() != '/') {
    return Err(node["path_prefix"].Error("must start with '/'"));
  }
  // A path as the normalizer leaves one: no query, dot-segment, empty
  // segment, escape of an unreserved character or lower-case escape. A
  // prefix in another form would never match a request's path, which is
  // matched normalized, and its requests would fall through to a later,
  // maybe looser, route; a rewrite in another form would give the service
  // what the gateway would have refused or changed.
  const auto normalized = [](const std::string& path) {
    Result<net::NormalizedTarget> normal = net::NormalizeRequestTarget(path);
    return path.starts_with('/') && normal && normal->path == path && normal->query.empty() &&
           path.find('?') == std::string::npos;
  };
  if (!normalized(route.path_prefix)) {
    return Err(node["path_prefix"].Error(
        "must be a normalized path, as requests' paths are matched: no '.' or '..' segment, "
        "no '//', no query, escapes in upper case and none of an unreserved character"));
  }
  if (ConfigNode rewrite = node["prefix_rewrite"]; !rewrite.IsMissing()) {
    if (route.upstream.empty()) return Err(rewrite.Error("needs an upstream to forward to"));
    BULWARK_ASSIGN_OR_RETURN(std::string to, rewrite.String());
    if (!normalized(to)) return Err(rewrite.Error("must be a normalized path, such as /v1 or /"));
    if (to.ends_with('/')) to.pop_back();
    route.prefix_rewrite = std::move(to);
  }
  if (ConfigNode fields = node["request_headers"]; !fields.IsMissing()) {
    if (route.upstream.empty()) return Err(fields.Error("needs an upstream to forward to"));
    BULWARK_ASSIGN_OR_RETURN(route.request_fields, FieldRulesFromNode(fields, /*request=*/true));
  }
  if (ConfigNode fields = node["response_headers"]; !fields.IsMissing()) {
    if (route.upstream.empty()) return Err(fields.Error("needs an upstream to answer for"));
    BULWARK_ASSIGN_OR_RETURN(route.response_fields, FieldRulesFromNode(fields, /*request=*/false));
  }
  if (ConfigNode cors = node["cors"]; !cors.IsMissing()) {
    // The forward-auth endpoints leave preflights to the proxy in front.
    if (route.upstream.empty()) return Err(cors.Error("needs an upstream to answer for"));
    BULWARK_ASSIGN_OR_RETURN(route.cors, CorsPolicyFromNode(cors));
    for (const std::string& name : route.response_fields.remove) {
      if (IsCorsResponseField(name)) {
        return Err(node["response_headers"].Error("'" + name + "' is the route's cors policy's"));
      }
    }
  }
  BULWARK_ASSIGN_OR_RETURN(route.methods, ListOr(node["methods"]));

  ConfigNode authn = node["authn"];
  BULWARK_RETURN_IF_ERROR(authn.CheckKeys({"mode", "credentials", "issuers"}));
  if (!authn["mode"].IsMissing()) {
    BULWARK_ASSIGN_OR_RETURN(std::string mode,
                             authn["mode"].Enum({"none", "optional", "any_of", "all_of"}));
    route.authn.mode = mode == "none"       ? AuthnMode::kNone
                       : mode == "optional" ? AuthnMode::kOptional
                       : mode == "all_of"   ? AuthnMode::kAllOf
                                            : AuthnMode::kAnyOf;
  }
  if (!authn["credentials"].IsMissing()) {
    route.authn.credentials.clear();
    for (const ConfigNode& item : authn["credentials"].Elements()) {
      BULWARK_ASSIGN_OR_RETURN(std::string kind, item.Enum({"jwt", "api_key", "mtls"}));
      route.authn.credentials.push_back(kind == "jwt"       ? CredentialKind::kJwt
                                        : kind == "api_key" ? CredentialKind::kApiKey
                                                            : CredentialKind::kMtls);
    }
  }
  BULWARK_ASSIGN_OR_RETURN(route.authn.jwt_issuers, ListOr(authn["issuers"]));

  ConfigNode authz = node["authz"];
  BULWARK_RETURN_IF_ERROR(authz.CheckKeys({"scopes", "roles", "principals", "spiffe_trust_domains",
                                           "allow_cidrs", "deny_cidrs", "cedar", "relation"}));
  BULWARK_ASSIGN_OR_RETURN(route.authz.scopes, ListOr(authz["scopes"]));
  // A scope is RFC 6749's scope-token (section 3.3): the required ones go
  // into a 403's WWW-Authenticate as a quoted, space-separated list, where a
  // space or a quote would change what the client is told.
  for (const std::string& scope : route.authz.scopes) {
    const bool token = !scope.empty() && std::all_of(scope.begin(), scope.end(), [](char c) {
      return c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
    });
    if (!token) {
      return Err(authz["scopes"].Error(
          "a scope is printable ASCII without spaces, '\"' or '\\' (RFC 6749 section 3.3)"));
    }
  }
  BULWARK_ASSIGN_OR_RETURN(route.authz.roles, ListOr(authz["roles"]));
  BULWARK_ASSIGN_OR_RETURN(route.authz.principals, ListOr(authz["principals"]));
  BULWARK_ASSIGN_OR_RETURN(route.authz.spiffe_trust_domains, ListOr(authz["spiffe_trust_domains"]));
  BULWARK_ASSIGN_OR_RETURN(route.authz.allow_cidrs, CidrList(authz["allow_cidrs"]));
  BULWARK_ASSIGN_OR_RETURN(route.authz.deny_cidrs, CidrList(authz["deny_cidrs"]));
  if (ConfigNode cedar = authz["cedar"]; !cedar.IsMissing()) {
    BULWARK_RETURN_IF_ERROR(cedar.CheckKeys({"action", "actions", "path", "resource"}));
    RouteCedar rc;
    BULWARK_ASSIGN_OR_RETURN(rc.action, cedar["action"].StringOr(""));
    if (ConfigNode actions = cedar["actions"]; !actions.IsMissing()) {
      if (!actions.IsMap()) return Err(actions.Error("must map methods to actions"));
      if (!rc.action.empty()) return Err(actions.Error("give either action or actions"));
      for (const std::string& method : actions.Keys()) {
        BULWARK_ASSIGN_OR_RETURN(std::string action, actions[method].String());
        rc.actions_by_method.emplace_back(method, std::move(action));
      }
    }
    BULWARK_ASSIGN_OR_RETURN(rc.path, cedar["path"].StringOr(""));
    BULWARK_ASSIGN_OR_RETURN(rc.resource, cedar["resource"].StringOr(""));
    if (Status s = CompileRouteCedar(rc); !s.ok()) return Err(cedar.Error(s.message()));
    route.authz.cedar = std::move(rc);
  }
  if (ConfigNode relation = authz["relation"]; !relation.IsMissing()) {
    BULWARK_RETURN_IF_ERROR(relation.CheckKeys({"relation", "relations", "path", "object"}));
    RouteRelation rr;
    BULWARK_ASSIGN_OR_RETURN(rr.relation, relation["relation"].StringOr(""));
    if (ConfigNode relations = relation["relations"]; !relations.IsMissing()) {
      if (!relations.IsMap()) return Err(relations.Error("must map methods to relations"));
      if (!rr.relation.empty()) return Err(relations.Error("give either relation or relations"));
      for (const std::string& method : relations.Keys()) {
        BULWARK_ASSIGN_OR_RETURN(std::string r, relations[method].String());
        rr.relations_by_method.emplace_back(method, std::move(r));
      }
    }
    BULWARK_ASSIGN_OR_RETURN(rr.path, relation["path"].StringOr(""));
    BULWARK_ASSIGN_OR_RETURN(rr.object, relation["object"].String());
    if (Status s = CompileRouteRelation(rr); !s.ok()) return Err(relation.Error(s.message()));
    route.authz.relation = std::move(rr);
  }
  if (ConfigNode limit = node["rate_limit"]; !limit.IsMissing()) {
    BULWARK_RETURN_IF_ERROR(
        limit.CheckKeys({"key", "header", "algorithm", "limit", "window_ms", "burst", "max_keys"}));
    RouteRateLimit rate_limit;
    BULWARK_ASSIGN_OR_RETURN(std::string key, limit["key"].Enum({"client_ip", "principal", "route",
                                                                 "header", "api_key"}));
    rate_limit.key = key == "principal" ? RouteRateLimit::Key::kPrincipal
                     : key == "route"   ? RouteRateLimit::Key::kRoute
                     : key == "header"  ? RouteRateLimit::Key::kHeader
                     : key == "api_key" ? RouteRateLimit::Key::kApiKey
                                        : RouteRateLimit::Key::kClientIp;
    BULWARK_ASSIGN_OR_RETURN(rate_limit.header, limit["header"].StringOr(""));
    if ((rate_limit.key == RouteRateLimit::Key::kHeader) == rate_limit.header.empty()) {
      return Err(limit["header"].Error("is required exactly when key is 'header'"));
    }
    BULWARK_ASSIGN_OR_RETURN(rate_limit.policy, RateLimitPolicyFromNode(limit));
    BULWARK_ASSIGN_OR_RETURN(rate_limit.max_keys, RateLimitMaxKeysFromNode(limit));
    route.rate_limit = std::move(rate_limit);
  }
  if (route.authn.mode == AuthnMode::kNone &&
      (!route.authz.scopes.empty() || !route.authz.roles.empty() ||
       !route.authz.principals.empty() || !route.authz.spiffe_trust_domains.empty())) {
    return Err(node["authz"].Error("identity rules need authn other than 'none'"));
  }
  return route;
}

}  // namespace

Result<guard::RateLimitPolicy> RateLimitPolicyFromNode(const ConfigNode& node) {
  guard::RateLimitPolicy policy;
  if (!node["algorithm"].IsMissing()) {
    BULWARK_ASSIGN_OR_RETURN(std::string algorithm,
                             node["algorithm"].Enum({"token_bucket", "sliding_window"}));
    policy.algorithm = algorithm == "sliding_window"
                           ? guard::RateLimitPolicy::Algorithm::kSlidingWindow
                           : guard::RateLimitPolicy::Algorithm::kTokenBucket;
  }
  BULWARK_ASSIGN_OR_RETURN(int64_t limit, node["limit"].Int(1, int64_t{1} << 40));
  policy.limit = static_cast<uint64_t>(limit);
  BULWARK_ASSIGN_OR_RETURN(int64_t window, node["window_ms"].Int(1, 86'400'000));
  policy.window = std::chrono::milliseconds(window);
  BULWARK_ASSIGN_OR_RETURN(int64_t burst, node["burst"].IntOr(0, 0, int64_t{1} << 40));
  policy.burst = static_cast<uint64_t>(burst);
  if (policy.burst > 0 && policy.algorithm != guard::RateLimitPolicy::Algorithm::kTokenBucket) {
    return Err(node["burst"].Error("only the token bucket has a burst"));
  }
  return policy;
}

Result<size_t> RateLimitMaxKeysFromNode(const ConfigNode& node) {
  BULWARK_ASSIGN_OR_RETURN(
      int64_t keys,
      node["max_keys"].IntOr(guard::RateLimiterOptions::kDefaultMaxKeys, 64, 100'000'000));
  return static_cast<size_t>(keys);
}

Result<audit::FileAuditSinkOptions> AuditFromNode(const ConfigNode& audit,
                                                  const std::string& base_dir) {
  BULWARK_RETURN_IF_ERROR(audit.CheckKeys({"file", "fsync"}));
  audit::FileAuditSinkOptions sink;
  BULWARK_ASSIGN_OR_RETURN(std::string file, audit["file"].String());
  std::filesystem::path path(file);
  sink.path = path.is_absolute() ? file : (std::filesystem::path(base_dir) / path).string();
  if (!audit["fsync"].IsMissing()) {
    BULWARK_ASSIGN_OR_RETURN(std::string fsync, audit["fsync"].Enum({"none", "every_batch"}));
    sink.fsync =
        fsync == "every_batch" ? audit::FsyncPolicy::kEveryBatch : audit::FsyncPolicy::kNone;
  }
  return sink;
}

Result<GatewayConfig> GatewayConfigFromNode(const ConfigNode& node, const std::string& base_dir) {
  GatewayConfig config;
  BULWARK_RETURN_IF_ERROR(
      node.CheckKeys({"realm", "forward_auth", "pre_auth_rate_limit", "upstreams", "issuers",
                      "routes", "audit", "identity_token", "cedar_principal_types",
                      "relation_user_types", "request_id", "trusted_proxies"}));
  BULWARK_ASSIGN_OR_RETURN(config.options.trusted_proxies, CidrList(node["trusted_proxies"]));
  if (ConfigNode types = node["relation_user_types"]; !types.IsMissing()) {
    BULWARK_RETURN_IF_ERROR(types.CheckKeys({"jwt", "api_key", "mtls"}));
    RelationUserTypes& t = config.options.relation_user_types;
    for (auto [key, field] :
         {std::pair{"jwt", &t.jwt}, std::pair{"api_key", &t.api_key}, std::pair{"mtls", &t.mtls}}) {
      BULWARK_ASSIGN_OR_RETURN(*field, types[key].StringOr(*field));
      if (!policy::fga::IsName(*field)) return Err(types[key].Error("must be a type name"));
    }
  }
  if (ConfigNode types = node["cedar_principal_types"]; !types.IsMissing()) {
    BULWARK_RETURN_IF_ERROR(types.CheckKeys({"jwt", "api_key", "mtls", "anonymous"}));
    CedarPrincipalTypes& t = config.options.cedar_principal_types;
    for (auto [key, field] : {std::pair{"jwt", &t.jwt}, std::pair{"api_key", &t.api_key},
                              std::pair{"mtls", &t.mtls}, std::pair{"anonymous", &t.anonymous}}) {
      BULWARK_ASSIGN_OR_RETURN(*field, types[key].StringOr(*field));
      if (!policy::cedar::ParseEntityUid(*field + "::\"x\"")) {
        return Err(types[key].Error("must be a Cedar entity type"));
      }
    }
  }
  if (ConfigNode identity = node["identity_token"]; !identity.IsMissing()) {
    BULWARK_RETURN_IF_ERROR(identity.CheckKeys({"key_file", "issuer", "ttl_seconds"}));
    IdentityTokenOptions options;
    BULWARK_ASSIGN_OR_RETURN(std::string key_file, identity["key_file"].String());
    const std::filesystem::path path(key_file);
    options.key_file =
        path.is_absolute() ? key_file : (std::filesystem::path(base_dir) / path).string();
    BULWARK_ASSIGN_OR_RETURN(options.issuer, identity["issuer"].String());
    BULWARK_ASSIGN_OR_RETURN(int64_t ttl, identity["ttl_seconds"].IntOr(60, 10, 3600));
    options.ttl = std::chrono::seconds(ttl);
    config.identity_token = std::move(options);
  }
  if (ConfigNode audit = node["audit"]; !audit.IsMissing()) {
    BULWARK_ASSIGN_OR_RETURN(config.audit, AuditFromNode(audit, base_dir));
  }
  for (const ConfigNode& item : node["upstreams"].Elements()) {
    BULWARK_RETURN_IF_ERROR(
        item.CheckKeys({"name", "address", "addresses", "balance", "connect_timeout_ms",
                        "response_timeout_ms", "idle_timeout_ms", "tunnel_idle_timeout_ms",
                        "circuit_breaker", "tls", "health_check", "retry", "dns_refresh_ms"}));
    UpstreamConfig upstream;
    BULWARK_ASSIGN_OR_RETURN(upstream.name, item["name"].String());
    // Routes name their upstream: a second of one name would never be used.
    if (std::any_of(config.upstreams.begin(), config.upstreams.end(),
                    [&](const UpstreamConfig& u) { return u.name == upstream.name; })) {
      return Err(item["name"].Error("another upstream has this name"));
    }
    if (ConfigNode list = item["addresses"]; !list.IsMissing()) {
      if (!item["address"].IsMissing()) {
        return Err(list.Error("give address or addresses, not both"));
      }
      for (const ConfigNode& address : list.Elements()) {
        BULWARK_ASSIGN_OR_RETURN(UpstreamAddress parsed,
                                 AddressFromNode(address, /*weighted=*/true));
        upstream.addresses.push_back(std::move(parsed));
      }
      if (upstream.addresses.empty()) return Err(list.Error("expected at least one host:port"));
    } else {
      BULWARK_ASSIGN_OR_RETURN(UpstreamAddress parsed, AddressFromNode(item["address"]));
      upstream.addresses.push_back(std::move(parsed));
    }
    if (!item["balance"].IsMissing()) {
      BULWARK_ASSIGN_OR_RETURN(std::string balance,
                               item["balance"].Enum({"round_robin", "least_request"}));
      if (balance == "least_request") upstream.balance = UpstreamConfig::Balance::kLeastRequest;
    }
    BULWARK_ASSIGN_OR_RETURN(int64_t connect, item["connect_timeout_ms"].IntOr(2000, 1, 600'000));
    upstream.options.connect_timeout = std::chrono::milliseconds(connect);
    BULWARK_ASSIGN_OR_RETURN(int64_t response,
                             item["response_timeout_ms"].IntOr(30'000, 1, 3'600'000));
    upstream.options.response_timeout = std::chrono::milliseconds(response);
    BULWARK_ASSIGN_OR_RETURN(int64_t idle, item["idle_timeout_ms"].IntOr(30'000, 100, 3'600'000));
    upstream.options.idle_timeout = std::chrono::milliseconds(idle);
    BULWARK_ASSIGN_OR_RETURN(int64_t tunnel_idle,
                             item["tunnel_idle_timeout_ms"].IntOr(300'000, 1, 86'400'000));
    upstream.options.tunnel_idle_timeout = std::chrono::milliseconds(tunnel_idle);
    // 0: names are looked up once; else no more often than ten times a
    // second (each lookup may ask the name servers).
    BULWARK_ASSIGN_OR_RETURN(int64_t dns_refresh,
                             item["dns_refresh_ms"].IntOr(5000, 0, 86'400'000));
    if (dns_refresh > 0 && dns_refresh < 100) {
      return Err(item["dns_refresh_ms"].Error("must be 0 (never) or from 100 to 86400000"));
    }
    upstream.dns_refresh = std::chrono::milliseconds(dns_refresh);
    if (ConfigNode breaker = item["circuit_breaker"]; !breaker.IsMissing()) {
      BULWARK_RETURN_IF_ERROR(breaker.CheckKeys({"failures", "open_ms", "probes"}));
      BULWARK_ASSIGN_OR_RETURN(int64_t failures, breaker["failures"].IntOr(5, 1, 1000));
      BULWARK_ASSIGN_OR_RETURN(int64_t open_ms, breaker["open_ms"].IntOr(5000, 1, 3'600'000));
      BULWARK_ASSIGN_OR_RETURN(int64_t probes, breaker["probes"].IntOr(1, 1, 100));
      upstream.breaker = {.failure_threshold = static_cast<int>(failures),
                          .open_duration = std::chrono::milliseconds(open_ms),
                          .half_open_probes = static_cast<int>(probes)};
    }
    auto from_base = [&base_dir](const std::string& file) {
      if (file.empty()) return file;
      const std::filesystem::path path(file);
      return path.is_absolute() ? file : (std::filesystem::path(base_dir) / path).string();
    };
    if (ConfigNode tls = item["tls"]; !tls.IsMissing()) {
      BULWARK_RETURN_IF_ERROR(tls.CheckKeys({"ca_file", "cert_file", "key_file", "server_name"}));
      net::UpstreamTls upstream_tls;
      BULWARK_ASSIGN_OR_RETURN(std::string ca, tls["ca_file"].StringOr(""));
      BULWARK_ASSIGN_OR_RETURN(std::string cert, tls["cert_file"].StringOr(""));
      BULWARK_ASSIGN_OR_RETURN(std::string key, tls["key_file"].StringOr(""));
      if (cert.empty() != key.empty()) {
        return Err(tls.Error("cert_file and key_file go together"));
      }
      upstream_tls.ca_file = from_base(ca);
      upstream_tls.cert_file = from_base(cert);
      upstream_tls.key_file = from_base(key);
      BULWARK_ASSIGN_OR_RETURN(upstream_tls.server_name, tls["server_name"].StringOr(""));
      upstream.options.tls = std::move(upstream_tls);
    }
    if (ConfigNode check = item["health_check"]; !check.IsMissing()) {
      BULWARK_RETURN_IF_ERROR(check.CheckKeys(
          {"path", "interval_ms", "timeout_ms", "unhealthy_threshold", "healthy_threshold"}));
      HealthCheckOptions health;
      BULWARK_ASSIGN_OR_RETURN(health.path, check["path"].StringOr("/healthz"));
      if (health.path.empty() || health.path.front() != '/') {
        return Err(check["path"].Error("must start with /"));
      }
      BULWARK_ASSIGN_OR_RETURN(int64_t interval, check["interval_ms"].IntOr(5000, 100, 3'600'000));
      BULWARK_ASSIGN_OR_RETURN(int64_t timeout, check["timeout_ms"].IntOr(1000, 10, 60'000));
      BULWARK_ASSIGN_OR_RETURN(int64_t unhealthy, check["unhealthy_threshold"].IntOr(2, 1, 100));
      BULWARK_ASSIGN_OR_RETURN(int64_t healthy, check["healthy_threshold"].IntOr(1, 1, 100));
      health.interval = std::chrono::milliseconds(interval);
      health.timeout = std::chrono::milliseconds(timeout);
      health.unhealthy_threshold = static_cast<int>(unhealthy);
      health.healthy_threshold = static_cast<int>(healthy);
      // Each endpoint's check URL must be one the checker can fetch, or
      // every check of it would fail and the endpoint go unhealthy for good.
      for (const UpstreamAddress& address : upstream.addresses) {
        const std::string url = HealthCheckUrl(upstream.options.tls.has_value(), address.host,
                                               address.port, health.path);
        if (Status fetchable = net::CheckFetchUrl(url, /*allow_plain_http=*/true);
            !fetchable.ok()) {
          return Err(check.Error("cannot check " + url + ": " + fetchable.message()));
        }
      }
      upstream.health_check = std::move(health);
    }
    if (ConfigNode retry = item["retry"]; !retry.IsMissing()) {
      BULWARK_ASSIGN_OR_RETURN(upstream.retry, RetryFromNode(retry, /*upstream=*/true));
    }
    config.upstreams.push_back(std::move(upstream));
  }
  if (ConfigNode limit = node["pre_auth_rate_limit"]; !limit.IsMissing()) {
    BULWARK_RETURN_IF_ERROR(
        limit.CheckKeys({"algorithm", "limit", "window_ms", "burst", "max_keys"}));
    BULWARK_ASSIGN_OR_RETURN(config.options.pre_auth_limit, RateLimitPolicyFromNode(limit));
    BULWARK_ASSIGN_OR_RETURN(config.options.pre_auth_max_keys, RateLimitMaxKeysFromNode(limit));
  }
  BULWARK_ASSIGN_OR_RETURN(config.options.realm, node["realm"].StringOr("bulwark"));
  for (char c : config.options.realm) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return Err(node["realm"].Error("must not contain quotes, backslashes or control characters"));
    }
  }
  if (ConfigNode mode = node["request_id"]; !mode.IsMissing()) {
    BULWARK_ASSIGN_OR_RETURN(std::string id_mode, mode.Enum({"generate", "preserve", "off"}));
    config.options.request_id = id_mode == "preserve" ? RequestIdMode::kPreserve
                                : id_mode == "off"    ? RequestIdMode::kOff
                                                      : RequestIdMode::kGenerate;
  }
  // Off unless asked for, and then only for the proxies named: a proxy on
  // the same host in front of the reverse proxy (a TLS terminator) would
  // make every client a loopback peer.
  if (const ConfigNode forward_auth = node["forward_auth"]; !forward_auth.IsMissing()) {
    BULWARK_RETURN_IF_ERROR(forward_auth.CheckKeys({"trusted_proxies"}));
    BULWARK_ASSIGN_OR_RETURN(config.forward_auth.trusted_proxies,
                             CidrList(forward_auth["trusted_proxies"]));
    if (config.forward_auth.trusted_proxies.empty()) {
      return Err(forward_auth["trusted_proxies"].Error(
          "must name the proxies that may call /auth/... (for one on this host: "
          "[127.0.0.1/32, ::1/128])"));
    }
    config.forward_auth.enabled = true;
  }
  for (const ConfigNode& item : node["issuers"].Elements()) {
    BULWARK_ASSIGN_OR_RETURN(JwtIssuerConfig issuer, IssuerFromNode(item, base_dir));
    config.options.issuers.push_back(std::move(issuer));
  }
  for (const ConfigNode& item : node["routes"].Elements()) {
    BULWARK_ASSIGN_OR_RETURN(Route route, RouteFromNode(item));
    // A route's name labels its metrics, audit records and RateLimit
    // policy: an empty one would pass for the requests no route took, and
    // two of one name (in any case) or one named as the pre-auth limit is,
    // for each other.
    if (route.name.empty()) return Err(item["name"].Error("must not be empty"));
    if (net::EqualsIgnoreCase(route.name, "pre-auth")) {
      return Err(item["name"].Error("'pre-auth' names the pre-auth rate limit's policy"));
    }
    for (const Route& earlier : config.options.routes) {
      if (net::EqualsIgnoreCase(earlier.name, route.name)) {
        return Err(item["name"].Error("'" + route.name + "' names two routes"));
      }
    }
    config.options.routes.push_back(std::move(route));
  }
  return config;
}

}  // namespace bulwark::gateway

#include "gateway/gateway.h"

#include <algorithm>
#include <condition_variable>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "core/log.h"
#include "core/release_memory.h"
#include "gateway/api_key_authenticator.h"
#include "gateway/cors.h"
#include "gateway/mtls_authenticator.h"
#include "guard/rate_limit_headers.h"
#include "net/request_head.h"
#include "net/request_path.h"

namespace bulwark::gateway {
namespace {

// The client's address, parsed: a connection's requests come from one
// address, so the last one parsed on this thread is kept.
std::optional<IpAddress> ParsedClientIp(std::string_view text) {
  thread_local std::string last_text;
  thread_local std::optional<IpAddress> last;  // of "": none
  if (text != last_text) {
    last = IpAddress::Parse(text);
    last_text.assign(text);
  }
  return last;
}

// The rate-limit key of a client address, in `key`: its bytes, so that one
// address has one key however it is written (`::ffff:10.0.0.1` is
// 10.0.0.1, `0:0::1` is `::1`), and of an IPv6 address only its /64, which
// a subscriber gets whole (RFC 6177) and could otherwise walk through one
// address at a time. A text that is no address (a proxy's odd X-Real-IP)
// is its own key.
std::string_view ClientIpKey(std::string_view client_ip, std::string& key) {
  const std::optional<IpAddress> ip = ParsedClientIp(client_ip);
  if (!ip) {
    key.assign("ip?:").append(client_ip);
  } else {
    key.assign(ip->is_v4() ? "ip4:" : "ip6:");
    key.append(reinterpret_cast<const char*>(ip->bytes().data()), ip->is_v4() ? 4 : 8);
  }
  return key;
}

// A method as RFC 9110 section 9.1 has it (a token), without a lower-case
// letter.
bool IsUpperCaseMethod(std::string_view method) {
  return net::IsToken(method) &&
         std::none_of(method.begin(), method.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

}  // namespace

Gateway::Gateway(RouteTable routes, std::unique_ptr<JwtAuthenticator> jwt, std::string realm,
                 const identity::ApiKeyIndex* api_keys, std::unique_ptr<CedarAuthorizer> cedar,
                 const Clock& clock)
    : routes_(std::move(routes)),
      jwt_(std::move(jwt)),
      api_keys_(api_keys),
      clock_(clock),
      cedar_(std::move(cedar)),
      realm_(std::move(realm)) {}

namespace {

// Where a route's callers get their subjects: every JWT issuer it takes is
// one source, API keys one, client certificates one. With all_of the
// principal is the token's (else the key's): the rest only bind to it.
// Refuses rules that name callers by subject over more than one source:
// `principals` that are not SPIFFE IDs, and Cedar or relation checks over
// tokens of more than one issuer (their principal types already tell the
// credential kinds apart). A SPIFFE pattern on a route that takes no client
// certificate could never match.
Status CheckSubjectSources(const Route& route, size_t issuer_count) {
  const auto& kinds = route.authn.credentials;
  const auto takes = [&](CredentialKind kind) {
    return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
  };
  std::vector<std::string> named = route.authn.jwt_issuers;
  std::sort(named.begin(), named.end());
  named.erase(std::unique(named.begin(), named.end()), named.end());
  const size_t issuers = !takes(CredentialKind::kJwt) ? 0
                         : named.empty()              ? issuer_count
                                                      : named.size();
  const size_t keys = takes(CredentialKind::kApiKey) ? 1 : 0;
  const size_t certificates = takes(CredentialKind::kMtls) ? 1 : 0;
  size_t sources = issuers + keys + certificates;
  if (route.authn.mode == AuthnMode::kAllOf) {
    sources = issuers > 0 ? issuers : (keys + certificates > 0 ? 1 : 0);
  }
  const auto& principals = route.authz.principals;
  for (const std::string& pattern : principals) {
    if (!IsSpiffePattern(pattern)) continue;
    // A prefix inside the trust domain would span others:
    // `spiffe://example.org*` takes `spiffe://example.org.evil/x` too.
    if (pattern.ends_with('*') && pattern.find('/', kSpiffeScheme.size()) == std::string::npos) {
      return InvalidArgumentError(fmt::format(
          "route '{}': principal '{}' would take every trust domain that begins so: a "
          "prefix of SPIFFE IDs ends within their path (spiffe://example.org/*), or name the "
          "trust domain in spiffe_trust_domains",
          route.name, pattern));
    }
    if (certificates == 0) {
      return InvalidArgumentError(fmt::format(
          "route '{}': principal '{}' is a SPIFFE ID, which only a client certificate carries, "
          "and the route takes none (authn credentials: mtls)",
          route.name, pattern));
    }
  }
  if (sources > 1 && std::any_of(principals.begin(), principals.end(),
                                 [](const std::string& p) { return !IsSpiffePattern(p); })) {
    return InvalidArgumentError(fmt::format(
        "route '{}': principals name subjects, which are unique only within the issuer that "
        "vouched for them: the route must take them from one issuer (authn.issuers) and one "
        "credential kind, or name SPIFFE IDs",
        route.name));
  }
  if (issuers > 1 && (route.authz.cedar || route.authz.relation)) {
    return InvalidArgumentError(fmt::format(
        "route '{}': {} checks name a token's caller by its subject, which is unique only within "
        "the issuer that vouched for it: the route must take tokens from one issuer "
        "(authn.issuers)",
        route.name, route.authz.cedar ? "cedar" : "relation"));
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<Gateway>> Gateway::Create(GatewayOptions options, const Clock& clock) {
  const size_t issuer_count = options.issuers.size();
  BULWARK_ASSIGN_OR_RETURN(auto jwt,
                           JwtAuthenticator::Create(std::move(options.issuers), clock,
                                                    options.defer_key_fetches
                                                        ? JwtAuthenticator::FirstFetch::kDeferred
                                                        : JwtAuthenticator::FirstFetch::kAtCreate));
  for (Route& route : options.routes) {
    const auto& kinds = route.authn.credentials;
    if (route.authn.mode != AuthnMode::kNone && kinds.empty()) {
      return Err(InvalidArgumentError(
          fmt::format("route '{}': authn needs at least one credential kind", route.name)));
    }
    for (size_t i = 0; i < kinds.size(); ++i) {
      if (std::find(kinds.begin() + static_cast<std::ptrdiff_t>(i) + 1, kinds.end(), kinds[i]) !=
          kinds.end()) {
        return Err(InvalidArgumentError(fmt::format("route '{}': credential kind '{}' listed twice",
                                                    route.name, CredentialKindName(kinds[i]))));
      }
    }
    for (CredentialKind kind : route.authn.credentials) {
      if (kind == CredentialKind::kApiKey && options.api_keys == nullptr) {
        return Err(InvalidArgumentError(
            fmt::format("route '{}': api_key credentials need the API key store", route.name)));
      }
    }
    for (const std::string& issuer : route.authn.jwt_issuers) {
      if (!jwt->HasIssuer(issuer)) {
        return Err(InvalidArgumentError(
            fmt::format("route '{}': unknown jwt issuer '{}'", route.name, issuer)));
      }
    }
    // A subject is unique only within the issuer that vouched for it (RFC
    // 7519 section 4.1.2): rules that name callers by subject would let
    // another issuer's token, or an API key, of the same `sub` pass as them.
    if (route.authn.mode != AuthnMode::kNone) {
      BULWARK_RETURN_IF_ERROR(CheckSubjectSources(route, issuer_count));
    }
    if (route.authz.cedar) {
      if (!options.cedar) {
        return Err(InvalidArgumentError(fmt::format(
            "route '{}': cedar authorization needs policies (the policy section)", route.name)));
      }
      if (Status s = CompileRouteCedar(*route.authz.cedar); !s.ok()) {
        return Err(
            InvalidArgumentError(fmt::format("route '{}': cedar: {}", route.name, s.message())));
      }
    }
    if (route.authz.relation) {
      if (options.relations == nullptr) {
        return Err(InvalidArgumentError(fmt::format(
            "route '{}': relation authorization needs the relations section", route.name)));
      }
      if (Status s = CompileRouteRelation(*route.authz.relation); !s.ok()) {
        return Err(
            InvalidArgumentError(fmt::format("route '{}': relation: {}", route.name, s.message())));
      }
    }
  }
  std::unique_ptr<CedarAuthorizer> cedar;
  if (options.cedar) {
    cedar = std::make_unique<CedarAuthorizer>(std::move(options.cedar),
                                              std::move(options.cedar_principal_types));
  }
  std::vector<std::unique_ptr<guard::RateLimiter>> limiters;
  for (Route& route : options.routes) {
    std::unique_ptr<guard::RateLimiter> limiter;
    if (route.rate_limit) {
      route.rate_limit->policy.name = route.name;
      auto created = guard::RateLimiter::Create(route.rate_limit->policy, clock,
                                                {.max_keys = route.rate_limit->max_keys});
      if (!created) {
        return Err(InvalidArgumentError(
            fmt::format("route '{}': rate limit: {}", route.name, created.error().message())));
      }
      limiter = std::make_unique<guard::RateLimiter>(std::move(*created));
    }
    limiters.push_back(std::move(limiter));
  }
  std::unique_ptr<guard::RateLimiter> pre_auth;
  if (options.pre_auth_limit) {
    if (options.pre_auth_limit->name.empty()) options.pre_auth_limit->name = "pre-auth";
    auto created = guard::RateLimiter::Create(*options.pre_auth_limit, clock,
                                              {.max_keys = options.pre_auth_max_keys});
    if (!created) {
      return Err(InvalidArgumentError("pre-auth rate limit: " + created.error().message()));
    }
    pre_auth = std::make_unique<guard::RateLimiter>(std::move(*created));
  }
  std::unique_ptr<Gateway> gateway(new Gateway(RouteTable(std::move(options.routes)),
                                               std::move(jwt), std::move(options.realm),
                                               options.api_keys, std::move(cedar), clock));
  if (options.relations != nullptr) {
    gateway->relations_ = std::make_unique<RelationAuthorizer>(
        *options.relations, std::move(options.relation_user_types));
  }
  gateway->route_limiters_ = std::move(limiters);
  gateway->pre_auth_limiter_ = std::move(pre_auth);
  const bool any_limiter =
      gateway->pre_auth_limiter_ != nullptr ||
      std::ranges::any_of(gateway->route_limiters_, [](const auto& l) { return l != nullptr; });
  if (any_limiter && options.rate_limit_sweep_interval.count() > 0) {
    gateway->sweeper_ =
        std::jthread([g = gateway.get(), interval = options.rate_limit_sweep_interval](
                         std::stop_token stop) { g->SweepLimiters(std::move(stop), interval); });
  }
  gateway->request_id_mode_ = options.request_id;
  gateway->trusted_proxies_ = std::move(options.trusted_proxies);
  return gateway;
}

void Gateway::Challenge(Decision& decision, int status, std::string_view error,
                        std::string reason) const {
  decision.status = status;
  decision.reason = std::move(reason);
  std::string challenge = fmt::format("Bearer realm=\"{}\"", realm_);
  if (!error.empty()) challenge += fmt::format(", error=\"{}\"", error);
  net::AppendFieldLine(decision.response_fields, "WWW-Authenticate", challenge);
}

std::vector<Gateway::LimiterStats> Gateway::RateLimiterStats() const {
  std::vector<LimiterStats> out;
  if (pre_auth_limiter_)
    out.push_back({pre_auth_limiter_->policy().name, pre_auth_limiter_->stats()});
  for (const auto& limiter : route_limiters_) {
    if (limiter) out.push_back({limiter->policy().name, limiter->stats()});
  }
  return out;
}

size_t Gateway::SweepIdleRateLimitKeys() {
  size_t swept = pre_auth_limiter_ ? pre_auth_limiter_->SweepIdle() : 0;
  for (const auto& limiter : route_limiters_) {
    if (limiter) swept += limiter->SweepIdle();
  }
  return swept;
}

void Gateway::SweepLimiters(std::stop_token stop, std::chrono::milliseconds interval) {
  // The keys a flood left, swept, are freed to the allocator, which keeps
  // the pages; past this many it is asked to give them back to the system
  // (core/release_memory.h).
  constexpr size_t kTrimAfter = 10'000;
  std::mutex mu;
  std::condition_variable_any wake;
  std::unique_lock lock(mu);
  while (!wake.wait_for(lock, stop, interval, [&stop] { return stop.stop_requested(); })) {
    const size_t swept = SweepIdleRateLimitKeys();
    if (swept < kTrimAfter) continue;
    ReleaseFreeMemory();
    log::Info("gateway.rate_limit_keys_swept", {{"keys", static_cast<int64_t>(swept)}});
  }
}

bool Gateway::WithinLimit(guard::RateLimiter& limiter, std::string_view key,
                          Decision& decision) const {
  guard::RateLimitDecision verdict = limiter.Check(key);
  guard::AppendRateLimitFieldLines(limiter.policy(), verdict, decision.response_fields);
  if (verdict.allowed) return true;
  decision.status = 429;
  decision.reason = "rate limited: " + limiter.policy().name;
  if (verdict.deny_reason == guard::RateLimitDecision::DenyReason::kKeyLimitReached) {
    decision.refused_for_room = limiter.policy().name;
  }
  return false;
}

std::optional<std::string_view> Gateway::RateLimitKey(const Route& route,
                                                      const RequestFacts& request,
                                                      const Decision& decision,
                                                      std::string& key) const {
  const auto make = [&key](std::string_view kind, std::initializer_list<std::string_view> parts) {
    key.assign(kind);
    for (std::string_view part : parts) key.append(part);
    return std::string_view(key);
  };
  const Principal* p = decision.principal.get();
  switch (route.rate_limit->key) {
    case RouteRateLimit::Key::kClientIp:
      break;
    case RouteRateLimit::Key::kPrincipal:
      if (p) return make("sub:", {p->issuer(), "/", p->subject()});
      break;
    case RouteRateLimit::Key::kRoute:
      return "route";
    case RouteRateLimit::Key::kApiKey:
      // The key's, whether or not it made the principal (a JWT sent with
      // it does): a caller does not leave its key's quota by adding a token.
      if (!decision.api_key_id.empty()) return make("key:", {decision.api_key_id});
      break;
    case RouteRateLimit::Key::kHeader: {
      const std::string* found = nullptr;
      if (request.headers) {
        for (const auto& [name, value] : *request.headers) {
          if (!net::EqualsIgnoreCase(name, route.rate_limit->header)) continue;
          if (found != nullptr) return std::nullopt;
          found = &value;
        }
      }
      if (found != nullptr) return make("hdr:", {*found});
      break;
    }
  }
  return ClientIpKey(request.client_ip, key);
}

namespace {

// Fields by which frameworks let a request say it is another method
// (Rails, Laravel, Express's method-override, Google APIs) or for another
// path (IIS's URL Rewrite, Symfony, Zend): a service that honours one would
// run what the gateway did not authorize, a POST as a DELETE, a public path
// as an admin one.
bool IsOverrideField(std::string_view name) {
  if (name.size() < 13 || name.size() > 22 || (name[0] | 0x20) != 'x') return false;
  for (std::string_view field : {"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override",
                                 "X-Original-URL", "X-Rewrite-URL"}) {
    if (net::EqualsIgnoreCase(name, field)) return true;
  }
  return false;
}

}  // namespace

std::string_view FillCredentialFacts(const HeaderList& headers, RequestFacts& facts) {
  std::string_view host;
  bool has_host = false;
  facts.authorization_count = 0;
  facts.api_key_count = 0;
  facts.request_id_count = 0;
  facts.origin_count = 0;
  facts.cors_request_method = {};
  facts.cors_request_headers_count = 0;
  facts.websocket_upgrade = false;
  facts.override_field = {};
  for (const auto& [name, value] : headers) {
    if (IsOverrideField(name)) {
      if (facts.override_field.empty()) facts.override_field = name;
    } else if (net::EqualsIgnoreCase(name, "Authorization")) {
      if (facts.authorization_count++ == 0) facts.authorization = value;
    } else if (net::EqualsIgnoreCase(name, kApiKeyHeader)) {
      if (facts.api_key_count++ == 0) facts.api_key = value;
    } else if (net::EqualsIgnoreCase(name, kRequestIdHeader)) {
      if (facts.request_id_count++ == 0) facts.request_id = value;
    } else if (!has_host && net::EqualsIgnoreCase(name, "Host")) {
      host = value;
      has_host = true;
    } else if (net::EqualsIgnoreCase(name, "Origin")) {
      if (facts.origin_count++ == 0) facts.origin = value;
    } else if (net::EqualsIgnoreCase(name, "Access-Control-Request-Method")) {
      if (facts.cors_request_method.empty()) facts.cors_request_method = value;
    } else if (net::EqualsIgnoreCase(name, "Access-Control-Request-Headers")) {
      if (facts.cors_request_headers_count++ == 0) facts.cors_request_headers = value;
    } else if (net::EqualsIgnoreCase(name, "Upgrade")) {
      facts.websocket_upgrade = facts.websocket_upgrade || net::ListHasToken(value, "websocket");
    }
  }
  return host;
}

uint64_t Gateway::KeyFetches(const JwksRefetch& refetch) const {
  return jwt_ ? jwt_->KeyFetches(refetch) : 0;
}

bool Gateway::Authenticate(const Route& route, const RequestFacts& request,
                           Decision& decision) const {
  const RouteAuthn& authn = route.authn;
  if (authn.mode == AuthnMode::kNone) return true;
  const auto wants = [&](CredentialKind kind) {
    return std::find(authn.credentials.begin(), authn.credentials.end(), kind) !=
           authn.credentials.end();
  };

  // Which credentials came: Authorization carries a JWT, or an API key of
  // the bwk_ shape on a route that takes API keys; X-Api-Key an API key.
  std::string_view jwt_token;
  std::string_view api_key;
  bool malformed_authorization = false;
  if (request.authorization_count == 1 && !request.authorization.empty()) {
    std::optional<std::string_view> bearer = BearerToken(request.authorization);
    if (!bearer) {
      malformed_authorization = true;
    } else if (wants(CredentialKind::kApiKey) && identity::LooksLikeApiKey(*bearer)) {
      api_key = *bearer;
    } else {
      jwt_token = *bearer;
    }
  }
  if (request.api_key_count == 1 && !request.api_key.empty()) {
    if (!api_key.empty()) {
      decision.status = 400;
      decision.reason = "API key sent in both Authorization and X-Api-Key";
      return false;
    }
    api_key = request.api_key;
  }
  // RFC 6750 section 3.1: a Bearer credential of the wrong shape (a tab, a
  // space inside the token, none at all) is a bad request. Another scheme
  // (Basic, DPoP) is no credential of ours, answered with a bare challenge,
  // on an optional route too (it would reach the service unverified, to be
  // taken as the caller's) -- unless the route's API key came in X-Api-Key:
  // the field is then the client's own, for the service.
  if (malformed_authorization && (wants(CredentialKind::kJwt) || wants(CredentialKind::kApiKey)) &&
      !(wants(CredentialKind::kApiKey) && !api_key.empty())) {  // (the key came in X-Api-Key)
    const std::string_view scheme =
        request.authorization.substr(0, request.authorization.find_first_of(" \t"));
    if (net::EqualsIgnoreCase(scheme, "Bearer")) {
      Challenge(decision, 400, "invalid_request", "Authorization: malformed bearer token");
    } else {
      Challenge(decision, 401, "", "Authorization is not a bearer token");
    }
    return false;
  }
  // A bearer credential on a route that takes API keys and no JWT is meant
  // as a key: one not of a key's shape is an invalid key, never absent
  // (unless the key came in X-Api-Key: then the field is the client's own,
  // for the service).
  if (!jwt_token.empty() && !wants(CredentialKind::kJwt) && wants(CredentialKind::kApiKey) &&
      api_key.empty()) {
    Challenge(decision, 401, "invalid_token", "malformed api key");
    return false;
  }

  // A credential that is sent must be valid, whatever the mode: an invalid
  // one is refused, never treated as absent.
  std::shared_ptr<const Principal> from_jwt;
  if (wants(CredentialKind::kJwt) && !jwt_token.empty()) {
    Result<std::shared_ptr<const Principal>> principal = jwt_->Authenticate(
        jwt_token, authn.jwt_issuers, request.after_key_refetch ? nullptr : &decision.jwks_refetch);
    if (!principal) {
      Challenge(decision, 401, "invalid_token", principal.error().message());
      return false;
    }
    from_jwt = std::move(*principal);
    decision.bearer_token_consumed = !jwt_->ForwardsToken(from_jwt->issuer());
  }
  std::shared_ptr<const Principal> from_api_key;
  if (wants(CredentialKind::kApiKey) && !api_key.empty()) {
    Result<Principal> principal = ApiKeyAuthenticator::Authenticate(*api_keys_, api_key);
    if (!principal && principal.error().code() == StatusCode::kUnavailable) {
      decision.status = 503;  // fail closed while the key index cannot be trusted
      decision.reason = principal.error().message();
      return false;
    }
    if (!principal) {
      Challenge(decision, 401, "invalid_token", principal.error().message());
      return false;
    }
    from_api_key = Principal::Seal(std::move(*principal));
  }
  std::shared_ptr<const Principal> from_mtls;
  if (wants(CredentialKind::kMtls)) {
    if (std::optional<Principal> peer = MtlsAuthenticator::Authenticate(request.tls_info)) {
      from_mtls = Principal::Seal(std::move(*peer));
    }
  }

  const size_t present = (from_jwt ? 1 : 0) + (from_api_key ? 1 : 0) + (from_mtls ? 1 : 0);
  const bool satisfied =
      authn.mode == AuthnMode::kOptional ||
      (present > 0 && (authn.mode == AuthnMode::kAnyOf || present == authn.credentials.size()));
  if (!satisfied) {
    if ((wants(CredentialKind::kJwt) && !from_jwt) ||
        (wants(CredentialKind::kApiKey) && !from_api_key)) {
      Challenge(decision, 401, "", "credentials required");
    } else {  // only the client certificate is missing: no HTTP challenge can ask for it
      decision.status = 403;
      decision.reason = "client certificate required";
    }
    return false;
  }
  // The principal is the token's or the key's subject; a client certificate
  // that came too rides along as the workload's SPIFFE ID.
  if (from_api_key) decision.api_key_id = from_api_key->api_key_id();
  std::shared_ptr<const Principal>& primary = from_jwt       ? from_jwt
                                              : from_api_key ? from_api_key
                                                             : from_mtls;
  if (primary && from_mtls && &primary != &from_mtls) {
    // A copy: a JWT's principal is shared by every request with that token.
    Principal bound = *primary;
    MtlsAuthenticator::Bind(bound, request.tls_info);
    primary = Principal::Seal(std::move(bound));
  }
  decision.principal = std::move(primary);
  return true;
}

bool Gateway::TrustsProxy(std::string_view peer) const {
  if (trusted_proxies_.empty()) return false;
  const std::optional<IpAddress> ip = IpAddress::Parse(peer);
  return ip.has_value() && AnyContains(trusted_proxies_, *ip);
}

std::string_view Gateway::ClientAddress(std::string_view peer, const HeaderList& headers) const {
  if (!TrustsProxy(peer)) return peer;
  // The hops from the last field line's last back to the first's first.
  for (auto line = headers.rbegin(); line != headers.rend(); ++line) {
    if (!net::EqualsIgnoreCase(line->first, "X-Forwarded-For")) continue;
    std::string_view list = line->second;
    while (true) {
      const size_t comma = list.rfind(',');
      std::string_view hop = comma == std::string_view::npos ? list : list.substr(comma + 1);
      net::TrimOws(hop);
      const std::optional<IpAddress> ip = IpAddress::Parse(hop);
      if (!ip.has_value()) return {};
      if (!AnyContains(trusted_proxies_, *ip)) return hop;
      if (comma == std::string_view::npos) break;
      list = list.substr(0, comma);
    }
  }
  return {};  // no field, or every hop a trusted proxy: none names the client
}

bool Gateway::ApiKeyStands(std::string_view id) const {
  return api_keys_ == nullptr || api_keys_->Stands(id);
}

Decision Gateway::Decide(const RequestFacts& request) const {
  Decision decision;
  decision.request_id = RequestIdFor(request_id_mode_, request.request_id,
                                     static_cast<size_t>(request.request_id_count));
  if (request.refused_status != 0) {
    decision.status = request.refused_status;
    decision.reason = request.refused_reason;
    return decision;
  }
  // Methods are case-sensitive (RFC 9110 section 9.1), so a route for DELETE
  // does not match `delete`; a service that upper-cases methods would still
  // run it as DELETE. Refused, as nginx refuses it; and a method that is
  // not a token at all (a forward-auth caller's `GET X`).
  if (!IsUpperCaseMethod(request.method)) {
    decision.status = 400;
    decision.reason = "bad request method";
    return decision;
  }
  // TRACE asks the service to echo the request, and with it the fields
  // Bulwark adds (the identity, its signed token) to a client that should
  // never see them (cross-site tracing); nginx refuses it too. TRACK is
  // IIS's TRACE. CONNECT, a tunnel to another host, the listener refuses
  // itself; here it is a method a proxy in front names.
  if (request.method == "TRACE" || request.method == "TRACK" || request.method == "CONNECT") {
    decision.status = 501;
    decision.reason = fmt::format("{} is not passed on", request.method);
    return decision;
  }
  // The method and target decided on are the request line's alone: one
  // that asks for another is refused, not passed on for the service to
  // honour, nor quietly dropped, which would run it as the method it came
  // as (a POST meant as a DELETE).
  if (!request.override_field.empty()) {
    decision.status = 400;
    decision.reason =
        fmt::format("{} is refused: send the method and target themselves", request.override_field);
    return decision;
  }
  // One credential field of each kind, on every route: of two, the gateway
  // and the service (Go's takes the first, Python's the last) might each
  // take another, and no request needs two (RFC 9110 section 5.3).
  if (request.authorization_count > 1 || request.api_key_count > 1) {
    decision.status = 400;
    decision.reason = request.api_key_count > 1 ? "more than one X-Api-Key header"
                                                : "more than one Authorization header";
    return decision;
  }
  Result<net::NormalizedTarget> target = net::NormalizeRequestTarget(
      request.target, {.refuse_unresolved_segments = request.target_passed_on_as_sent});
  if (!target) {
    decision.status = 400;
    decision.reason = "bad request target: " + target.error().message();
    return decision;
  }
  decision.path = std::move(target->path);
  decision.query = std::move(target->query);
  decision.authority = std::move(target->authority);

  // An absolute-form target names its own host, which wins over Host
  // (RFC 9112 section 3.2.2).
  const std::string_view host = decision.RoutedHost(request.host);
  // A CORS preflight asks about the request it precedes: it goes to the
  // route that request would, if that route has a policy to answer it.
  // Otherwise it is routed as the OPTIONS request it is (a service may
  // answer preflights itself), but never answered by another route's
  // policy: that would let pages send what the route of the real request
  // never allowed them.
  const bool preflight = request.applies_cors_policies && request.method == "OPTIONS" &&
                         request.origin_count > 0 && !request.cors_request_method.empty();
  const Route* preceded = nullptr;  // the preflight's real request's route
  if (preflight) preceded = routes_.Match(request.cors_request_method, host, decision.path);
  const Route* route = preceded != nullptr && preceded->cors
                           ? preceded
                           : routes_.Match(request.method, host, decision.path);
  if (route == nullptr) {
    decision.status = 404;
    decision.reason = "no route";
    return decision;
  }
  decision.route = route;
  if (pre_auth_limiter_ && route->authn.mode != AuthnMode::kNone && !request.after_key_refetch) {
    thread_local std::string key;  // reused: no allocation per request
    if (!WithinLimit(*pre_auth_limiter_, ClientIpKey(request.client_ip, key), decision)) {
      decision.pre_auth_limited = true;
      return decision;
    }
  }
  if (preflight && route->cors) {
    decision.cors_preflight = true;
    // One Origin and one list of fields, or the browser and the policy
    // might read different ones.
    std::optional<std::string> refused;
    if (route != preceded) {
      refused = preceded == nullptr
                    ? "CORS preflight: no route for the request it precedes"
                    : "CORS preflight: the request it precedes goes to a route without a cors "
                      "policy";
    } else if (request.origin_count > 1 || request.cors_request_headers_count > 1) {
      refused = "CORS preflight: a field came more than once";
    } else {
      refused = DecideCorsPreflight(*route->cors,
                                    {.origin = request.origin,
                                     .method = request.cors_request_method,
                                     .headers = request.cors_request_headers},
                                    decision.response_fields);
    }
    decision.status = refused ? 403 : 204;
    decision.reason = refused ? std::move(*refused) : "CORS preflight allowed";
    return decision;
  }
  // What a browser sends without asking first, CORS does not stop: a
  // form's POST, a WebSocket handshake, from a page of any site, with the
  // user's client certificate. Where a policy names the route's pages, such
  // a request from another page is refused before anything else is looked
  // at: one that would act (any method but GET, HEAD and OPTIONS), as
  // Envoy's CSRF filter refuses it, or that would open a tunnel (RFC 6455
  // section 10.2). The route's own origin is always one of its pages, and
  // a client that sends no Origin is no browser. A page's GET is decided
  // as always; its answer names no origin, so the page cannot read it.
  const bool tunnel = route->websocket && request.websocket_upgrade;
  if (request.applies_cors_policies && route->cors && request.origin_count > 0 &&
      (tunnel || !IsSafeMethod(request.method)) &&
      !(request.origin_count == 1 && (route->cors->AllowsOrigin(request.origin) ||
                                      IsOwnOrigin(request.origin, request.tls, host)))) {
    decision.status = 403;
    decision.reason = tunnel ? "WebSocket handshake from a page of an origin the cors policy does "
                               "not name"
                             : "request from a page of an origin the cors policy does not name";
    return decision;
  }
  if (!Authenticate(*route, request, decision)) return decision;

  AuthzRequest authz{.route = route,
                     .principal = decision.principal.get(),
                     .action = request.method,
                     .resource = decision.path,
                     .host = host,
                     .client_ip = ParsedClientIp(request.client_ip),
                     .tls = request.tls,
                     .tls_info = request.tls_info,
                     .now = clock_.NowUnixSeconds()};
  AuthzDecision verdict = Authorize(authz);
  if (!verdict.allowed) {
    decision.status = 403;
    decision.reason = verdict.reason;
    if (!verdict.missing_scopes.empty()) {
      net::AppendFieldLine(
          decision.response_fields, "WWW-Authenticate",
          fmt::format("Bearer realm=\"{}\", error=\"insufficient_scope\", scope=\"{}\"", realm_,
                      JoinWithSpaces(route->authz.scopes)));
    }
    return decision;
  }

  const size_t index = static_cast<size_t>(route - routes_.routes().data());
  if (guard::RateLimiter* limiter = route_limiters_[index].get()) {
    thread_local std::string key;  // reused: no allocation per request
    const std::optional<std::string_view> limit_key = RateLimitKey(*route, request, decision, key);
    if (!limit_key) {
      decision.status = 400;
      decision.reason = "more than one " + route->rate_limit->header + " header";
      return decision;
    }
    if (!WithinLimit(*limiter, *limit_key, decision)) return decision;
  }

  if (tunnel && (route->authz.cedar || route->authz.relation)) {
    decision.held_authorization = std::make_shared<const HeldAuthorization>(
        HeldAuthorization{.route = route,
                          .principal = decision.principal,
                          .action = std::string(request.method),
                          .resource = decision.path,
                          .host = std::string(host),
                          .client_ip = authz.client_ip,
                          .tls = request.tls,
                          .tls_info = request.tls_info != nullptr
                                          ? std::optional<net::TlsConnectionInfo>(*request.tls_info)
                                          : std::nullopt});
  }
  decision.status = 200;
  decision.reason = std::move(verdict.reason);  // "allowed", or the policies that permitted
  return decision;
}

AuthzDecision Gateway::Authorize(const AuthzRequest& request) const {
  const Route& route = *request.route;
  AuthzDecision verdict = authorizer_.Authorize(request);
  if (verdict.allowed && route.authz.cedar) verdict = cedar_->Authorize(request);
  if (verdict.allowed && route.authz.relation) {
    AuthzDecision related = relations_->Authorize(request);
    // Both decided: the audit record names both reasons.
    if (related.allowed && route.authz.cedar) {
      related.reason = verdict.reason + "; " + related.reason;
    }
    verdict = std::move(related);
  }
  return verdict;
}

bool Gateway::StillAuthorized(const HeldAuthorization& held) const {
  return Authorize({.route = held.route,
                    .principal = held.principal.get(),
                    .action = held.action,
                    .resource = held.resource,
                    .host = held.host,
                    .client_ip = held.client_ip,
                    .tls = held.tls,
                    .tls_info = held.tls_info.has_value() ? &*held.tls_info : nullptr,
                    .now = clock_.NowUnixSeconds()})
      .allowed;
}

bool DroppedRequestFields::Drops(std::string_view name, std::string_view value) const {
  if (request_id && net::EqualsIgnoreCase(name, kRequestIdHeader)) return true;
  if (std::any_of(named.begin(), named.end(),
                  [&](const std::string& d) { return net::EqualsIgnoreCase(name, d); })) {
    return true;
  }
  // A credential the gateway consumed stays here: the service gets the
  // identity fields and the signed identity, never a secret or bearer
  // token it could replay. Nor does a Bulwark API key on any route: it is
  // the gateway's credential, never a service's, even where the route
  // reads none, and however the field holds it (in a list an intermediary
  // joined, after a tab).
  if (net::EqualsIgnoreCase(name, "Authorization")) {
    return authorization || identity::ContainsApiKey(value);
  }
  return net::EqualsIgnoreCase(name, kApiKeyHeader) && (api_key || identity::ContainsApiKey(value));
}

DroppedRequestFields DroppedFieldsOf(const Decision& decision) {
  const Route* route = decision.route;
  return {.api_key = route != nullptr && route->authn.TakesApiKeys(),
          .authorization = decision.bearer_token_consumed,
          .named = route != nullptr ? std::span<const std::string>(route->request_fields.remove)
                                    : std::span<const std::string>()};
}

}  // namespace bulwark::gateway

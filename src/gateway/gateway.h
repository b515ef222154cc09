// Gateway: the policy enforcement point's decision for one request, in the
// order of ARCHITECTURE.md: normalize the path once, route, authenticate,
// authorize, rate-limit. The same decision serves the reverse proxy and the
// forward-auth endpoints (nginx auth_request, Envoy ext_authz, Traefik
// ForwardAuth), so every front end enforces the same rules on the same path.
//
// A Gateway is an immutable snapshot built from config: thread-safe, shared
// by every io thread; a config change builds a new one and swaps it in.
#ifndef BULWARK_GATEWAY_GATEWAY_H_
#define BULWARK_GATEWAY_GATEWAY_H_

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "gateway/authorizer.h"
#include "gateway/cedar_authorizer.h"
#include "gateway/jwt_authenticator.h"
#include "gateway/principal.h"
#include "gateway/relation_authorizer.h"
#include "gateway/request_id.h"
#include "gateway/route.h"
#include "guard/rate_limiter.h"
#include "identity/api_keys.h"
#include "net/tls.h"

namespace bulwark::gateway {

// What the gateway knows of a request. Views must outlive Decide().
struct RequestFacts {
  std::string_view method;
  std::string_view host;
  std::string_view target;         // the raw request-target; normalized by Decide
  std::string_view authorization;  // the Authorization header, "" if absent
  int authorization_count = 0;     // how many Authorization headers came
  std::string_view api_key;        // the X-Api-Key header, "" if absent
  int api_key_count = 0;           // how many X-Api-Key headers came
  std::string_view request_id;     // the X-Request-Id header, "" if absent
  int request_id_count = 0;        // how many X-Request-Id headers came
  std::string_view origin;         // the Origin header, "" if absent
  int origin_count = 0;            // how many Origin headers came
  // A CORS preflight's Access-Control-Request-Method and -Headers, "" if
  // absent, and how many of the latter came.
  std::string_view cors_request_method;
  std::string_view cors_request_headers;
  int cors_request_headers_count = 0;
  bool websocket_upgrade = false;  // an Upgrade field names websocket
  // The first field that asks a service to act on another method or target
  // than the request line's (X-HTTP-Method-Override, X-Original-URL, ...),
  // "" if none came.
  std::string_view override_field;
  std::string_view client_ip;  // "" if unknown
  bool tls = false;
  // The TLS facts of the client's own connection to Bulwark (its verified
  // certificate), null over plaintext or behind a forwarding proxy.
  const net::TlsConnectionInfo* tls_info = nullptr;
  // All request headers, for header-keyed rate limits; may be null.
  const std::vector<std::pair<std::string, std::string>>* headers = nullptr;
  // A refusal the caller made before any decision (a forward-auth call that
  // does not say what to decide, or from a peer not trusted to): Decide
  // answers with it, so that it is audited and counted as a decision.
  // 0: none.
  int refused_status = 0;
  std::string_view refused_reason;
  // Set when deciding again after the key refetch an earlier decision
  // waited for (Decision::jwks_refetch): the pre-auth limit was charged
  // then, and no second wait is offered.
  bool after_key_refetch = false;
  // Set by forward-auth, whose proxy passes the target on as the client
  // sent it: a path with a dot segment or an empty one is refused (400)
  // rather than decided on its resolved form, which the service may not
  // share (net::PathNormalizationOptions::refuse_unresolved_segments).
  bool target_passed_on_as_sent = false;
  // Set by the reverse proxy, which applies routes' cors policies: it
  // answers their CORS preflights itself (Decision::cors_preflight) and
  // refuses WebSocket handshakes from pages the policy does not name. The
  // forward-auth endpoints leave CORS to the proxy in front, deciding
  // preflights as any other request.
  bool applies_cors_policies = false;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Sets `facts`' Authorization, X-Api-Key, X-Request-Id and Origin fields
// and their counts, its CORS preflight fields and its override_field, from
// a request's `headers` in one pass over them; returns the first Host
// value, "" if none.
std::string_view FillCredentialFacts(const HeaderList& headers, RequestFacts& facts);

// What a tunnel's request was authorized on, held while the tunnel runs
// (Gateway::StillAuthorized): a tunnel has no next request for a changed
// policy or relation to refuse.
struct HeldAuthorization {
  const Route* route = nullptr;
  std::shared_ptr<const Principal> principal;  // null: anonymous
  std::string action;
  std::string resource;
  std::string host;
  std::optional<IpAddress> client_ip;
  bool tls = false;
  std::optional<net::TlsConnectionInfo> tls_info;
};

struct Decision {
  int status = 403;              // 200 = allow; else the HTTP status to answer
  std::string reason;            // detail for audit and logs, never for the client
  const Route* route = nullptr;  // the matched route (owned by the Gateway), or null
  std::string path;              // the normalized path (empty if it did not normalize)
  std::string query;             // the raw query, without '?'
  // An absolute-form target's authority, lower case, which the route was
  // matched on and which the upstream gets as Host (RFC 9112 section 3.2.2);
  // empty for origin-form (the Host field is the host).
  std::string authority;
  // The host routed and authorized on: `authority`, else the Host field.
  std::string_view RoutedHost(std::string_view host_field) const {
    return authority.empty() ? host_field : std::string_view(authority);
  }
  std::shared_ptr<const Principal> principal;  // null: anonymous
  // The id of the API key that authenticated the request, when one did,
  // whether or not it made the principal (a JWT's comes first): a tunnel
  // opened on it ends when the key does.
  std::string api_key_id;
  // Authorization held a JWT verified here whose issuer does not set
  // forward_token: it goes no further than the gateway.
  bool bearer_token_consumed = false;
  // Refused (429) by the pre-auth limit, before any credential was looked
  // at, not by the route's own.
  bool pre_auth_limited = false;
  // A CORS preflight of a route with a cors policy, decided by that policy
  // alone (no credential is looked at): 204 with the policy's fields in
  // response_fields, for the caller to answer itself and never forward, or
  // 403 without them.
  bool cors_preflight = false;
  // The limit (its name, "pre-auth" or the route's) that refused the
  // request (429) because it held its max_keys and the request's key was
  // new to it; empty otherwise. Points into the gateway's own policies.
  std::string_view refused_for_room;
  // The request's id (see request_id.h), for the service, the client and
  // the audit event; empty with RequestIdMode::kOff.
  std::string request_id;
  // For the client, as field lines ("Name: value\r\n"): WWW-Authenticate,
  // RateLimit-Policy, RateLimit, Retry-After.
  std::string response_fields;
  // For the upstream: the principal's IdentityHeaders once allowed, else none.
  HeaderList identity_headers() const {
    return allowed() && principal ? IdentityHeaders(*principal) : HeaderList();
  }
  // Allowed as a WebSocket handshake on a route decided by policies or
  // relations, which may change while its tunnel runs: what it was
  // authorized on. Null otherwise.
  std::shared_ptr<const HeldAuthorization> held_authorization;
  // Refused for a JWT kid its issuer's set lacks while a refetch of that
  // set starts: a caller that can wait may decide again once
  // KeyFetches(jwks_refetch) exceeds jwks_refetch.after.
  JwksRefetch jwks_refetch;

  bool allowed() const { return status >= 200 && status < 300; }
  // The matched route's name, "" if none.
  std::string_view route_name() const { return route ? std::string_view(route->name) : ""; }
};

// What of the client's fields goes no further than the gateway, beyond
// those it always owns (IsGatewayOwnedRequestField, route.h): the
// reverse proxy leaves them out of the request it forwards, the Envoy
// forward-auth answer names them for Envoy to remove, and an nginx or
// Traefik answer does not repeat them.
struct DroppedRequestFields {
  // X-Api-Key, and an Authorization that carries an API key (on a route that
  // takes API keys, which the gateway consumed).
  bool api_key = false;
  // Authorization (a JWT the gateway verified; Decision::bearer_token_consumed).
  bool authorization = false;
  bool request_id = false;             // X-Request-Id (the gateway sets its own)
  std::span<const std::string> named;  // a route's request_headers removals

  // Whether the client's field `name: value` is one of these.
  bool Drops(std::string_view name, std::string_view value) const;
};

// The credentials `decision` consumed and its route's removals (not
// request_id, which is the caller's to set). Views into `decision`'s route.
DroppedRequestFields DroppedFieldsOf(const Decision& decision);

struct GatewayOptions {
  std::vector<JwtIssuerConfig> issuers;
  std::vector<Route> routes;
  std::string realm = "bulwark";  // the realm of WWW-Authenticate challenges
  RequestIdMode request_id = RequestIdMode::kGenerate;
  // Per client address, before any credential is checked, on routes that
  // authenticate: keeps floods of bad tokens from buying signature checks.
  std::optional<guard::RateLimitPolicy> pre_auth_limit;
  size_t pre_auth_max_keys = guard::RateLimiterOptions::kDefaultMaxKeys;
  // How often idle rate-limit keys are swept, so that the memory a flood of
  // keys took is given back once the flood ends (lazily, a shard sweeps only
  // when it grows). Zero: only lazily.
  std::chrono::milliseconds rate_limit_sweep_interval{10'000};
  // The API keys routes with the api_key credential check against; must
  // outlive the gateway. Null: no route may ask for API keys.
  const identity::ApiKeyIndex* api_keys = nullptr;
  // The policies routes with a `cedar` authz section are decided by; such a
  // route without them is a configuration error.
  std::shared_ptr<const policy::cedar::SnapshotSource> cedar;
  CedarPrincipalTypes cedar_principal_types;
  // The relations routes with a `relation` authz section are decided by;
  // such a route is refused at Create without them. Must outlive the gateway.
  const policy::RelationStore* relations = nullptr;
  RelationUserTypes relation_user_types;
  // The proxies in front (load balancers) whose X-Forwarded-For the
  // reverse proxy believes: see Gateway::ClientAddress. None by default.
  std::vector<CidrRange> trusted_proxies;
  // Remote JWKS are first fetched by Gateway::FetchRemoteKeys, not by
  // Create: a server checks the rest of its configuration first, so a
  // mistake there is told without waiting for a provider.
  bool defer_key_fetches = false;
};

// The identity headers Bulwark sets; a client-sent copy is always stripped.
inline constexpr std::string_view kIdentityHeaders[] = {
    "X-Bulwark-Subject",   "X-Bulwark-Issuer",     "X-Bulwark-Scopes", "X-Bulwark-Roles",
    "X-Bulwark-Spiffe-Id", "X-Bulwark-Credential", "X-Bulwark-Key-Id",
};

class Gateway {
 public:
  // kInvalidArgument for inconsistent options (a route naming an unknown
  // issuer, a credential kind not available), errors of JwtAuthenticator.
  static Result<std::unique_ptr<Gateway>> Create(GatewayOptions options, const Clock& clock);

  Decision Decide(const RequestFacts& request) const;

  // After a Create with defer_key_fetches: JwtAuthenticator::FetchRemoteKeys.
  void FetchRemoteKeys() { jwt_->FetchRemoteKeys(); }

  // Whether the API key of id `id`, which authenticated a request, still
  // stands (ApiKeyIndex::Stands); true without an index.
  bool ApiKeyStands(std::string_view id) const;
  // Whether the authorizers would still allow what `held` was allowed, with
  // the policies and relations as they are now and this gateway's clock.
  // For a tunnel, which the io thread ends once they would not.
  bool StillAuthorized(const HeldAuthorization& held) const;
  // Whether `principal`'s credential has not reached its end by this
  // gateway's clock (Principal::ends_at; true when it has none).
  bool PrincipalUnexpired(const Principal& principal) const {
    return principal.ends_at() == 0 || clock_.NowUnixSeconds() < principal.ends_at();
  }

  // The client's address for a request that came from `peer` with
  // `headers`: the peer's own, unless it is one of trusted_proxies; then
  // the last X-Forwarded-For hop (of all its lines, one list) that is not a
  // trusted proxy, walking back past those that are (nginx's real_ip
  // recursive, Envoy's trusted CIDRs). From a trusted proxy without that
  // field, or with a hop that is no address, "" (unknown, which address
  // rules refuse): never the proxy's own, which an address rule for its
  // network would let in. A view into `peer` or `headers`.
  std::string_view ClientAddress(std::string_view peer, const HeaderList& headers) const;
  // Whether `peer` is one of trusted_proxies.
  bool TrustsProxy(std::string_view peer) const;

  // How many fetches of the keys `refetch` waits for have finished (see
  // JwtAuthenticator::KeyFetches).
  uint64_t KeyFetches(const JwksRefetch& refetch) const;

  const RouteTable& routes() const { return routes_; }
  RequestIdMode request_id_mode() const { return request_id_mode_; }

  // Each rate limiter's figures, named by its route ("pre-auth" for the
  // pre-auth limit).
  struct LimiterStats {
    std::string_view name;
    guard::RateLimiterStats stats;
  };
  std::vector<LimiterStats> RateLimiterStats() const;

  // Drops every limiter's idle keys now; returns how many (the sweeper's
  // work, also for tests).
  size_t SweepIdleRateLimitKeys();

 private:
  Gateway(RouteTable routes, std::unique_ptr<JwtAuthenticator> jwt, std::string realm,
          const identity::ApiKeyIndex* api_keys, std::unique_ptr<CedarAuthorizer> cedar,
          const Clock& clock);
  // Sweeps the limiters every `interval` until `stop`.
  void SweepLimiters(std::stop_token stop, std::chrono::milliseconds interval);
  // True if the request is within the route's limit; else fills a 429.
  bool WithinLimit(guard::RateLimiter& limiter, std::string_view key, Decision& decision) const;
  // The route's rate-limit key for this request, built in `key`; nullopt if
  // the field it is keyed by came more than once (the client would choose
  // which copy counts).
  std::optional<std::string_view> RateLimitKey(const Route& route, const RequestFacts& request,
                                               const Decision& decision, std::string& key) const;
  // The route's authorizers in turn (its rules, then Cedar, then relations);
  // the first refusal, else the last allowance.
  AuthzDecision Authorize(const AuthzRequest& request) const;
  // Fills decision.principal or returns the failing status in decision.
  bool Authenticate(const Route& route, const RequestFacts& request, Decision& decision) const;
  void Challenge(Decision& decision, int status, std::string_view error, std::string reason) const;

  RouteTable routes_;
  std::unique_ptr<JwtAuthenticator> jwt_;
  const identity::ApiKeyIndex* api_keys_;
  const Clock& clock_;
  RouteRuleAuthorizer authorizer_;
  std::unique_ptr<CedarAuthorizer> cedar_;         // null without policies
  std::unique_ptr<RelationAuthorizer> relations_;  // null without relations
  std::string realm_;
  // One limiter per route with a rate limit, by route index; mutable state
  // inside an otherwise immutable snapshot (the limiters are thread-safe).
  std::vector<std::unique_ptr<guard::RateLimiter>> route_limiters_;
  std::unique_ptr<guard::RateLimiter> pre_auth_limiter_;
  RequestIdMode request_id_mode_ = RequestIdMode::kGenerate;
  std::vector<CidrRange> trusted_proxies_;
  // Last: stopped and joined before the limiters it sweeps are destroyed.
  std::jthread sweeper_;
};

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_GATEWAY_H_

// Routes: which requests a rule set applies to, and what it demands.
//
// A route matches on host (exact, case-insensitive; empty = any), a path
// prefix on segment boundaries ("/orders" matches "/orders" and "/orders/7",
// not "/orders-admin"), and methods (empty = any). The first matching route,
// in config order, decides; a request no route matches is denied (default
// deny). Matching always sees the normalized path.
#ifndef BULWARK_GATEWAY_ROUTE_H_
#define BULWARK_GATEWAY_ROUTE_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/cors.h"
#include "gateway/ip_address.h"
#include "gateway/principal.h"
#include "gateway/retry_policy.h"
#include "guard/rate_limit_policy.h"
#include "guard/rate_limiter.h"
#include "policy/cedar_ast.h"

namespace bulwark::gateway {

// How a route combines credential kinds.
enum class AuthnMode {
  kNone,      // public: credentials are ignored
  kOptional,  // a credential, if sent, must be valid; none is fine
  kAnyOf,     // at least one of the listed kinds, valid
  kAllOf,     // every listed kind, valid (e.g. mTLS and a JWT)
};

struct RouteAuthn {
  AuthnMode mode = AuthnMode::kAnyOf;
  std::vector<CredentialKind> credentials = {CredentialKind::kJwt};
  std::vector<std::string> jwt_issuers;  // issuer names; empty = any configured

  // Whether the route reads API keys, which then go no further than the
  // gateway; one that reads no credential (kNone) passes the client's on.
  bool TakesApiKeys() const;
};

// One segment of a path template ("/docs/{id}", "/files/{path*}"): a
// literal, a {name} parameter, or a last {name*} that takes the rest.
struct PathSegment {
  std::string text;  // the literal, or the parameter's name
  bool parameter = false;
  bool rest = false;
};

// How the Cedar authorizer sees a route's requests (see cedar_authorizer.h):
// the action, and the resource built from path parameters.
struct RouteCedar {
  // The action id for every method, or "" to use `actions_by_method`, else
  // the HTTP method itself. An id is of type Action; a Cedar literal
  // (NS::Action::"read") names another action type.
  std::string action;
  std::vector<std::pair<std::string, std::string>> actions_by_method;  // {"GET", "read"}
  // Names path segments: "/docs/{id}" or "/files/{path*}" (the rest of the
  // path). Empty: no parameters.
  std::string path;
  // The resource as a Cedar literal with parameters: Document::"{id}".
  // Empty: Route::"<route name>".
  std::string resource;

  // The fields above parsed once, by CompileRouteCedar (Gateway::Create
  // runs it), so a request parses nothing: the action by method ("" for
  // every method), the resource's type and its id with {name}s.
  std::vector<std::pair<std::string, policy::cedar::EntityUid>> action_uids;
  std::string resource_type;
  std::string resource_id;
  // `path` split (see path_template.h).
  std::vector<PathSegment> path_segments;
};

// How the relation authorizer sees a route's requests (see
// relation_authorizer.h): the object built from path parameters and the
// relation the caller must have to it.
struct RouteRelation {
  // The relation for every method, or "" to use `relations_by_method`.
  std::string relation;
  std::vector<std::pair<std::string, std::string>> relations_by_method;  // {"GET", "viewer"}
  std::string path;    // "/docs/{id}"; empty: no parameters
  std::string object;  // "document:{id}"
  // Parsed once by CompileRouteRelation.
  std::vector<PathSegment> path_segments;
  std::string object_type;
  std::string object_id;  // with {name}s
};

// Rules of the route-rule authorizer. Deny overrides allow; every list that
// is not empty must be satisfied.
struct RouteAuthz {
  std::vector<std::string> scopes;  // all required
  std::vector<std::string> roles;   // any one suffices
  // Exact, or "prefix*": one starting `spiffe://` matches the SPIFFE ID of
  // a verified client certificate (never a token's `sub`), any other the
  // subject, which a route takes from one issuer only (Gateway::Create).
  std::vector<std::string> principals;
  std::vector<std::string> spiffe_trust_domains;  // "prod.example"
  std::vector<CidrRange> allow_cidrs;             // the client address must be in one
  std::vector<CidrRange> deny_cidrs;              // a client address in one is refused
  // Present: after the rules above hold, the Cedar policies decide too.
  std::optional<RouteCedar> cedar;
  // Present: the caller must also have a relation to the path's object.
  std::optional<RouteRelation> relation;
};

// A route's rate limit: one quota per key.
struct RouteRateLimit {
  enum class Key {
    kClientIp,   // the client address
    kPrincipal,  // the authenticated subject (anonymous requests: their address)
    kRoute,      // one quota shared by every caller of the route
    kHeader,     // the value of `header` (absent: the client address)
    kApiKey,     // the API key's id (other requests: their address)
  };
  Key key = Key::kClientIp;
  std::string header;
  guard::RateLimitPolicy policy;  // its name is the route's name
  // The live keys the limit holds; past them new keys are refused (429).
  size_t max_keys = guard::RateLimiterOptions::kDefaultMaxKeys;
};

// Fields a route sets or removes on the way to its service
// (request_headers) or to its client (response_headers), as Envoy's
// request_headers_to_add/_remove and response_headers_to_add/_remove.
struct FieldRules {
  // Sent with these values; any copies of them that came are dropped.
  std::vector<std::pair<std::string, std::string>> set;
  // Dropped: these names and those of `set`.
  std::vector<std::string> remove;
  bool empty() const { return set.empty() && remove.empty(); }
};

// Whether a request field is one the gateway answers or sets itself rather
// than passing on (X-Bulwark-*, Host, Expect, every X-Forwarded-*,
// Forwarded), or one that would tell the service a client address or
// original target only a proxy may tell (X-Real-IP, True-Client-IP,
// X-Envoy-*...), or a credential meant for the gateway as a proxy
// (Proxy-Authorization), in any case: a client's copy goes no further, and
// no route rule may set or remove it.
bool IsGatewayOwnedRequestField(std::string_view name);
// The host a Host field or an authority names, as routes are matched on it
// and policies see it: lower case, without the port, and without the dot
// that ends a fully qualified name (`API.example.:8443` is api.example, as
// DNS and nginx's server names have it; a service behind would take it for
// that host too); an IPv6 literal in its RFC 5952 form (`[0:0::1]` is
// `[::1]`).
std::string RoutedHostName(std::string_view host);
// `host` without its `:port`, if it has one (an IPv6 literal keeps its
// brackets).
std::string_view HostWithoutPort(std::string_view host);
// Whether a `principals` pattern names SPIFFE IDs (starts `spiffe://`)
// rather than subjects.
inline constexpr std::string_view kSpiffeScheme = "spiffe://";
bool IsSpiffePattern(std::string_view pattern);
// The names of the gateway's own fields begin so, in any case: it sets
// them, and drops any a client or a service sends.
inline constexpr std::string_view kGatewayFieldPrefix = "X-Bulwark-";
// Whether a field is one of Bulwark's identity fields (X-Bulwark-*, in any
// case), the gateway's alone to set.
bool IsIdentityField(std::string_view name);

struct Route {
  std::string name;
  std::string host;
  std::string path_prefix = "/";
  // Off, path_prefix matches in any ASCII case (Envoy's case_sensitive),
  // for a service that takes `/Admin` for `/admin` (IIS, ASP.NET, a
  // case-insensitive file system): there a route that only matched
  // `/admin` would let `/ADMIN` by to the next route that matches.
  bool case_sensitive = true;
  std::vector<std::string> methods;
  RouteAuthn authn;
  RouteAuthz authz;
  std::optional<RouteRateLimit> rate_limit;
  std::string upstream;  // for the reverse proxy: the upstream's name
  // A WebSocket handshake (GET with `Upgrade: websocket`) that passes the
  // route's checks becomes a tunnel to the upstream; without this the
  // service gets it as a plain GET (Upgrade is a field of this hop).
  bool websocket = false;
  // A tunnel opened on a JWT ends once the token would be refused (its exp
  // and the issuer's leeway passed), within a second, as tunnels opened on
  // an API key or a client certificate end with theirs; with this it runs
  // on (as Envoy's do), for clients that cannot reconnect with a new token.
  bool websocket_outlives_token = false;
  // What of this route's requests is sent again, in place of its
  // upstream's `retry` (all of it: what the block leaves out takes the
  // defaults, not the upstream's). The retry budget stays the upstream's.
  std::optional<RetryPolicy> retry;
  // How long this route's requests wait for the service's answer (its
  // head, and a body held whole), in place of the upstream's
  // response_timeout (Envoy's route timeout): longer for a slow report,
  // shorter where a late answer is of no use. Each try's wait; with a
  // retry policy, every try's together.
  std::optional<std::chrono::milliseconds> response_timeout;
  // The path the service is sent in place of the segments path_prefix
  // matched (Envoy's prefix_rewrite, Traefik's StripPrefix), kept without
  // a trailing slash ("/" is kept empty); unset: the path as matched. Only
  // the forwarded path changes: the route is matched, authorized and
  // audited on the client's normalized path.
  std::optional<std::string> prefix_rewrite;
  // Fields set and removed on the request the service gets (never those
  // Bulwark sets itself or of the framing), and on every answer of the
  // route, Bulwark's own refusals included (never those of the framing).
  FieldRules request_fields;
  FieldRules response_fields;
  // Present: the reverse proxy answers this route's CORS preflights itself
  // and gives its every answer the policy's fields (see cors.h).
  std::optional<CorsPolicy> cors;
};

// The path a request of `route` to normalized `path` (which the route
// matched) goes on with: `path` itself, or with the segments the route's
// path_prefix matched, and their parameters, replaced by its
// prefix_rewrite, segment by segment (`/orders/7` with `/orders` rewritten
// to `/v1` is `/v1/7`, to `/` is `/7`; `/orders` is `/v1`, or `/`).
std::string ForwardedPath(const Route& route, std::string_view path);

// True if `path` is `prefix` or continues it after a '/' (path parameters such
// as "/admin;x" count as the segment they decorate); with `ignore_case`, in
// any ASCII case.
bool PathUnderPrefix(std::string_view path, std::string_view prefix, bool ignore_case = false);

class RouteTable {
 public:
  explicit RouteTable(std::vector<Route> routes) : routes_(std::move(routes)) {}
  // The first route matching, or nullptr. `host` may carry a port, which is
  // ignored. Thread-safe (immutable).
  const Route* Match(std::string_view method, std::string_view host, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_ROUTE_H_

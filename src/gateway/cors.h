// Cross-origin resource sharing: a route's answers to browser pages of
// other origins, as the Fetch standard's CORS protocol has them.
//
// A page at https://app.example that calls https://api.example with an
// `Authorization` header first sends a preflight (`OPTIONS` with `Origin`
// and `Access-Control-Request-Method`), which carries no credentials. On a
// route with a policy the reverse proxy answers it itself (204 with the
// `Access-Control-Allow-*` fields, or 403 without them), before and
// without any authentication, and never forwards it. The real request is
// then decided as any other, and every answer of the route, Bulwark's
// refusals included (so the page can read a 401 or a 429), carries the
// policy's fields for an allowed origin and `Vary: Origin`. The service's
// own `Access-Control-*` fields are taken off: the route's policy is the
// one the browser sees.
//
// CORS tells a browser which pages may read answers, and decides nothing
// for a client that sends no Origin. A page of an origin the policy does
// not name (nor the route's own) may still GET or HEAD: the request is
// decided as any other, and its answer names no origin, so the page cannot
// read it. What its browser sends without a preflight that would act (a
// form's POST) or open a tunnel (a WebSocket handshake) is refused.
#ifndef BULWARK_GATEWAY_CORS_H_
#define BULWARK_GATEWAY_CORS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace bulwark::gateway {

struct CorsPolicy {
  // Allowed origins as browsers serialize them, lower case: `scheme://host`
  // or `scheme://host:port`.
  std::vector<std::string> origins;
  // `scheme://*.domain[:port]`: any origin of that scheme and port whose
  // host is `domain` with one label or more in front.
  struct Subdomains {
    std::string scheme;  // "https"
    std::string domain;  // "example.com"
    std::string port;    // "" or "8443"
  };
  std::vector<Subdomains> subdomains;
  bool any_origin = false;  // "*"; never with credentials
  // Methods a preflight may ask for (case-sensitive, as methods are).
  std::vector<std::string> methods = {"GET", "HEAD", "POST"};
  // Request fields a preflight may ask for (in any case); any_header: all.
  std::vector<std::string> headers;
  bool any_header = false;
  // Answer fields the page may read beyond the CORS-safelisted ones and
  // the gateway's own (kGatewayExposedFields).
  std::vector<std::string> expose_headers;
  // Answers to requests made with the user's cookies or client
  // certificate may be read (Access-Control-Allow-Credentials).
  bool credentials = false;
  // How long a browser may keep a preflight's answer; unset: not said (a
  // browser then keeps it 5 seconds).
  std::optional<int64_t> max_age_s;

  // Whether `origin` (an Origin field's value) is one the policy names.
  // The opaque origin `null` (sandboxed frames, file: pages, redirects
  // across origins) never is, nor is a value that is not a serialized
  // origin.
  bool AllowsOrigin(std::string_view origin) const;
};

// Adds `text`, a configured origin (`https://app.example`,
// `http://localhost:3000`), subdomain pattern (`https://*.example.com`) or
// `*`, to `policy`; kInvalidArgument with the reason for anything a browser
// would never send, for `null`, and for a pattern that names a whole
// top-level domain.
Status AddAllowedOrigin(std::string_view text, CorsPolicy& policy);

// What a preflight asks.
struct CorsPreflight {
  std::string_view origin;
  std::string_view method;   // Access-Control-Request-Method
  std::string_view headers;  // Access-Control-Request-Headers, "" if none
};

// Decides a preflight: nullopt when the policy allows it, with the
// answer's field lines appended to `fields`; else the reason it does not
// (for audit and logs, never for the client, whose answer has no
// Access-Control-Allow-* field).
std::optional<std::string> DecideCorsPreflight(const CorsPolicy& policy,
                                               const CorsPreflight& preflight, std::string& fields);

// Appends the field lines of an answer to a request from `origin` (""
// when none came; `origin_count` how many Origin fields came, where more
// than one is none allowed): the Access-Control-* fields for an allowed
// origin, and Vary: Origin for every answer, since it depends on the field.
void AppendCorsFields(const CorsPolicy& policy, std::string_view origin, int origin_count,
                      std::string& fields);

// GET, HEAD and OPTIONS: the safe methods of RFC 9110 section 9.2.1 that
// the gateway passes on (TRACE it refuses), which a page of an origin a
// policy does not name may still send.
bool IsSafeMethod(std::string_view method);

// Whether `origin` is the request's own: `https://` (over TLS, else
// `http://`) and its host as routed, in any case, port and all.
bool IsOwnOrigin(std::string_view origin, bool tls, std::string_view host);

// The fields of its own the gateway lets every allowed page read: the id
// to quote, and why a request was refused or when to come back.
inline constexpr std::string_view kGatewayExposedFields =
    "X-Request-Id, WWW-Authenticate, Retry-After, RateLimit, RateLimit-Policy";

// The fields CORS answers carry, which a route with a policy sets itself.
inline constexpr std::string_view kCorsResponseFields[] = {
    "Access-Control-Allow-Origin",   "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Methods",  "Access-Control-Allow-Headers",
    "Access-Control-Expose-Headers", "Access-Control-Max-Age",
};
bool IsCorsResponseField(std::string_view name);

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_CORS_H_

#include "gateway/cors.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/gateway_fixture.h"

namespace bulwark::gateway {
namespace {

CorsPolicy PolicyOf(const std::vector<std::string>& origins) {
  CorsPolicy policy;
  for (const std::string& origin : origins) {
    const Status added = AddAllowedOrigin(origin, policy);
    EXPECT_TRUE(added.ok()) << origin << ": " << added.message();
  }
  return policy;
}

// Exact origins match as a browser serializes them, and nothing that only
// begins or ends alike: another port, scheme, or a host that merely
// contains the allowed one (the classic misreadings of an allow-list).
TEST(CorsTest, AnOriginMatchesExactlyAsABrowserSendsIt) {
  const CorsPolicy policy = PolicyOf({"https://App.Example", "http://localhost:3000"});
  EXPECT_TRUE(policy.AllowsOrigin("https://app.example"));
  EXPECT_TRUE(policy.AllowsOrigin("http://localhost:3000"));
  for (const char* origin : {
           "http://app.example",              // another scheme
           "https://app.example:8443",        // another port
           "https://app.example.evil.net",    // the allowed host as a prefix
           "https://evilapp.example",         // as a suffix
           "https://app.example/",            // not a serialized origin
           "https://app.example/path",        //
           "https://user@app.example",        //
           "HTTPS://APP.EXAMPLE",             // no browser sends upper case
           "https://app.example ",            //
           "http://localhost:3000.evil.net",  //
           "http://localhost:30000",          //
           "http://localhost",                //
           "null",                            // sandboxed frames, file: pages
           "",                                //
       }) {
    EXPECT_FALSE(policy.AllowsOrigin(origin)) << origin;
  }
}

// A subdomain pattern takes any host with one label or more in front of
// the domain, of the same scheme and port, and not the domain itself nor a
// host that only ends in the same letters.
TEST(CorsTest, ASubdomainPatternTakesSubdomainsAlone) {
  const CorsPolicy policy = PolicyOf({"https://*.example.com", "http://*.dev.example:8080"});
  EXPECT_TRUE(policy.AllowsOrigin("https://app.example.com"));
  EXPECT_TRUE(policy.AllowsOrigin("https://a.b.example.com"));
  EXPECT_TRUE(policy.AllowsOrigin("http://x.dev.example:8080"));
  for (const char* origin : {
           "https://example.com",
           "https://evilexample.com",
           "https://example.com.evil.net",
           "http://app.example.com",
           "https://app.example.com:8443",
           "http://x.dev.example",
           "https://.example.com",
           "https://a..example.com",
       }) {
    EXPECT_FALSE(policy.AllowsOrigin(origin)) << origin;
  }
}

TEST(CorsTest, AStarTakesEveryOriginButNull) {
  const CorsPolicy policy = PolicyOf({"*"});
  EXPECT_TRUE(policy.AllowsOrigin("https://anything.example"));
  EXPECT_TRUE(policy.AllowsOrigin("http://[::1]:8080"));
  EXPECT_FALSE(policy.AllowsOrigin("null"));
  EXPECT_FALSE(policy.AllowsOrigin("https://x.example/"));
}

// What a browser never sends cannot be configured, nor what would let
// every page through without saying so.
TEST(CorsTest, RefusesOriginsNoBrowserSendsAndPatternsTooWide) {
  for (const char* origin :
       {"null", "NULL", "https://app.example/", "https://app.example/api", "app.example",
        "https://app.example:443", "http://app.example:80", "https://*.com", "https://*",
        "https://a.*.example.com", "https://*example.com", "*.example.com", "https://app.example:0",
        "https://app.example:65536", "https://app example", "https://[::1"}) {
    CorsPolicy policy;
    EXPECT_FALSE(AddAllowedOrigin(origin, policy).ok()) << origin;
  }
  CorsPolicy policy;
  ASSERT_TRUE(AddAllowedOrigin("https://app.example", policy).ok());
  EXPECT_FALSE(AddAllowedOrigin("https://APP.example", policy).ok());  // named twice
  EXPECT_FALSE(AddAllowedOrigin("*", policy).ok());                    // '*' alone
  CorsPolicy star;
  ASSERT_TRUE(AddAllowedOrigin("*", star).ok());
  EXPECT_FALSE(AddAllowedOrigin("https://app.example", star).ok());
}

// A pattern over a public suffix would let in every site under it, each
// anyone's to register (the Public Suffix List's ICANN and private
// sections); one over a domain under it is a domain's owner's.
TEST(CorsTest, RefusesPatternsOverAPublicSuffix) {
  for (const char* origin : {"https://*.co.uk", "https://*.github.io", "https://*.s3.amazonaws.com",
                             "https://*.herokuapp.com", "http://*.com.au:8080"}) {
    CorsPolicy policy;
    const Status added = AddAllowedOrigin(origin, policy);
    EXPECT_FALSE(added.ok()) << origin;
    EXPECT_NE(added.message().find("public suffix"), std::string::npos) << added.message();
  }
  for (const char* origin :
       {"https://*.example.co.uk", "https://*.acme.github.io", "https://*.corp.internal"}) {
    CorsPolicy policy;
    EXPECT_TRUE(AddAllowedOrigin(origin, policy).ok()) << origin;
  }
  // An exact origin on one is a site like any other.
  CorsPolicy policy;
  EXPECT_TRUE(AddAllowedOrigin("https://acme.github.io", policy).ok());
}

TEST(CorsTest, AnAllowedPreflightGetsThePolicysFields) {
  CorsPolicy policy = PolicyOf({"https://app.example"});
  policy.methods = {"GET", "PUT"};
  policy.headers = {"authorization", "content-type"};
  policy.credentials = true;
  policy.max_age_s = 600;
  std::string fields;
  const auto refused = DecideCorsPreflight(policy,
                                           {.origin = "https://app.example",
                                            .method = "PUT",
                                            .headers = "Authorization ,content-type,,"},
                                           fields);
  ASSERT_FALSE(refused) << *refused;
  EXPECT_EQ(fields,
            "Access-Control-Allow-Origin: https://app.example\r\n"
            "Access-Control-Allow-Credentials: true\r\n"
            "Access-Control-Allow-Methods: GET, PUT\r\n"
            "Access-Control-Allow-Headers: authorization, content-type\r\n"
            "Access-Control-Max-Age: 600\r\n"
            "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\r\n");
}

// A preflight the policy does not allow gets no field that would let the
// browser go on.
TEST(CorsTest, APreflightOutsideThePolicyGetsNoFields) {
  CorsPolicy policy = PolicyOf({"https://app.example"});
  policy.headers = {"authorization"};
  const CorsPreflight refused[] = {
      {.origin = "https://evil.example", .method = "GET"},
      {.origin = "null", .method = "GET"},
      {.origin = "https://app.example", .method = "DELETE"},
      {.origin = "https://app.example", .method = "get"},  // methods are case-sensitive
      {.origin = "https://app.example", .method = "GET", .headers = "authorization, x-admin"},
      {.origin = "https://app.example", .method = "GET", .headers = "bad name"},
  };
  for (const CorsPreflight& preflight : refused) {
    std::string fields;
    EXPECT_TRUE(DecideCorsPreflight(policy, preflight, fields))
        << preflight.origin << " " << preflight.method << " " << preflight.headers;
    EXPECT_EQ(fields, "");
  }
  policy.any_header = true;
  std::string fields;
  EXPECT_FALSE(DecideCorsPreflight(
      policy, {.origin = "https://app.example", .method = "GET", .headers = "x-admin"}, fields));
  EXPECT_NE(fields.find("Access-Control-Allow-Headers: x-admin\r\n"), std::string::npos);
}

// A real request's answer names an allowed origin alone (and one Origin
// field alone: of two, the browser and the policy might read different
// ones), and says it depends on the Origin either way.
TEST(CorsTest, AnAnswerNamesAnAllowedOriginAlone) {
  CorsPolicy policy = PolicyOf({"https://app.example"});
  policy.expose_headers = {"X-Total-Count"};
  std::string fields;
  AppendCorsFields(policy, "https://app.example", 1, fields);
  EXPECT_EQ(fields,
            "Access-Control-Allow-Origin: https://app.example\r\n"
            "Access-Control-Expose-Headers: X-Request-Id, WWW-Authenticate, Retry-After, "
            "RateLimit, RateLimit-Policy, X-Total-Count\r\n"
            "Vary: Origin\r\n");
  for (const auto& [origin, count] : {std::pair<const char*, int>{"https://evil.example", 1},
                                      {"https://app.example", 2},
                                      {"", 0}}) {
    fields.clear();
    AppendCorsFields(policy, origin, count, fields);
    EXPECT_EQ(fields, "Vary: Origin\r\n") << origin << " " << count;
  }
}

class CorsGatewayTest : public testing::GatewayTest {
 protected:
  // A request from a page of `origin` ("": from no browser) to the reverse
  // proxy (which applies cors policies), asking for `preflight_method` if
  // one is given.
  static RequestFacts FromPage(std::string_view method, std::string_view target,
                               std::string_view origin, std::string_view preflight_method = "") {
    return {.method = method,
            .host = "api.example",
            .target = target,
            .origin = origin,
            .origin_count = origin.empty() ? 0 : 1,
            .cors_request_method = preflight_method,
            .client_ip = "192.0.2.7",
            .applies_cors_policies = true};
  }
};

// A preflight to a route with a policy is decided by that policy alone,
// with no credential (a browser sends none), and found by the route of the
// request it precedes; without the policy, or from a caller that leaves
// preflights to the proxy in front, it is decided as any other request.
TEST_F(CorsGatewayTest, APreflightIsDecidedByTheRoutesPolicyWithoutCredentials) {
  Route api{.name = "api",
            .path_prefix = "/api",
            .methods = {"GET", "POST"},
            .authz = {.scopes = {"orders:read"}}};
  api.cors = PolicyOf({"https://app.example"});
  api.cors->headers = {"authorization"};
  Route bare{.name = "bare", .path_prefix = "/bare"};
  auto gw = Make({api, bare});
  ASSERT_NE(gw, nullptr);
  const auto preflight = [&](std::string_view target, std::string_view origin,
                             std::string_view method, bool answers = true) {
    RequestFacts facts = FromPage("OPTIONS", target, origin, method);
    facts.cors_request_headers = "authorization";
    facts.cors_request_headers_count = 1;
    facts.applies_cors_policies = answers;
    return gw->Decide(facts);
  };
  Decision allowed = preflight("/api/orders", "https://app.example", "POST");
  EXPECT_EQ(allowed.status, 204) << allowed.reason;
  EXPECT_TRUE(allowed.cors_preflight);
  EXPECT_EQ(allowed.route_name(), "api");
  EXPECT_EQ(HeaderOf(allowed.response_fields, "Access-Control-Allow-Origin"),
            "https://app.example");
  EXPECT_EQ(HeaderOf(allowed.response_fields, "Access-Control-Allow-Headers"), "authorization");

  Decision evil = preflight("/api/orders", "https://evil.example", "POST");
  EXPECT_EQ(evil.status, 403);
  EXPECT_TRUE(evil.cors_preflight);
  EXPECT_EQ(HeaderOf(evil.response_fields, "Access-Control-Allow-Origin"), "");

  // DELETE goes to no route with a policy: the OPTIONS itself is routed,
  // and no route takes OPTIONS.
  EXPECT_EQ(preflight("/api/orders", "https://app.example", "DELETE").status, 404);
  // A route without a policy decides the OPTIONS as any request.
  Decision plain = preflight("/bare/x", "https://app.example", "GET");
  EXPECT_EQ(plain.status, 401);
  EXPECT_FALSE(plain.cors_preflight);
  // Forward-auth leaves preflights to the proxy in front.
  Decision forwarded = preflight("/bare/x", "https://app.example", "GET", /*answers=*/false);
  EXPECT_EQ(forwarded.status, 401);
  EXPECT_FALSE(preflight("/api/orders", "https://app.example", "GET", false).cors_preflight);

  // Two Origin fields: refused, whatever either says.
  RequestFacts twice = FromPage("OPTIONS", "/api/orders", "https://app.example", "GET");
  twice.origin_count = 2;
  EXPECT_EQ(gw->Decide(twice).status, 403);
}

// A preflight is answered by the policy of the route its real request
// goes to, never by another's: with an admin route of no policy listed
// before a wider route with one, a page asking to POST to the admin route
// is refused, though its OPTIONS matches the wider route.
TEST_F(CorsGatewayTest, APreflightIsNeverAnsweredByAnotherRoutesPolicy) {
  Route admin{.name = "admin", .path_prefix = "/api/admin", .methods = {"POST", "DELETE"}};
  Route api{.name = "api", .path_prefix = "/api", .methods = {"GET", "OPTIONS", "PUT"}};
  api.cors = PolicyOf({"https://app.example"});
  api.cors->methods = {"GET", "POST", "PUT", "DELETE"};
  auto gw = Make({admin, api});
  ASSERT_NE(gw, nullptr);
  const auto preflight = [&](std::string_view target, std::string_view method) {
    return gw->Decide(FromPage("OPTIONS", target, "https://app.example", method));
  };
  Decision to_admin = preflight("/api/admin/users/7", "POST");
  EXPECT_EQ(to_admin.status, 403);
  EXPECT_TRUE(to_admin.cors_preflight);
  EXPECT_EQ(to_admin.route_name(), "api");
  EXPECT_NE(to_admin.reason.find("route without a cors policy"), std::string::npos)
      << to_admin.reason;
  EXPECT_EQ(HeaderOf(to_admin.response_fields, "Access-Control-Allow-Origin"), "");
  // No route takes the real request (a DELETE outside the admin route):
  // nothing to allow.
  Decision nowhere = preflight("/api/orders", "DELETE");
  EXPECT_EQ(nowhere.status, 403);
  EXPECT_EQ(HeaderOf(nowhere.response_fields, "Access-Control-Allow-Methods"), "");
  // The wider route's own requests are still allowed.
  EXPECT_EQ(preflight("/api/orders", "PUT").status, 204);
  EXPECT_EQ(preflight("/api/admin/users/7", "PUT").status, 204);
}

// The real request after the preflight is authenticated as always: CORS
// lets a page read answers, it lets no request by.
TEST_F(CorsGatewayTest, TheRequestAfterAPreflightIsAuthenticatedAsAlways) {
  Route api{.name = "api", .path_prefix = "/api", .authz = {.scopes = {"orders:read"}}};
  api.cors = PolicyOf({"https://app.example"});
  auto gw = Make({api});
  ASSERT_NE(gw, nullptr);
  const Decision anonymous = gw->Decide(FromPage("GET", "/api/orders", "https://app.example"));
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_FALSE(anonymous.cors_preflight);
  // An OPTIONS without Access-Control-Request-Method is no preflight.
  EXPECT_EQ(gw->Decide(FromPage("OPTIONS", "/api/orders", "https://app.example")).status, 401);
}

// Browsers open WebSockets to any origin without a preflight: on a route
// whose policy names its pages, a handshake from another page is refused
// before anything else is looked at, and one from an allowed page, the
// route's own origin or no browser at all is decided as always.
TEST_F(CorsGatewayTest, AWebSocketFromAPageThePolicyDoesNotNameIsRefused) {
  Route ws{.name = "ws", .path_prefix = "/ws", .authn = {.mode = AuthnMode::kNone}};
  ws.websocket = true;
  ws.upstream = "svc";
  ws.cors = PolicyOf({"https://app.example"});
  Route plain{.name = "plain", .path_prefix = "/plain", .authn = {.mode = AuthnMode::kNone}};
  plain.cors = ws.cors;
  auto gw = Make({ws, plain});
  ASSERT_NE(gw, nullptr);
  const auto handshake = [&](std::string_view target, std::string_view origin, int count = 1,
                             bool tls = false) {
    RequestFacts facts = FromPage("GET", target, origin);
    facts.origin_count = count;
    facts.websocket_upgrade = true;
    facts.tls = tls;
    return gw->Decide(facts);
  };
  const Decision evil = handshake("/ws", "https://evil.example");
  EXPECT_EQ(evil.status, 403);
  EXPECT_NE(evil.reason.find("WebSocket"), std::string::npos) << evil.reason;
  EXPECT_EQ(handshake("/ws", "null").status, 403);
  EXPECT_EQ(handshake("/ws", "https://app.example", 2).status, 403);
  EXPECT_EQ(handshake("/ws", "https://api.example.evil.net", 1, true).status, 403);
  EXPECT_EQ(handshake("/ws", "https://api.example", 1, /*tls=*/false).status, 403)
      << "another scheme is another origin";

  EXPECT_EQ(handshake("/ws", "https://app.example").status, 200);
  EXPECT_EQ(handshake("/ws", "https://API.example", 1, /*tls=*/true).status, 200)
      << "the route's own origin";
  EXPECT_EQ(handshake("/ws", "http://api.example").status, 200);
  EXPECT_EQ(handshake("/ws", "", 0).status, 200) << "no browser sends none";
  // A route without WebSockets takes the handshake as a plain GET, which a
  // page of any origin may send (it cannot read the answer).
  EXPECT_EQ(handshake("/plain", "https://evil.example").status, 200);
  // Nor does a caller that leaves CORS to the proxy in front refuse it.
  RequestFacts forwarded = FromPage("GET", "/ws", "https://evil.example");
  forwarded.websocket_upgrade = true;
  forwarded.applies_cors_policies = false;
  EXPECT_EQ(gw->Decide(forwarded).status, 200);
}

// A form's POST is sent without a preflight from a page of any site, with
// the user's client certificate (cross-site request forgery): on a route
// with a policy, a request that would act from a page the policy does not
// name is refused; safe methods, allowed pages, the route's own origin and
// clients without Origin are decided as always.
TEST_F(CorsGatewayTest, ARequestThatWouldActFromAPageThePolicyDoesNotNameIsRefused) {
  Route form{.name = "form", .path_prefix = "/form", .authn = {.mode = AuthnMode::kNone}};
  form.upstream = "svc";
  form.cors = PolicyOf({"https://app.example"});
  Route open{.name = "open", .path_prefix = "/open", .authn = {.mode = AuthnMode::kNone}};
  auto gw = Make({form, open});
  ASSERT_NE(gw, nullptr);
  const auto from = [&](std::string_view method, std::string_view target, std::string_view origin) {
    return gw->Decide(FromPage(method, target, origin, /*preflight_method=*/""));
  };
  for (std::string_view method : {"POST", "PUT", "PATCH", "DELETE", "PROPFIND"}) {
    const Decision forged = from(method, "/form/x", "https://evil.example");
    EXPECT_EQ(forged.status, 403) << method;
    EXPECT_EQ(forged.reason, "request from a page of an origin the cors policy does not name");
    EXPECT_EQ(from(method, "/form/x", "null").status, 403) << method;
    EXPECT_EQ(from(method, "/form/x", "https://app.example").status, 200) << method;
    EXPECT_EQ(from(method, "/form/x", "http://api.example").status, 200) << "the route's own";
    EXPECT_EQ(from(method, "/form/x", "").status, 200) << "no Origin: no browser";
    // A route without a policy names no pages to hold others to.
    EXPECT_EQ(from(method, "/open/x", "https://evil.example").status, 200) << method;
  }
  for (std::string_view method : {"GET", "HEAD", "OPTIONS"}) {
    EXPECT_EQ(from(method, "/form/x", "https://evil.example").status, 200) << method;
  }
}

}  // namespace
}  // namespace bulwark::gateway

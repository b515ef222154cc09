// Forward-auth as nginx, Envoy and Traefik call it, and the gateway config.
#include "gateway/forward_auth.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "audit/audit_queue.h"
#include "audit/audit_sink.h"
#include "core/metrics.h"
#include "forward_auth_call.h"
#include "gateway/decision_recorder.h"
#include "gateway/gateway_config.h"
#include "gateway/identity_token.h"
#include "gateway_fixture.h"
#include "jose/jwt.h"

namespace bulwark::gateway::testing {
namespace {

class ForwardAuthTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    gw_ =
        Make({{.name = "orders", .path_prefix = "/orders", .authz = {.scopes = {"orders:read"}}}});
  }

  // Called as the proxy calls: from loopback, with the host to decide on
  // (api.example) unless the test names one or, with `with_host` false,
  // leaves it out.
  net::HttpResponse Call(net::HttpRequest request, bool with_host = true) {
    if (request.remote_address.empty()) request.remote_address = "127.0.0.1";
    if (with_host) {
      const std::string_view field = request.target.starts_with("/auth/nginx") ? "X-Original-Host"
                                     : request.target.starts_with("/auth/traefik")
                                         ? "X-Forwarded-Host"
                                         : "Host";
      if (!request.Header(field)) request.headers.emplace_back(field, "api.example");
    }
    auto response = RunForwardAuth(*gw_, options_, request);
    EXPECT_TRUE(response.has_value());
    return response ? *response : net::HttpResponse{};
  }

  // A field of the response, from its list or from the lines it passes on.
  static std::string Get(const net::HttpResponse& r, std::string_view name) {
    std::string value = HeaderOf(r.headers, name);
    return value.empty() ? HeaderOf(r.passed_on_fields, name) : value;
  }

  std::unique_ptr<Gateway> gw_;
  ForwardAuthOptions options_ = LoopbackForwardAuth();
};

TEST_F(ForwardAuthTest, NginxAllowReturnsIdentityHeaders) {
  auto r = Call({.method = "GET",
                 .target = "/auth/nginx",
                 .headers = {{"Host", "api.example"},
                             {"X-Original-URI", "/orders/1"},
                             {"X-Original-Method", "GET"},
                             {"Authorization", Bearer(Claims())}}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Get(r, "X-Bulwark-Subject"), "alice");
  EXPECT_EQ(Get(r, "X-Bulwark-Status"), "200");
  // The id the decision is audited under, for the proxy's own log
  // (auth_request_set $id $upstream_http_x_request_id).
  EXPECT_EQ(Get(r, "X-Request-Id").size(), 36u);
}

TEST_F(ForwardAuthTest, NginxGetsOnly401Or403WithTheRealStatusInAHeader) {
  auto unauth = Call({.method = "GET",
                      .target = "/auth/nginx",
                      .headers = {{"X-Original-URI", "/orders"}, {"X-Original-Method", "GET"}}});
  EXPECT_EQ(unauth.status, 401);
  EXPECT_EQ(Get(unauth, "WWW-Authenticate"), "Bearer realm=\"bulwark\"");
  auto no_route = Call({.method = "GET",
                        .target = "/auth/nginx",
                        .headers = {{"X-Original-URI", "/nowhere"}, {"X-Original-Method", "GET"}}});
  EXPECT_EQ(no_route.status, 403);
  EXPECT_EQ(Get(no_route, "X-Bulwark-Status"), "404");
  auto bad_path =
      Call({.method = "GET",
            .target = "/auth/nginx",
            .headers = {{"X-Original-URI", "/orders%2f..%2fadmin"}, {"X-Original-Method", "GET"}}});
  EXPECT_EQ(bad_path.status, 403);
  EXPECT_EQ(Get(bad_path, "X-Bulwark-Status"), "400");
}

TEST_F(ForwardAuthTest, NginxUsesTheOriginalMethod) {
  gw_ = Make({{.name = "ro",
               .path_prefix = "/orders",
               .methods = {"GET"},
               .authn = {.mode = AuthnMode::kNone}}});
  auto get = Call({.method = "GET",
                   .target = "/auth/nginx",
                   .headers = {{"X-Original-URI", "/orders"}, {"X-Original-Method", "GET"}}});
  auto del = Call({.method = "GET",
                   .target = "/auth/nginx",
                   .headers = {{"X-Original-URI", "/orders"}, {"X-Original-Method", "DELETE"}}});
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(del.status, 403);
}

// The proxy in front passes the client's fields on to the service: one
// asking it to run another method or path is refused by every flavour, on a
// public route too (nginx shows a 403 and the real status in
// X-Bulwark-Status, since its auth_request takes no other).
TEST_F(ForwardAuthTest, AMethodOrPathOverrideIsRefusedByEveryFlavour) {
  gw_ = Make({{.name = "public", .path_prefix = "/", .authn = {.mode = AuthnMode::kNone}}});
  const HeaderList override = {{"X-HTTP-Method-Override", "DELETE"}};
  HeaderList nginx = {{"X-Original-URI", "/orders"}, {"X-Original-Method", "POST"}};
  EXPECT_EQ(Call({.method = "GET", .target = "/auth/nginx", .headers = nginx}).status, 200);
  nginx.push_back(override.front());
  auto refused = Call({.method = "GET", .target = "/auth/nginx", .headers = nginx});
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(Get(refused, "X-Bulwark-Status"), "400");

  HeaderList traefik = {
      {"X-Forwarded-Uri", "/orders"}, {"X-Forwarded-Method", "POST"}, {"X-Original-URL", "/admin"}};
  EXPECT_EQ(Call({.method = "GET", .target = "/auth/traefik", .headers = traefik}).status, 400);
  EXPECT_EQ(Call({.method = "POST", .target = "/auth/envoy/orders"}).status, 200);
  EXPECT_EQ(Call({.method = "POST", .target = "/auth/envoy/orders", .headers = override}).status,
            400);
}

TEST_F(ForwardAuthTest, EnvoyTakesThePathAfterThePrefixAndPassesStatusThrough) {
  auto ok = Call({.method = "GET",
                  .target = "/auth/envoy/orders/9?x=1",
                  .headers = {{"Authorization", Bearer(Claims())}}});
  EXPECT_EQ(ok.status, 200);
  auto denied = Call({.method = "GET", .target = "/auth/envoy/other"});
  EXPECT_EQ(denied.status, 404);
  EXPECT_FALSE(RunForwardAuth(*gw_, options_, {.target = "/auth/envoyx"}).has_value());
  EXPECT_TRUE(IsForwardAuthTarget("/auth/envoy/orders"));
}

// A path that begins as an endpoint does is forward-auth's: a proxy given
// a wrong address (a trailing slash) is answered 404 by Bulwark
// (RunForwardAuth has no answer: the server's is 404), never passed to a
// catch-all route's service that would answer 200 and so allow everything.
// Other paths under /auth/ stay routes' (Keycloak's /auth/realms/).
TEST_F(ForwardAuthTest, APathThatBeginsAsAnEndpointIsForwardAuths) {
  for (const char* target : {"/auth", "/auth/", "/auth/traefik/", "/auth/nginx/", "/auth/envoyx",
                             "/auth/nginx.", "/auth/traefik/?x=1", "/auth?x"}) {
    EXPECT_TRUE(IsForwardAuthTarget(target)) << target;
  }
  for (const char* target : {"/authx", "/au", "/", "/orders/auth/nginx", "/Auth/nginx",
                             "/auth/realms/master", "/auth/callback"}) {
    EXPECT_FALSE(IsForwardAuthTarget(target)) << target;
  }
  EXPECT_FALSE(RunForwardAuth(*gw_, options_, {.target = "/auth/traefik/"}).has_value());
}

// TRACE would have the service echo the identity fields and the signed
// identity to the client: no flavour allows it, whatever the credential.
// Envoy is told 403 with the real status, as for any 5xx: it takes a 5xx
// for Bulwark failing, and with failure_mode_allow would let it through.
TEST_F(ForwardAuthTest, TraceIsDeniedByEveryFlavourAndEnvoyIsNeverAnswered5xx) {
  for (const char* method : {"TRACE", "TRACK"}) {
    auto envoy = Call({.method = method,
                       .target = "/auth/envoy/orders/1",
                       .headers = {{"Authorization", Bearer(Claims())}}});
    EXPECT_EQ(envoy.status, 403) << method;
    EXPECT_EQ(Get(envoy, "X-Bulwark-Status"), "501") << method;
    EXPECT_EQ(Get(envoy, "X-Bulwark-Subject"), "") << method;
    auto traefik = Call({.method = "GET",
                         .target = "/auth/traefik",
                         .headers = {{"X-Forwarded-Method", method},
                                     {"X-Forwarded-Uri", "/orders/1"},
                                     {"Authorization", Bearer(Claims())}}});
    EXPECT_EQ(traefik.status, 501) << method;  // Traefik returns it to the client
    EXPECT_EQ(Get(traefik, "X-Bulwark-Subject"), "") << method;
    auto nginx = Call({.method = "GET",
                       .target = "/auth/nginx",
                       .headers = {{"X-Original-Method", method},
                                   {"X-Original-URI", "/orders/1"},
                                   {"Authorization", Bearer(Claims())}}});
    EXPECT_EQ(nginx.status, 403) << method;
    EXPECT_EQ(Get(nginx, "X-Bulwark-Status"), "501") << method;
  }
  // A 4xx denial still reaches Envoy's client as it is.
  EXPECT_EQ(Call({.method = "GET", .target = "/auth/envoy/orders/1"}).status, 401);
}

// The proxy in front passes the path on as the client sent it, so a path
// that resolving would change is refused (nginx is told 403 with the real
// status), by every flavour: decided on its resolved form, it would be
// served by a service that resolves it otherwise (`/admin/..` as a path
// under /admin, `//public/admin` as host `public`) or not at all.
TEST_F(ForwardAuthTest, APathPassedOnUnresolvedIsRefusedNotResolved) {
  gw_ = Make({{.name = "public", .path_prefix = "/public", .authn = {.mode = AuthnMode::kNone}},
              {.name = "orders", .path_prefix = "/orders", .authz = {.scopes = {"orders:read"}}}});
  for (std::string_view path : {"/orders/../public/x", "/orders/%2e%2e/public/x",
                                "/orders//../public/x", "//public/orders", "/public/./x"}) {
    auto nginx =
        Call({.method = "GET",
              .target = "/auth/nginx",
              .headers = {{"X-Original-URI", std::string(path)}, {"X-Original-Method", "GET"}}});
    EXPECT_EQ(nginx.status, 403) << path;
    EXPECT_EQ(Get(nginx, "X-Bulwark-Status"), "400") << path;
    auto traefik =
        Call({.method = "GET",
              .target = "/auth/traefik",
              .headers = {{"X-Forwarded-Uri", std::string(path)}, {"X-Forwarded-Method", "GET"}}});
    EXPECT_EQ(traefik.status, 400) << path;
    auto envoy = Call({.method = "GET", .target = "/auth/envoy" + std::string(path)});
    EXPECT_EQ(envoy.status, 400) << path;
  }
  // What every service resolves alike is decided as before.
  auto escaped = Call({.method = "GET", .target = "/auth/envoy/%70ublic/x"});
  EXPECT_EQ(escaped.status, 200);
  auto slash = Call({.method = "GET", .target = "/auth/envoy/public/x/"});
  EXPECT_EQ(slash.status, 200);
}

// Envoy forwards the client's own request: the answer names what it must
// remove from it, the token the gateway consumed and every identity field
// the answer does not set, so a client's copy cannot pose as one.
TEST_F(ForwardAuthTest, EnvoyRemovesTheConsumedTokenAndTheIdentityFieldsItLeavesUnset) {
  auto ok = Call({.method = "GET",
                  .target = "/auth/envoy/orders/9",
                  .headers = {{"Authorization", Bearer(Claims())},
                              {"X-Bulwark-Spiffe-Id", "spiffe://example.org/admin"},
                              {"X-BULWARK-TENANT", "other"},
                              {"X-Forwarded-For", "198.51.100.2"},
                              {"X-Forwarded-Proto", "https"},
                              {"X-Envoy-Original-Path", "/orders/9"},
                              {"X-SSL-Client-S-DN", "CN=admin"}}});
  ASSERT_EQ(ok.status, 200);
  const std::vector<std::string> removed = RemovalsAskedOfEnvoy(ok);
  // Each once, as Envoy reads them (it lower-cases what it removes).
  EXPECT_EQ(std::count(removed.begin(), removed.end(), "x-bulwark-spiffe-id"), 1);
  EXPECT_TRUE(Lists(removed, "authorization"));
  EXPECT_TRUE(Lists(removed, "x-bulwark-spiffe-id"));
  EXPECT_TRUE(Lists(removed, "x-bulwark-key-id"));
  EXPECT_TRUE(Lists(removed, "x-bulwark-identity"));
  EXPECT_TRUE(Lists(removed, "x-bulwark-tenant"));
  // What the answer sets replaces the client's copy: removed after it is
  // set, it would be lost.
  EXPECT_EQ(Get(ok, "X-Bulwark-Subject"), "alice");
  EXPECT_FALSE(Lists(removed, "x-bulwark-subject"));
  EXPECT_FALSE(Lists(removed, "x-bulwark-scopes"));
  EXPECT_FALSE(Lists(removed, "x-api-key"));  // the route reads no API key
  // What a client may claim as a proxy's word goes, shown or not: decided
  // on its Host, the request must not reach a service that trusts
  // X-Forwarded-Host as another host, nor X-Real-IP as another address.
  for (const char* claim : {"x-forwarded-host", "forwarded", "x-forwarded-prefix", "x-real-ip",
                            "true-client-ip", "x-original-uri", "client-cert"}) {
    EXPECT_TRUE(Lists(removed, claim)) << claim;
  }
  // What Envoy itself sets stays: the request's Host, the X-Forwarded-For
  // it appended to, the X-Forwarded-Proto it set.
  for (const char* own :
       {"host", "x-forwarded-for", "x-forwarded-proto", "x-envoy-original-path"}) {
    EXPECT_FALSE(Lists(removed, own)) << own;
  }
  EXPECT_TRUE(Lists(removed, "x-ssl-client-s-dn"));  // shown, and a client's claim

  // A refused request goes nowhere; nginx and Traefik do not read the field.
  EXPECT_TRUE(
      RemovalsAskedOfEnvoy(Call({.method = "GET", .target = "/auth/envoy/orders/9"})).empty());
  EXPECT_TRUE(RemovalsAskedOfEnvoy(Call({.method = "GET",
                                         .target = "/auth/nginx",
                                         .headers = {{"X-Original-URI", "/orders/1"},
                                                     {"X-Original-Method", "GET"},
                                                     {"Authorization", Bearer(Claims())}}}))
                  .empty());
}

TEST_F(ForwardAuthTest, EnvoyLeavesAForwardedTokenAndAPublicRoutesCredentials) {
  GatewayOptions options = Options(
      {{.name = "orders", .path_prefix = "/orders", .request_fields = {.remove = {"X-Debug"}}},
       {.name = "public", .path_prefix = "/public", .authn = {.mode = AuthnMode::kNone}}});
  options.issuers[1].forward_token = true;  // "other"
  gw_ = std::move(*Gateway::Create(std::move(options), clock_));
  boost::json::object claims = Claims();
  claims["iss"] = "https://other.example";
  auto forwarded =
      Call({.method = "GET",
            .target = "/auth/envoy/orders/9",
            .headers = {{"Authorization", "Bearer " + *jose::SignJwt(*other_key_, claims)}}});
  ASSERT_EQ(forwarded.status, 200);
  EXPECT_FALSE(Lists(RemovalsAskedOfEnvoy(forwarded), "authorization"));
  EXPECT_TRUE(Lists(RemovalsAskedOfEnvoy(forwarded), "x-bulwark-spiffe-id"));
  // The route's own removals hold behind Envoy as on the proxy.
  EXPECT_TRUE(Lists(RemovalsAskedOfEnvoy(forwarded), "x-debug"));

  // A public route reads no credential: the client's are its own, but no
  // identity field reaches the service from the client.
  auto open = Call({.method = "GET",
                    .target = "/auth/envoy/public/x",
                    .headers = {{"Authorization", "Basic dXNlcjpwYXNz"},
                                {"X-Api-Key", "the-service-s-own"},
                                {"X-Bulwark-Subject", "admin"}}});
  ASSERT_EQ(open.status, 200);
  const std::vector<std::string> removed = RemovalsAskedOfEnvoy(open);
  EXPECT_FALSE(Lists(removed, "authorization"));
  EXPECT_FALSE(Lists(removed, "x-api-key"));
  EXPECT_TRUE(Lists(removed, "x-bulwark-subject"));
}

// nginx and Traefik, with the recipes of docs/gateway.md, give the service
// the answer's Authorization and X-Api-Key in place of the client's: the
// answer repeats what the reverse proxy would pass on, and nothing else.
TEST_F(ForwardAuthTest, NginxAndTraefikAreGivenOnlyTheCredentialsTheServiceMayHave) {
  GatewayOptions options =
      Options({{.name = "orders", .path_prefix = "/orders"},
               {.name = "public", .path_prefix = "/public", .authn = {.mode = AuthnMode::kNone}},
               {.name = "bare",
                .path_prefix = "/bare",
                .authn = {.mode = AuthnMode::kNone},
                .request_fields = {.remove = {"authorization"}}}});
  options.issuers[1].forward_token = true;  // "other"
  gw_ = std::move(*Gateway::Create(std::move(options), clock_));
  auto ask = [&](std::string_view flavor, std::string_view uri, HeaderList headers) {
    headers.emplace_back(flavor == "nginx" ? "X-Original-URI" : "X-Forwarded-Uri", uri);
    headers.emplace_back(flavor == "nginx" ? "X-Original-Method" : "X-Forwarded-Method", "GET");
    return Call({.method = "GET",
                 .target = std::string("/auth/") + std::string(flavor),
                 .headers = std::move(headers)});
  };
  boost::json::object other_claims = Claims();
  other_claims["iss"] = "https://other.example";
  const std::string forwarded = "Bearer " + *jose::SignJwt(*other_key_, other_claims);
  for (std::string_view flavor : {"nginx", "traefik"}) {
    SCOPED_TRACE(flavor);
    // A token verified here stays here; a key on a route that reads
    // none is the service's.
    auto consumed = ask(flavor, "/orders/1",
                        {{"Authorization", Bearer(Claims())}, {"X-Api-Key", "the-service-s-own"}});
    ASSERT_EQ(consumed.status, 200);
    EXPECT_EQ(Get(consumed, "Authorization"), "");
    EXPECT_EQ(Get(consumed, "X-Api-Key"), "the-service-s-own");
    // A field the route removes is not repeated.
    auto removed = ask(flavor, "/bare/x", {{"Authorization", "Basic dXNlcjpwYXNz"}});
    ASSERT_EQ(removed.status, 200);
    EXPECT_EQ(Get(removed, "Authorization"), "");
    // One whose issuer forwards tokens goes on, as the client sent it.
    auto passed = ask(flavor, "/orders/1", {{"Authorization", forwarded}});
    ASSERT_EQ(passed.status, 200);
    EXPECT_EQ(Get(passed, "Authorization"), forwarded);
    // A public route reads no credential: the client's are the service's.
    auto open = ask(flavor, "/public/x",
                    {{"Authorization", "Basic dXNlcjpwYXNz"}, {"X-Api-Key", "the-service-s-own"}});
    ASSERT_EQ(open.status, 200);
    EXPECT_EQ(Get(open, "Authorization"), "Basic dXNlcjpwYXNz");
    EXPECT_EQ(Get(open, "X-Api-Key"), "the-service-s-own");
    // Sent twice, even to a public route, it is refused and neither is
    // repeated.
    auto twice =
        ask(flavor, "/public/x",
            {{"Authorization", "Basic dXNlcjpwYXNz"}, {"Authorization", "Basic b3RoZXI6eA=="}});
    EXPECT_NE(twice.status, 200);
    EXPECT_EQ(Get(twice, "X-Bulwark-Status"), "400");
    EXPECT_EQ(Get(twice, "Authorization"), "");
    // A refusal repeats nothing (Traefik would show it to the client).
    auto refused = ask(flavor, "/orders/1", {{"Authorization", "Bearer not.a.token"}});
    EXPECT_NE(refused.status, 200);
    EXPECT_EQ(Get(refused, "Authorization"), "");
  }
  // Envoy forwards the client's own fields and is told what to remove.
  auto envoy = Call({.method = "GET",
                     .target = "/auth/envoy/public/x",
                     .headers = {{"Authorization", "Basic dXNlcjpwYXNz"}}});
  ASSERT_EQ(envoy.status, 200);
  EXPECT_EQ(Get(envoy, "Authorization"), "");
}

// With an identity signer, an allowed answer carries the principal's signed
// identity, for the route's upstream or, without one, the route's name; the
// service checks it as it would behind the reverse proxy.
TEST_F(ForwardAuthTest, AnAllowedAnswerCarriesTheSignedIdentity) {
  const jose::Jwk signing_key = jose::Jwk::Generate(jose::JwsAlgorithm::kEdDSA, "id-1").value();
  std::ofstream(dir_ / "identity.jwk") << signing_key.ToJson(/*include_private=*/true);
  auto signer = IdentityTokenSigner::Create(
      {.key_file = (dir_ / "identity.jwk").string(), .issuer = "https://bulwark.internal"}, clock_);
  ASSERT_TRUE(signer.has_value()) << signer.error().ToString();
  gw_ = Make({{.name = "orders", .path_prefix = "/orders"},
              {.name = "billing", .path_prefix = "/billing", .upstream = "billing-svc"},
              {.name = "public", .path_prefix = "/public", .authn = {.mode = AuthnMode::kNone}}});
  auto ask = [&](std::string target, HeaderList headers) {
    // The host as each proxy says it.
    headers.insert(headers.end(), {{"X-Original-Host", "api.example"},
                                   {"X-Forwarded-Host", "api.example"},
                                   {"Host", "api.example"}});
    auto answer = RunForwardAuth(
        *gw_, options_,
        {.method = "GET", .target = target, .headers = headers, .remote_address = "127.0.0.1"},
        signer->get());
    EXPECT_TRUE(answer.has_value());
    return answer.value_or(net::HttpResponse{});
  };
  auto audience_of = [&](const std::string& token, const std::string& audience) {
    auto verifier = jose::JwtVerifier::Create(
        *jose::Jwks::Parse((*signer)->public_jwks()),
        {.issuers = {"https://bulwark.internal"}, .audiences = {audience}}, clock_);
    auto verified = (*verifier)->Verify(token);
    return verified ? std::string((*verified)->claims().at("sub").as_string()) : std::string();
  };
  const HeaderList nginx_orders = {{"X-Original-URI", "/orders/1"},
                                   {"X-Original-Method", "GET"},
                                   {"Authorization", Bearer(Claims())}};
  auto nginx = ask("/auth/nginx", nginx_orders);
  ASSERT_EQ(nginx.status, 200);
  const std::string token = Get(nginx, "X-Bulwark-Identity");
  EXPECT_EQ(audience_of(token, "orders"), "alice");
  EXPECT_EQ(audience_of(token, "billing-svc"), "");  // good for its own audience only

  // Traefik as nginx; a refusal, which Traefik shows the client, carries
  // none.
  auto traefik = ask("/auth/traefik", {{"X-Forwarded-Uri", "/orders/1"},
                                       {"X-Forwarded-Method", "GET"},
                                       {"Authorization", Bearer(Claims())}});
  ASSERT_EQ(traefik.status, 200);
  EXPECT_EQ(audience_of(Get(traefik, "X-Bulwark-Identity"), "orders"), "alice");
  auto traefik_refused = ask("/auth/traefik", {{"X-Forwarded-Uri", "/billing/1"},
                                               {"X-Forwarded-Method", "GET"},
                                               {"Authorization", "Bearer not.a.token"}});
  EXPECT_EQ(traefik_refused.status, 401);
  EXPECT_EQ(Get(traefik_refused, "X-Bulwark-Identity"), "");

  auto envoy = ask("/auth/envoy/billing/7", {{"Authorization", Bearer(Claims())}});
  ASSERT_EQ(envoy.status, 200);
  EXPECT_EQ(audience_of(Get(envoy, "X-Bulwark-Identity"), "billing-svc"), "alice");
  // Set by the answer, so Envoy must not remove it after setting it.
  EXPECT_FALSE(Lists(RemovalsAskedOfEnvoy(envoy), "x-bulwark-identity"));

  // No principal, or no answer that allows: no identity.
  auto anonymous = ask("/auth/envoy/public/x", {});
  ASSERT_EQ(anonymous.status, 200);
  EXPECT_EQ(Get(anonymous, "X-Bulwark-Identity"), "");
  EXPECT_TRUE(Lists(RemovalsAskedOfEnvoy(anonymous), "x-bulwark-identity"));
  auto refused = ask("/auth/envoy/orders/1", {{"Authorization", "Bearer not.a.token"}});
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(Get(refused, "X-Bulwark-Identity"), "");
  // Without a signer, none either.
  EXPECT_EQ(Get(Call({.method = "GET", .target = "/auth/nginx", .headers = nginx_orders}),
                "X-Bulwark-Identity"),
            "");
}

TEST_F(ForwardAuthTest, TraefikReadsForwardedHeaders) {
  auto claims = Claims();
  claims["scope"] = "none";
  auto r = Call({.method = "GET",
                 .target = "/auth/traefik",
                 .headers = {{"X-Forwarded-Method", "GET"},
                             {"X-Forwarded-Uri", "/orders"},
                             {"X-Forwarded-Host", "api.example"},
                             {"X-Forwarded-For", "203.0.113.9"},
                             {"Authorization", Bearer(claims)}}});
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(Get(r, "WWW-Authenticate").find("insufficient_scope"), std::string::npos);
  auto missing = Call({.method = "GET", .target = "/auth/traefik"});
  EXPECT_EQ(missing.status, 400);
}

// Whitespace around a list's element is spaces or tabs (RFC 9110 section
// 5.6.1): either way the last hop is the address, not an unknown one.
TEST_F(ForwardAuthTest, TheLastHopIsTheAddressWhateverWhitespaceLeadsIt) {
  gw_ = Make({{.name = "office",
               .path_prefix = "/",
               .authn = {.mode = AuthnMode::kNone},
               .authz = {.allow_cidrs = {*CidrRange::Parse("203.0.113.0/24")}}}});
  for (const char* xff : {"10.0.0.1,203.0.113.9", "10.0.0.1, 203.0.113.9", "10.0.0.1,\t203.0.113.9",
                          "10.0.0.1 ,\t \t203.0.113.9"}) {
    auto r = Call(
        {.method = "GET",
         .target = "/auth/traefik",
         .headers = {
             {"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/"}, {"X-Forwarded-For", xff}}});
    EXPECT_EQ(r.status, 200) << xff;
  }
}

TEST_F(ForwardAuthTest, ClientAddressComesFromTheProxysHeaders) {
  gw_ = Make({{.name = "internal",
               .path_prefix = "/",
               .authn = {.mode = AuthnMode::kNone},
               .authz = {.deny_cidrs = {*CidrRange::Parse("203.0.113.0/24")}}}});
  auto spoofed_first = Call({.method = "GET",
                             .target = "/auth/traefik",
                             .headers = {{"X-Forwarded-Method", "GET"},
                                         {"X-Forwarded-Uri", "/"},
                                         {"X-Forwarded-For", "10.0.0.1, 203.0.113.9"}}});
  EXPECT_EQ(spoofed_first.status, 403) << "the last hop, added by the proxy, counts";
  auto real_ip = Call(
      {.method = "GET",
       .target = "/auth/nginx",
       .headers = {
           {"X-Original-URI", "/"}, {"X-Original-Method", "GET"}, {"X-Real-IP", "198.51.100.2"}}});
  EXPECT_EQ(real_ip.status, 200);
  // X-Forwarded-For over two lines is one list: its last hop still counts.
  auto two_lines = Call({.method = "GET",
                         .target = "/auth/traefik",
                         .headers = {{"X-Forwarded-Method", "GET"},
                                     {"X-Forwarded-Uri", "/"},
                                     {"X-Forwarded-For", "10.0.0.1"},
                                     {"X-Forwarded-For", "203.0.113.9"}}});
  EXPECT_EQ(two_lines.status, 403);
  // Envoy never sets X-Real-IP, and Traefik keeps the copy a balancer it
  // trusts passed on: from them it is the client's own claim, and the last
  // X-Forwarded-For hop, which the proxy appended, counts.
  auto traefik_claim = Call({.method = "GET",
                             .target = "/auth/traefik",
                             .headers = {{"X-Forwarded-Method", "GET"},
                                         {"X-Forwarded-Uri", "/"},
                                         {"X-Real-IP", "198.51.100.2"},
                                         {"X-Forwarded-For", "203.0.113.9"}}});
  EXPECT_EQ(traefik_claim.status, 403);
  auto envoy_claim =
      Call({.method = "GET",
            .target = "/auth/envoy/",
            .headers = {{"X-Real-IP", "198.51.100.2"}, {"X-Forwarded-For", "203.0.113.9"}}});
  EXPECT_EQ(envoy_claim.status, 403);
}

// A call without the field its proxy reports the client by leaves the
// address unknown, and a route's address rules refuse it: the peer is the
// proxy, never the client, and from nginx an X-Forwarded-For is the
// client's own (the subrequest passes it on as it came). Without address
// rules it is decided as always.
TEST_F(ForwardAuthTest, AClientAddressNotReportedIsUnknownNotThePeers) {
  gw_ = Make({{.name = "internal",
               .path_prefix = "/internal",
               .authn = {.mode = AuthnMode::kNone},
               .authz = {.allow_cidrs = {*CidrRange::Parse("10.0.0.0/8")}}},
              {.name = "open", .path_prefix = "/", .authn = {.mode = AuthnMode::kNone}}});
  options_.trusted_proxies.push_back(*CidrRange::Parse("10.0.0.5/32"));
  using Fields = std::vector<std::pair<std::string, std::string>>;
  const auto nginx = [&](std::string_view uri, Fields extra) {
    Fields headers = {{"X-Original-URI", std::string(uri)}, {"X-Original-Method", "GET"}};
    headers.insert(headers.end(), extra.begin(), extra.end());
    return Call({.method = "GET",
                 .target = "/auth/nginx",
                 .headers = std::move(headers),
                 .remote_address = "10.0.0.5"});
  };
  EXPECT_EQ(nginx("/internal/x", {{"X-Real-IP", "10.1.2.3"}}).status, 200);
  EXPECT_EQ(nginx("/internal/x", {{"X-Real-IP", "203.0.113.9"}}).status, 403);
  EXPECT_EQ(nginx("/internal/x", {}).status, 403) << "the proxy's own address";
  EXPECT_EQ(nginx("/internal/x", {{"X-Forwarded-For", "10.9.9.9"}}).status, 403)
      << "the client's claim";
  EXPECT_EQ(nginx("/open", {}).status, 200);
  for (std::string_view endpoint : {"/auth/envoy/internal/x", "/auth/traefik"}) {
    const auto call = [&](Fields extra) {
      Fields headers = {{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/internal/x"}};
      headers.insert(headers.end(), extra.begin(), extra.end());
      return Call({.method = "GET",
                   .target = std::string(endpoint),
                   .headers = std::move(headers),
                   .remote_address = "10.0.0.5"});
    };
    EXPECT_EQ(call({{"X-Forwarded-For", "10.1.2.3"}}).status, 200) << endpoint;
    EXPECT_EQ(call({}).status, 403) << endpoint;
  }
}

// A field that says what is decided may come once: with two, a client's
// copy could be read before the proxy's. nginx gets 403 and the real 400.
// nginx's subrequest is a GET whatever the request, so without
// X-Original-Method nothing is decided.
TEST_F(ForwardAuthTest, FieldsThatSayWhatIsDecidedComeOnce) {
  const std::string token = Bearer(Claims());
  // Each field twice, the second copy naming what the client would want:
  // nginx answers 403 with the real status, Traefik the status itself.
  struct Twice {
    std::string_view target;
    std::string_view field;
    std::string_view value;
  };
  const HeaderList nginx = {
      {"X-Original-URI", "/orders/1"}, {"X-Original-Method", "GET"}, {"X-Real-IP", "198.51.100.2"}};
  const HeaderList traefik = {{"X-Forwarded-Method", "GET"},
                              {"X-Forwarded-Uri", "/orders/1"},
                              {"X-Forwarded-Host", "api.example"}};
  for (const Twice& twice : {Twice{"/auth/nginx", "X-Original-URI", "/admin"},
                             Twice{"/auth/nginx", "X-Original-Method", "POST"},
                             Twice{"/auth/nginx", "X-Real-IP", "203.0.113.9"},
                             Twice{"/auth/traefik", "X-Forwarded-Uri", "/admin"},
                             Twice{"/auth/traefik", "X-Forwarded-Method", "POST"},
                             Twice{"/auth/traefik", "X-Forwarded-Host", "admin.example"}}) {
    const bool is_nginx = twice.target == "/auth/nginx";
    net::HttpRequest request{.method = "GET",
                             .target = std::string(twice.target),
                             .headers = is_nginx ? nginx : traefik};
    request.headers.emplace_back("Authorization", token);
    request.headers.emplace_back(std::string(twice.field), std::string(twice.value));
    auto r = Call(request);
    if (is_nginx) {
      EXPECT_EQ(r.status, 403) << twice.field;
      EXPECT_EQ(Get(r, "X-Bulwark-Status"), "400") << twice.field;
    } else {
      EXPECT_EQ(r.status, 400) << twice.field;
    }
  }
  auto no_method = Call({.method = "GET",
                         .target = "/auth/nginx",
                         .headers = {{"X-Original-URI", "/orders/1"}, {"Authorization", token}}});
  EXPECT_EQ(no_method.status, 403);
  EXPECT_EQ(Get(no_method, "X-Bulwark-Status"), "400");
}

TEST_F(ForwardAuthTest, UntrustedPeersAreRefused) {
  auto r = Call({.method = "GET",
                 .target = "/auth/nginx",
                 .headers = {{"X-Original-URI", "/orders"},
                             {"X-Original-Method", "GET"},
                             {"Authorization", Bearer(Claims())}},
                 .remote_address = "198.51.100.7"});
  EXPECT_EQ(r.status, 403);
  options_.trusted_proxies = {*CidrRange::Parse("198.51.100.0/24")};
  auto trusted = Call({.method = "GET",
                       .target = "/auth/nginx",
                       .headers = {{"X-Original-URI", "/orders"},
                                   {"X-Original-Method", "GET"},
                                   {"Authorization", Bearer(Claims())}},
                       .remote_address = "198.51.100.7"});
  EXPECT_EQ(trusted.status, 200);
}

// nginx's subrequest carries Bulwark's own address as Host: the host
// decided on is X-Original-Host, so a host's route is not passed over for a
// catch-all behind it.
TEST_F(ForwardAuthTest, NginxDecidesOnXOriginalHostNotTheSubrequestsHost) {
  gw_ = Make({{.name = "admin",
               .host = "admin.example",
               .path_prefix = "/",
               .authz = {.roles = {"admin"}}},
              {.name = "public", .path_prefix = "/", .authn = {.mode = AuthnMode::kNone}}});
  const HeaderList asked = {
      {"Host", "127.0.0.1:8080"}, {"X-Original-URI", "/secret"}, {"X-Original-Method", "GET"}};
  net::HttpRequest request{.method = "GET", .target = "/auth/nginx", .headers = asked};
  request.headers.emplace_back("X-Original-Host", "admin.example");
  EXPECT_EQ(Call(request).status, 401);
  request.headers.back().second = "www.example";
  EXPECT_EQ(Call(request).status, 200);
  // Without it nothing is decided, whatever the Host.
  auto without = Call({.method = "GET", .target = "/auth/nginx", .headers = asked}, false);
  EXPECT_EQ(without.status, 403);
  EXPECT_EQ(Get(without, "X-Bulwark-Status"), "400");
}

// The host decided on is checked as the reverse proxy checks Host: one that
// is not a host (two final dots, a list, two ports, userinfo) is refused,
// for each proxy, and so is none.
TEST_F(ForwardAuthTest, AHostThatIsNotOneOrNoneIsRefused) {
  gw_ = Make({{.name = "public", .path_prefix = "/", .authn = {.mode = AuthnMode::kNone}}});
  struct Flavour {
    std::string target;
    std::string host_field;
    HeaderList fields;
  };
  const std::vector<Flavour> flavours = {
      {"/auth/nginx", "X-Original-Host", {{"X-Original-URI", "/x"}, {"X-Original-Method", "GET"}}},
      {"/auth/traefik",
       "X-Forwarded-Host",
       {{"X-Forwarded-Uri", "/x"}, {"X-Forwarded-Method", "GET"}}},
      {"/auth/envoy/x", "Host", {}}};
  for (const Flavour& f : flavours) {
    const bool nginx = f.target == "/auth/nginx";
    for (std::string_view host : {"admin.example..", "admin.example, evil", "admin.example:80:80",
                                  "[admin.example]", "user@admin.example", "a b", ""}) {
      net::HttpRequest request{.method = "GET", .target = f.target, .headers = f.fields};
      request.headers.emplace_back(f.host_field, std::string(host));
      auto r = Call(request, false);
      EXPECT_EQ(r.status, nginx ? 403 : 400) << f.target << " " << host;
      EXPECT_EQ(Get(r, "X-Bulwark-Status"), "400") << f.target << " " << host;
    }
    auto none = Call({.method = "GET", .target = f.target, .headers = f.fields}, false);
    EXPECT_EQ(Get(none, "X-Bulwark-Status"), "400") << f.target;
    net::HttpRequest good{.method = "GET", .target = f.target, .headers = f.fields};
    good.headers.emplace_back(f.host_field, "Www.Example.:8443");
    EXPECT_EQ(Call(good, false).status, 200) << f.target;
  }
}

// A method is a token: a proxy never sends `GET X`, and a route for GET
// must not be matched by a method that only starts like one.
TEST_F(ForwardAuthTest, AMethodThatIsNotATokenIsRefused) {
  gw_ = Make({{.name = "public", .path_prefix = "/", .authn = {.mode = AuthnMode::kNone}}});
  for (std::string_view method : {"GET X", "DELETE GET", "GET\t", "G\"T", "get"}) {
    auto r =
        Call({.method = "GET",
              .target = "/auth/traefik",
              .headers = {{"X-Forwarded-Uri", "/x"}, {"X-Forwarded-Method", std::string(method)}}});
    EXPECT_EQ(r.status, 400) << method;
  }
  EXPECT_EQ(Call({.method = "GET",
                  .target = "/auth/traefik",
                  .headers = {{"X-Forwarded-Uri", "/x"}, {"X-Forwarded-Method", "M-SEARCH"}}})
                .status,
            200);
}

// Refusals before any decision (an untrusted peer, a field twice, none to
// say what to decide) are audited and counted as decisions are.
TEST_F(ForwardAuthTest, RefusalsAreCountedAsDecisions) {
  metrics::MetricsRegistry registry;
  DecisionRecorder recorder(registry, nullptr);
  auto call = [&](net::HttpRequest request) {
    auto r = RunForwardAuth(*gw_, options_, request, nullptr, &recorder);
    ASSERT_TRUE(r.has_value());
  };
  call({.method = "GET",
        .target = "/auth/traefik",
        .headers = {{"X-Forwarded-Uri", "/orders"},
                    {"X-Forwarded-Method", "GET"},
                    {"X-Forwarded-Host", "api.example"}},
        .remote_address = "198.51.100.7"});
  call({.method = "GET",
        .target = "/auth/traefik",
        .headers = {{"X-Forwarded-Uri", "/orders"},
                    {"X-Forwarded-Uri", "/admin"},
                    {"X-Forwarded-Method", "GET"},
                    {"X-Forwarded-Host", "api.example"}},
        .remote_address = "127.0.0.1"});
  call({.method = "GET", .target = "/auth/traefik", .remote_address = "127.0.0.1"});
  const std::string text = registry.RenderPrometheusText();
  EXPECT_NE(
      text.find("bulwark_gateway_requests_total{frontend=\"traefik\",route=\"\",code=\"403\"} 1"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find("bulwark_gateway_requests_total{frontend=\"traefik\",route=\"\",code=\"400\"} 2"),
      std::string::npos)
      << text;
}

// Decisions whose audit events the sink failed to write (a full disk) are
// not lost from sight: /metrics counts them and the failed writes.
TEST_F(ForwardAuthTest, AuditEventsTheSinkFailedToWriteAreCountedInMetrics) {
  class FullDisk : public audit::AuditSink {
   public:
    Status Write(std::string_view) override { return UnavailableError("no space left on device"); }
    Status Flush() override { return OkStatus(); }
  };
  FullDisk sink;
  auto queue = audit::AuditQueue::Create(sink);
  ASSERT_TRUE(queue.has_value());
  metrics::MetricsRegistry registry;
  DecisionRecorder recorder(registry, queue->get());
  ASSERT_TRUE(RunForwardAuth(*gw_, options_, {.method = "GET", .target = "/auth/envoy/orders"},
                             nullptr, &recorder)
                  .has_value());
  (*queue)->Stop();  // the writer has tried every event
  recorder.RefreshAuditGauges();
  const std::string text = registry.RenderPrometheusText();
  EXPECT_NE(text.find("\nbulwark_audit_events_lost 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nbulwark_audit_write_errors 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nbulwark_audit_events_written 0\n"), std::string::npos) << text;
}

// Off unless the config asks for it, and then only for the proxies it names.
TEST_F(ForwardAuthTest, OffUnlessConfiguredWithTheProxiesThatMayCall) {
  EXPECT_FALSE(RunForwardAuth(*gw_, ForwardAuthOptions{},
                              {.method = "GET",
                               .target = "/auth/envoy/orders",
                               .headers = {{"Host", "api.example"}},
                               .remote_address = "127.0.0.1"})
                   .has_value());
  const auto load = [&](const std::string& yaml) {
    auto node = ParseConfig(yaml + "\nroutes: [{name: r, authn: {mode: none}}]\n", "gw.yaml",
                            dir_.string());
    EXPECT_TRUE(node.has_value());
    return GatewayConfigFromNode(*node, dir_.string());
  };
  auto off = load("realm: r");
  ASSERT_TRUE(off.has_value()) << off.error().ToString();
  EXPECT_FALSE(off->forward_auth.enabled);
  auto on = load("forward_auth: {trusted_proxies: [127.0.0.1/32]}");
  ASSERT_TRUE(on.has_value()) << on.error().ToString();
  EXPECT_TRUE(on->forward_auth.enabled);
  for (const std::string yaml : {"forward_auth: {}", "forward_auth: {trusted_proxies: []}"}) {
    auto refused = load(yaml);
    ASSERT_FALSE(refused.has_value()) << yaml;
    EXPECT_NE(refused.error().message().find("forward_auth.trusted_proxies"), std::string::npos)
        << refused.error().message();
  }
}

TEST_F(ForwardAuthTest, ConfigSectionParsesAndErrorsNameTheField) {
  const std::string yaml = R"(
realm: shop
request_id: preserve
pre_auth_rate_limit: {limit: 50, window_ms: 1000, max_keys: 200000}
forward_auth: {trusted_proxies: [10.0.0.0/8]}
issuers:
  - {name: idp, issuer: "https://idp.example", audiences: [api], jwks_file: idp.jwks,
     token_cache_mib: 8}
routes:
  - name: orders
    path_prefix: /orders
    methods: [GET]
    authn: {mode: any_of, credentials: [jwt], issuers: [idp]}
    authz: {scopes: [orders:read], deny_cidrs: [192.0.2.0/24]}
    rate_limit: {key: principal, limit: 10, window_ms: 1000, max_keys: 5000}
    websocket_outlives_token: false   # as the docs' example has it: no websocket, no matter
  - {name: live, path_prefix: /live, authn: {mode: none}, upstream: chat, websocket: true,
     websocket_outlives_token: true}
)";
  auto node = ParseConfig(yaml, "gw.yaml", dir_.string());
  ASSERT_TRUE(node.has_value());
  auto config = GatewayConfigFromNode(*node, dir_.string());
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->options.realm, "shop");
  EXPECT_EQ(config->options.request_id, RequestIdMode::kPreserve);
  ASSERT_EQ(config->options.routes.size(), 2u);
  EXPECT_FALSE(config->options.routes[0].websocket);
  EXPECT_TRUE(config->options.routes[1].websocket);
  EXPECT_FALSE(config->options.routes[0].websocket_outlives_token);
  EXPECT_TRUE(config->options.routes[1].websocket_outlives_token);
  EXPECT_EQ(config->options.issuers[0].jwks_file, (dir_ / "idp.jwks").string());
  EXPECT_EQ(config->options.issuers[0].token_cache_bytes, size_t{8} << 20);
  EXPECT_EQ(config->options.routes[0].rate_limit->max_keys, 5000u);
  EXPECT_EQ(config->options.pre_auth_max_keys, 200000u);
  EXPECT_TRUE(Gateway::Create(config->options, clock_).has_value());

  for (auto [bad, field] : std::vector<std::pair<std::string, std::string>>{
           {"routes: [{name: r, path_prefix: orders}]", "routes[0].path_prefix"},
           {"routes: [{name: r, authz: {deny_cidrs: [10.0.0.1/8]}}]", "deny_cidrs"},
           {"routes: [{name: r, authn: {mode: sometimes}}]", "routes[0].authn.mode"},
           {"routes: [{name: r, authn: {mode: none}, authz: {scopes: [a]}}]", "routes[0].authz"},
           {"issuers: [{name: i, issuer: x, audiences: [], jwks_file: f}]", "audiences"},
           {"realm: 'a\"b'", "realm"},
           {"routes: [{name: r, authz: {scopes: ['a\"b']}}]", "routes[0].authz.scopes"},
           {"routes: [{name: r, authz: {scopes: ['c d']}}]", "routes[0].authz.scopes"},
           {"request_id: keep", "request_id"},
           {"pre_auth_rate_limit: {limit: 5, window_ms: 1000, max_keys: 0}", "max_keys"},
           {"routes: [{name: r, rate_limit: {key: route, limit: 5, window_ms: 9, max_keys: x}}]",
            "routes[0].rate_limit.max_keys"},
           {"issuers: [{name: i, issuer: x, audiences: [a], jwks_file: f, token_cache_mib: -1}]",
            "token_cache_mib"},
           {"routes: [{name: r, websocket: true}]", "routes[0].websocket"},
           {"routes: [{name: r, websocket: maybe, upstream: u}]", "routes[0].websocket"},
           {"routes: [{name: r, upstream: u, websocket_outlives_token: true}]",
            "routes[0].websocket_outlives_token"},
           {"routes: [{name: r, upstream: u, websocket: false, websocket_outlives_token: true}]",
            "routes[0].websocket_outlives_token"},
           {"routes: [{name: r, upstream: u, websocket: true, websocket_outlives_token: 1}]",
            "routes[0].websocket_outlives_token"},
           {"upstreams: [{name: u, address: 'a:1', tunnel_idle_timeout_ms: 0}]",
            "tunnel_idle_timeout_ms"},
           // A name labels metrics, audit records and a RateLimit policy.
           {"routes: [{name: '', authn: {mode: none}}]", "routes[0].name"},
           {"routes: [{name: a, authn: {mode: none}}, {name: A, authn: {mode: none}}]",
            "routes[1].name"},
           {"routes: [{name: Pre-Auth, authn: {mode: none}}]", "routes[0].name"},
           {"rotues: []", "rotues"}}) {
    auto n = ParseConfig(bad, "gw.yaml", dir_.string());
    ASSERT_TRUE(n.has_value()) << bad;
    auto c = GatewayConfigFromNode(*n, dir_.string());
    ASSERT_FALSE(c.has_value()) << bad;
    EXPECT_NE(c.error().message().find(field), std::string::npos) << c.error().message();
    EXPECT_NE(c.error().message().find("gw.yaml:"), std::string::npos) << c.error().message();
  }
}

}  // namespace
}  // namespace bulwark::gateway::testing

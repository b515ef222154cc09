// The gateway decision: each attack refused with its status, the good path
// allowed with the identity it proves.
#include "gateway/gateway.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway_fixture.h"
#include "jose/base64url.h"

namespace bulwark::gateway::testing {
namespace {

TEST(ForwardedPathTest, ReplacesTheMatchedSegmentsSegmentBySegment) {
  const Route v1{.name = "v1", .path_prefix = "/api/orders", .prefix_rewrite = "/v1"};
  EXPECT_EQ(ForwardedPath(v1, "/api/orders/7"), "/v1/7");
  EXPECT_EQ(ForwardedPath(v1, "/api/orders"), "/v1");
  EXPECT_EQ(ForwardedPath(v1, "/api/orders/"), "/v1/");
  EXPECT_EQ(ForwardedPath(v1, "/api;v=2/orders;x/7;y"), "/v1/7;y")
      << "the parameters of the segments replaced go with them";
  const Route strip{.name = "strip", .path_prefix = "/orders/", .prefix_rewrite = ""};
  EXPECT_EQ(ForwardedPath(strip, "/orders/7/items"), "/7/items");
  EXPECT_EQ(ForwardedPath(strip, "/orders"), "/");
  EXPECT_EQ(ForwardedPath(strip, "/orders/"), "/");
  const Route under_root{.name = "all", .path_prefix = "/", .prefix_rewrite = "/svc"};
  EXPECT_EQ(ForwardedPath(under_root, "/"), "/svc/");
  EXPECT_EQ(ForwardedPath(under_root, "/a"), "/svc/a");
  const Route kept{.name = "kept", .path_prefix = "/orders"};
  EXPECT_EQ(ForwardedPath(kept, "/orders;v=2/7"), "/orders;v=2/7");
}

Route Orders() {
  return {.name = "orders", .path_prefix = "/orders", .authz = {.scopes = {"orders:read"}}};
}
Route Admin() { return {.name = "admin", .path_prefix = "/admin", .authz = {.roles = {"admin"}}}; }
Route Public() {
  return {.name = "public", .path_prefix = "/public", .authn = {.mode = AuthnMode::kNone}};
}

TEST_F(GatewayTest, AllowsValidTokenAndForwardsItsIdentity) {
  auto gw = Make({Orders()});
  Decision d = Decide(*gw, "GET", "/orders/7?full=1", Bearer(Claims()));
  EXPECT_EQ(d.status, 200) << d.reason;
  EXPECT_EQ(d.route_name(), "orders");
  EXPECT_EQ(d.path, "/orders/7");
  EXPECT_EQ(d.query, "full=1");
  ASSERT_NE(d.principal, nullptr);
  EXPECT_EQ(d.principal->subject(), "alice");
  EXPECT_EQ(HeaderOf(d.identity_headers(), "X-Bulwark-Subject"), "alice");
  EXPECT_EQ(HeaderOf(d.identity_headers(), "X-Bulwark-Issuer"), "idp");
  EXPECT_EQ(HeaderOf(d.identity_headers(), "X-Bulwark-Scopes"), "orders:read orders:write");
  EXPECT_EQ(HeaderOf(d.identity_headers(), "X-Bulwark-Roles"), "clerk");
  // What the proxy writes to the upstream: the same headers, as lines.
  EXPECT_EQ(d.principal->identity_fields(),
            "X-Bulwark-Subject: alice\r\nX-Bulwark-Issuer: idp\r\n"
            "X-Bulwark-Scopes: orders:read orders:write\r\nX-Bulwark-Roles: clerk\r\n"
            "X-Bulwark-Credential: jwt\r\n");
}

// A JWT's principal ends when the token would be refused: its exp and the
// issuer's leeway (60 s here) passed. A tunnel it opened is cut then.
TEST_F(GatewayTest, ATokensPrincipalEndsWhenTheTokenWouldBeRefused) {
  auto gw = Make({Orders()});
  Decision d = Decide(*gw, "GET", "/orders/7", Bearer(Claims()));
  ASSERT_NE(d.principal, nullptr) << d.reason;
  EXPECT_EQ(d.principal->ends_at(), kNow + 600 + 60);
  clock_.Advance(std::chrono::seconds(659));
  EXPECT_TRUE(gw->PrincipalUnexpired(*d.principal));
  EXPECT_EQ(Decide(*gw, "GET", "/orders/7", Bearer(Claims())).status, 200);
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_FALSE(gw->PrincipalUnexpired(*d.principal));
  EXPECT_EQ(Decide(*gw, "GET", "/orders/7", Bearer(Claims())).status, 401)
      << "the principal ends with the token's acceptance, not before or after";
}

// The token a request was allowed on is the gateway's to keep unless its
// issuer says to forward it; a request that sent none has none to keep.
TEST_F(GatewayTest, AVerifiedTokenGoesOnOnlyIfItsIssuerForwardsTokens) {
  GatewayOptions options = Options({Orders(), Public()});
  options.issuers[1].forward_token = true;  // "other"
  auto gw = Gateway::Create(std::move(options), clock_);
  ASSERT_TRUE(gw.has_value()) << gw.error().ToString();
  Decision kept = Decide(**gw, "GET", "/orders/7", Bearer(Claims()));
  EXPECT_EQ(kept.status, 200) << kept.reason;
  EXPECT_TRUE(kept.bearer_token_consumed);
  boost::json::object claims = Claims();
  claims["iss"] = "https://other.example";
  Decision forwarded =
      Decide(**gw, "GET", "/orders/7", "Bearer " + *jose::SignJwt(*other_key_, claims));
  EXPECT_EQ(forwarded.status, 200) << forwarded.reason;
  EXPECT_FALSE(forwarded.bearer_token_consumed);
  // A public route reads no credential: the client's Authorization is its own.
  EXPECT_FALSE(Decide(**gw, "GET", "/public/x", Bearer(Claims())).bearer_token_consumed);
}

// Routes and forward_token name issuers: two of one name would make either
// mean both.
TEST_F(GatewayTest, RefusesTwoIssuersOfOneName) {
  GatewayOptions options = Options({Orders()});
  options.issuers[1].name = "idp";
  options.issuers[1].forward_token = true;
  auto gw = Gateway::Create(std::move(options), clock_);
  ASSERT_FALSE(gw.has_value());
  EXPECT_NE(gw.error().message().find("'idp' is named twice"), std::string::npos)
      << gw.error().message();
}

// API keys' principals carry the issuer `api-key`: an issuer of that name
// would pass its tokens' subjects off as keys' (and share their limits).
TEST_F(GatewayTest, RefusesAnIssuerNamedAsApiKeys) {
  GatewayOptions options = Options({Orders()});
  options.issuers[1].name = "api-key";
  auto gw = Gateway::Create(std::move(options), clock_);
  ASSERT_FALSE(gw.has_value());
  EXPECT_NE(gw.error().message().find("'api-key'"), std::string::npos) << gw.error().message();
}

// Limits by principal key a caller by `<issuer name>/<subject>`: a name
// with a '/' could make two issuers' subjects one key, one quota.
TEST_F(GatewayTest, RefusesAnIssuerNameWithASlash) {
  GatewayOptions options = Options({Orders()});
  options.issuers[1].name = "corp/partners";
  EXPECT_THAT(RefusalOf(std::move(options)), ::testing::HasSubstr("a name holds no '/'"));
}

// A token finds its issuer by `iss`: a second issuer of the same `iss` (one
// provider listed twice, say with another audience) would never be tried.
TEST_F(GatewayTest, RefusesTwoIssuersOfOneIss) {
  GatewayOptions options = Options({Orders()});
  options.issuers[1].issuer = options.issuers[0].issuer;
  EXPECT_THAT(RefusalOf(std::move(options)), ::testing::HasSubstr("have the same issuer"));
}

TEST_F(GatewayTest, MissingCredentialsGet401WithBearerChallenge) {
  auto gw = Make({Orders()});
  Decision d = Decide(*gw, "GET", "/orders");
  EXPECT_EQ(d.status, 401);
  EXPECT_EQ(HeaderOf(d.response_fields, "WWW-Authenticate"), "Bearer realm=\"bulwark\"");
}

TEST_F(GatewayTest, RefusesBadTokensWith401InvalidToken) {
  auto gw = Make({Orders()});
  auto expired = Claims();
  expired["exp"] = kNow - 3600;
  auto wrong_aud = Claims();
  wrong_aud["aud"] = "billing";
  auto no_sub = Claims();
  no_sub.erase("sub");
  auto header_injection = Claims();
  header_injection["sub"] = "alice\r\nX-Bulwark-Roles: admin";
  // A field value has no surrounding whitespace (RFC 9110 section 5.5): the
  // service would read " alice" as alice, whom rules here do not match.
  auto padded = Claims();
  padded["sub"] = " alice";
  auto padded_after = Claims();
  padded_after["sub"] = "alice ";
  std::string forged = Token(Claims());
  forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
  // An attacker's key with the issuer's kid and name, and alg none.
  auto attacker = jose::Jwk::Generate(jose::JwsAlgorithm::kES256, "idp-1").value();
  const std::string none = jose::Base64UrlEncode(R"({"alg":"none","kid":"idp-1"})") + "." +
                           jose::Base64UrlEncode(boost::json::serialize(Claims())) + ".";
  // Key confusion: HS256 whose secret is the issuer's public key JSON.
  const std::string pub = idp_key_->PublicJwk()->ToJson();
  auto confused_key = jose::Jwk::Parse(R"({"kty":"oct","alg":"HS256","kid":"idp-1","k":")" +
                                       jose::Base64UrlEncode(pub) + "\"}")
                          .value();
  for (const std::string& token :
       {Token(expired), Token(wrong_aud), Token(no_sub), Token(header_injection), Token(padded),
        Token(padded_after), forged, *jose::SignJwt(attacker, Claims()), none,
        *jose::SignJwt(confused_key, Claims()), std::string("not.a.jwt")}) {
    Decision d = Decide(*gw, "GET", "/orders", "Bearer " + token);
    EXPECT_EQ(d.status, 401) << token;
    EXPECT_EQ(HeaderOf(d.response_fields, "WWW-Authenticate"),
              "Bearer realm=\"bulwark\", error=\"invalid_token\"");
    EXPECT_EQ(d.principal, nullptr);
  }
}

// RFC 6750 section 3.1: another scheme is no credential (a bare challenge);
// a Bearer credential of the wrong shape is a bad request.
TEST_F(GatewayTest, NonBearerAuthorizationGetsAChallengeAndAMalformedBearer400) {
  auto gw = Make({Orders()});
  Decision d = Decide(*gw, "GET", "/orders", "Basic YWxpY2U6cHc=");
  EXPECT_EQ(d.status, 401);
  EXPECT_EQ(HeaderOf(d.response_fields, "WWW-Authenticate"), "Bearer realm=\"bulwark\"");
  const std::string token = Bearer(Claims()).substr(7);
  for (const std::string& auth :
       {"Bearer\t" + token, "Bearer " + token.substr(0, 20) + " " + token.substr(20),
        "Bearer " + token.substr(0, 20) + "\t" + token.substr(20),
        "Bearer " + token.substr(0, 20) + "," + token.substr(20), std::string("Bearer"),
        std::string("bearer ")}) {
    d = Decide(*gw, "GET", "/orders", auth);
    EXPECT_EQ(d.status, 400) << auth;
    EXPECT_EQ(HeaderOf(d.response_fields, "WWW-Authenticate"),
              "Bearer realm=\"bulwark\", error=\"invalid_request\"")
        << auth;
    EXPECT_EQ(d.principal, nullptr);
  }
}

// Two of a credential field, on any route, public ones too: the gateway
// and the service might each take another.
TEST_F(GatewayTest, TwoAuthorizationHeadersAreABadRequest) {
  auto gw = Make({Orders(), Public()});
  const std::string auth = Bearer(Claims());
  for (const char* target : {"/orders", "/public/x"}) {
    Decision d = gw->Decide({.method = "GET",
                             .host = "h",
                             .target = target,
                             .authorization = auth,
                             .authorization_count = 2});
    EXPECT_EQ(d.status, 400) << target;
    EXPECT_EQ(d.reason, "more than one Authorization header") << target;
    d = gw->Decide({.method = "GET", .host = "h", .target = target, .api_key_count = 2});
    EXPECT_EQ(d.status, 400) << target;
    EXPECT_EQ(d.reason, "more than one X-Api-Key header") << target;
  }
}

TEST_F(GatewayTest, MissingScopeGets403WithInsufficientScope) {
  auto gw = Make({Orders()});
  auto claims = Claims();
  claims["scope"] = "orders:write";
  Decision d = Decide(*gw, "GET", "/orders", Bearer(claims));
  EXPECT_EQ(d.status, 403);
  EXPECT_EQ(d.reason, "missing scope");
  EXPECT_EQ(HeaderOf(d.response_fields, "WWW-Authenticate"),
            "Bearer realm=\"bulwark\", error=\"insufficient_scope\", scope=\"orders:read\"");
}

TEST_F(GatewayTest, RoleRuleNeedsTheRole) {
  auto gw = Make({Admin()});
  EXPECT_EQ(Decide(*gw, "GET", "/admin", Bearer(Claims())).status, 403);
  auto admin = Claims();
  admin["roles"] = boost::json::array{"clerk", "admin"};
  EXPECT_EQ(Decide(*gw, "GET", "/admin", Bearer(admin)).status, 200);
}

// A role may hold a space (Keycloak allows it) or a comma, and a scope may
// not hold a space: the service splitting X-Bulwark-Roles or -Scopes on
// spaces, or the roles on commas as a list-valued field, must never read
// one the principal does not hold.
TEST_F(GatewayTest, NoRoleOrScopeReadsAsAnotherInTheIdentityFields) {
  auto gw = Make({{.name = "orders", .path_prefix = "/orders"}, Admin()});
  auto claims = Claims();
  claims["roles"] =
      boost::json::array{"Realm Viewer", "viewer admin", "100%", "clerk", "viewer,admin"};
  claims.erase("scope");
  claims["scp"] = boost::json::array{"orders:read", "x orders:write"};
  Decision d = Decide(*gw, "GET", "/orders", Bearer(claims));
  ASSERT_EQ(d.status, 200) << d.reason;
  EXPECT_EQ(HeaderOf(d.identity_headers(), "X-Bulwark-Roles"),
            "Realm%20Viewer viewer%20admin 100%25 clerk viewer%2Cadmin");
  EXPECT_EQ(HeaderOf(d.identity_headers(), "X-Bulwark-Scopes"), "orders:read");
  EXPECT_EQ(Decide(*gw, "GET", "/admin", Bearer(claims)).status, 403) << "no role `admin`";
  claims["roles"] = boost::json::array{"Realm Viewer", "admin"};
  EXPECT_EQ(Decide(*gw, "GET", "/admin", Bearer(claims)).status, 200);
}

TEST_F(GatewayTest, RolesMayComeFromANestedClaimOfTheirIssuer) {
  auto gw = Make({Admin()});
  boost::json::object claims = {{"iss", "https://other.example"},
                                {"sub", "bob"},
                                {"aud", "api"},
                                {"exp", kNow + 60},
                                {"realm_access", {{"roles", boost::json::array{"admin"}}}}};
  Decision d = Decide(*gw, "GET", "/admin", "Bearer " + *jose::SignJwt(*other_key_, claims));
  EXPECT_EQ(d.status, 200) << d.reason;
  EXPECT_EQ(d.principal->issuer(), "other");
}

TEST_F(GatewayTest, RouteMayRestrictIssuers) {
  Route route = Admin();
  route.authz = {};
  route.authn.jwt_issuers = {"idp"};
  auto gw = Make({route});
  boost::json::object claims = {
      {"iss", "https://other.example"}, {"sub", "bob"}, {"aud", "api"}, {"exp", kNow + 60}};
  EXPECT_EQ(Decide(*gw, "GET", "/admin", "Bearer " + *jose::SignJwt(*other_key_, claims)).status,
            401);
  EXPECT_EQ(Decide(*gw, "GET", "/admin", Bearer(Claims())).status, 200);
}

TEST_F(GatewayTest, DeniedAddressOverridesAllowedPrincipal) {
  Route route = Orders();
  route.authn.jwt_issuers = {"idp"};
  route.authz.principals = {"alice"};
  route.authz.deny_cidrs = {*CidrRange::Parse("192.0.2.0/24")};
  auto gw = Make({route});
  Decision d = Decide(*gw, "GET", "/orders", Bearer(Claims()), "192.0.2.7");
  EXPECT_EQ(d.status, 403);
  EXPECT_EQ(d.reason, "client address denied");
  EXPECT_EQ(Decide(*gw, "GET", "/orders", Bearer(Claims()), "198.51.100.1").status, 200);
  // The same address written as IPv4-mapped IPv6 is still denied.
  EXPECT_EQ(Decide(*gw, "GET", "/orders", Bearer(Claims()), "::ffff:192.0.2.7").status, 403);
}

TEST_F(GatewayTest, AllowListAdmitsOnlyItsAddresses) {
  Route route = Public();
  route.authz.allow_cidrs = {*CidrRange::Parse("10.0.0.0/8"), *CidrRange::Parse("2001:db8::/32")};
  auto gw = Make({route});
  EXPECT_EQ(Decide(*gw, "GET", "/public", "", "10.1.2.3").status, 200);
  EXPECT_EQ(Decide(*gw, "GET", "/public", "", "2001:db8::1").status, 200);
  EXPECT_EQ(Decide(*gw, "GET", "/public", "", "11.0.0.1").status, 403);
  EXPECT_EQ(Decide(*gw, "GET", "/public", "", "").status, 403);
}

TEST_F(GatewayTest, PrincipalPatternsMatchExactlyOrByPrefix) {
  Route route = Orders();
  route.authn.jwt_issuers = {"idp"};
  route.authz.scopes.clear();
  route.authz.principals = {"svc-*", "carol"};
  auto gw = Make({route});
  for (auto [sub, status] : std::vector<std::pair<std::string, int>>{
           {"svc-billing", 200}, {"carol", 200}, {"carol2", 403}, {"alice", 403}}) {
    auto claims = Claims();
    claims["sub"] = sub;
    EXPECT_EQ(Decide(*gw, "GET", "/orders", Bearer(claims)).status, status) << sub;
  }
}

// A SPIFFE ID only as a verified certificate carries it: a token whose `sub`
// says one is not that workload.
TEST_F(GatewayTest, ATokensSubjectIsNeverASpiffeId) {
  Route route = Orders();
  route.authz.scopes.clear();
  route.authn.credentials = {CredentialKind::kJwt, CredentialKind::kMtls};
  route.authz.principals = {"spiffe://prod.example/ns/shop/*"};
  auto gw = Make({route});
  auto claims = Claims();
  claims["sub"] = "spiffe://prod.example/ns/shop/cart";
  Decision d = Decide(*gw, "GET", "/orders", Bearer(claims));
  EXPECT_EQ(d.status, 403);
  EXPECT_EQ(d.reason, "principal not allowed");
}

// A subject is unique only within its issuer: a route that names subjects
// takes them from one issuer and one kind of credential, or another
// issuer's token (or an API key) of the same `sub` would pass as them.
TEST_F(GatewayTest, PrincipalsThatNameSubjectsNeedOneIssuer) {
  constexpr std::string_view kSubjects = "unique only within the issuer";
  Route any_issuer = Orders();
  any_issuer.authz.principals = {"alice"};
  EXPECT_THAT(RefusalOf(Options({any_issuer})), ::testing::HasSubstr(kSubjects));

  Route two_issuers = any_issuer;
  two_issuers.authn.jwt_issuers = {"idp", "other"};
  EXPECT_THAT(RefusalOf(Options({two_issuers})), ::testing::HasSubstr(kSubjects));

  Route token_or_certificate = any_issuer;
  token_or_certificate.authn.jwt_issuers = {"idp"};
  token_or_certificate.authn.credentials = {CredentialKind::kJwt, CredentialKind::kMtls};
  EXPECT_THAT(RefusalOf(Options({token_or_certificate})), ::testing::HasSubstr(kSubjects));

  // A SPIFFE ID on a route that takes no certificate could never match.
  Route spiffe_without_certificates = any_issuer;
  spiffe_without_certificates.authz.principals = {"spiffe://prod.example/ns/shop/*"};
  EXPECT_THAT(RefusalOf(Options({spiffe_without_certificates})),
              ::testing::HasSubstr("only a client certificate carries"));

  // A prefix within the trust domain spans others
  // (spiffe://prod.example.evil/...): refused; one within the path is not.
  for (const char* pattern : {"spiffe://prod.example*", "spiffe://prod*", "spiffe://*"}) {
    Route wide = any_issuer;
    wide.authn.credentials = {CredentialKind::kMtls};
    wide.authz.principals = {pattern};
    EXPECT_THAT(RefusalOf(Options({wide})), ::testing::HasSubstr("every trust domain")) << pattern;
  }
  Route segment = any_issuer;
  segment.authn.credentials = {CredentialKind::kMtls};
  segment.authz.principals = {"spiffe://prod.example/ns/shop/sa/web-*"};
  EXPECT_EQ(RefusalOf(Options({segment})), "");

  // One issuer (named twice is still one); a token bound to a certificate
  // (all_of: the principal is the token's); SPIFFE IDs alone, whatever the
  // issuers.
  Route one_issuer = any_issuer;
  one_issuer.authn.jwt_issuers = {"idp", "idp"};
  Route bound = token_or_certificate;
  bound.authn.mode = AuthnMode::kAllOf;
  Route spiffe = any_issuer;
  spiffe.authn.credentials = {CredentialKind::kJwt, CredentialKind::kMtls};
  spiffe.authz.principals = {"spiffe://prod.example/ns/shop/*"};
  for (const Route& route : {one_issuer, bound, spiffe}) {
    EXPECT_EQ(RefusalOf(Options({route})), "");
  }
  one_issuer.authn.jwt_issuers = {"idp"};
  // The other issuer's token of the same `sub` is not alice.
  auto gw_one = Make({one_issuer});
  boost::json::object claims = {
      {"iss", "https://other.example"}, {"sub", "alice"}, {"aud", "api"}, {"exp", kNow + 60}};
  EXPECT_EQ(
      Decide(*gw_one, "GET", "/orders", "Bearer " + *jose::SignJwt(*other_key_, claims)).status,
      401);
}

TEST_F(GatewayTest, UnmatchedRequestsAreDeniedByDefault) {
  auto gw = Make({Orders()});
  EXPECT_EQ(Decide(*gw, "GET", "/orders-export", Bearer(Claims())).status, 404);
  EXPECT_EQ(Decide(*gw, "GET", "/", Bearer(Claims())).status, 404);
}

TEST_F(GatewayTest, MethodsAndHostNarrowARoute) {
  Route route = Orders();
  route.methods = {"GET"};
  route.host = "API.example";
  auto gw = Make({route});
  EXPECT_EQ(Decide(*gw, "GET", "/orders", Bearer(Claims())).status, 200);
  EXPECT_EQ(Decide(*gw, "DELETE", "/orders", Bearer(Claims())).status, 404);
  EXPECT_EQ(gw->Decide({.method = "GET",
                        .host = "api.example:8443",
                        .target = "/orders",
                        .authorization = Bearer(Claims()),
                        .authorization_count = 1})
                .status,
            200);
  EXPECT_EQ(gw->Decide({.method = "GET", .host = "evil.example", .target = "/orders"}).status, 404);
}

// A fully qualified name's trailing dot names the same host (services such
// as nginx match it so), so it cannot route a request past the route bound
// to that host onto a catch-all one. (Hosts with empty labels, `a..b`, are
// refused before any route: net's CheckAuthority.)
TEST_F(GatewayTest, AHostsTrailingDotRoutesToThatHost) {
  Route admin = Admin();
  admin.host = "admin.example";
  Route rest = Public();
  rest.path_prefix = "/";
  auto gw = Make({admin, rest});
  for (const char* host : {"admin.example", "ADMIN.example.", "admin.example.:443"}) {
    const Decision d = gw->Decide({.method = "GET", .host = host, .target = "/admin"});
    EXPECT_EQ(d.status, 401) << host;
    EXPECT_EQ(d.route_name(), admin.name) << host;
  }
  EXPECT_EQ(gw->Decide({.method = "GET", .host = "xadmin.example", .target = "/admin"}).status,
            200);
}

// An IPv6 address has many spellings (`[0:0::1]`, `[::0:1]`,
// `[0000::0001]`); each is the route's host, not a host for the catch-all
// route, and the policies see it in RFC 5952's form.
TEST_F(GatewayTest, AnIpv6HostRoutesToItsAddressInAnySpelling) {
  Route admin = Admin();
  admin.host = RoutedHostName("[0:0:0:0:0:0:0:1]");
  EXPECT_EQ(admin.host, "[::1]");
  Route rest = Public();
  rest.path_prefix = "/";
  auto gw = Make({admin, rest});
  for (const char* host : {"[::1]", "[0:0::1]", "[0000::0001]:8443", "[::0:0:1]"}) {
    const Decision d = gw->Decide({.method = "GET", .host = host, .target = "/admin"});
    EXPECT_EQ(d.status, 401) << host;
    EXPECT_EQ(d.route_name(), admin.name) << host;
    EXPECT_EQ(RoutedHostName(host), "[::1]") << host;
  }
  EXPECT_EQ(RoutedHostName("[FE80::A:0:0:1]:80"), "[fe80::a:0:0:1]");
  EXPECT_EQ(gw->Decide({.method = "GET", .host = "[::2]", .target = "/admin"}).status, 200);
}

// Behind load balancers named in trusted_proxies the client is the last
// X-Forwarded-For hop that is not one of them; what a client wrote before
// counts for nothing, nor does the field from any other peer. Without the
// field, or with a hop that is no address, the client is unknown, never
// the balancer.
TEST_F(GatewayTest, TheClientAddressBehindTrustedProxies) {
  GatewayOptions options = Options({Public()});
  options.trusted_proxies = {*CidrRange::Parse("10.0.0.0/24"), *CidrRange::Parse("fd00::/64")};
  auto gw = std::move(*Gateway::Create(std::move(options), clock_));
  const auto client = [&](std::string_view peer, HeaderList headers) {
    return std::string(gw->ClientAddress(peer, headers));
  };
  EXPECT_EQ(client("10.0.0.5", {{"X-Forwarded-For", "198.51.100.7"}}), "198.51.100.7");
  EXPECT_EQ(client("10.0.0.5", {{"X-Forwarded-For", "203.0.113.1, 198.51.100.7"}}), "198.51.100.7");
  EXPECT_EQ(client("10.0.0.5", {{"x-forwarded-for", "198.51.100.7,\t10.0.0.9"}}), "198.51.100.7");
  EXPECT_EQ(client("fd00::2", {{"X-Forwarded-For", "203.0.113.1"},
                               {"X-Forwarded-For", "2001:db8::7, fd00::3"}}),
            "2001:db8::7");
  EXPECT_EQ(client("10.0.0.5", {{"X-Forwarded-For", "10.0.0.7"}, {"X-Forwarded-For", "10.0.0.8"}}),
            "");
  EXPECT_EQ(client("10.0.0.5", {}), "");
  EXPECT_EQ(client("10.0.0.5", {{"X-Forwarded-For", "unknown"}}), "");
  EXPECT_EQ(client("10.0.0.5", {{"X-Forwarded-For", "198.51.100.7:4711"}}), "");
  EXPECT_EQ(client("192.0.2.9", {{"X-Forwarded-For", "198.51.100.7"}}), "192.0.2.9");
  EXPECT_TRUE(gw->TrustsProxy("10.0.0.200"));
  EXPECT_FALSE(gw->TrustsProxy("10.0.1.1"));

  auto untrusting = Make({Public()});
  EXPECT_EQ(untrusting->ClientAddress("10.0.0.5", {{"X-Forwarded-For", "198.51.100.7"}}),
            "10.0.0.5");
}

// DELETE of orders, which needs a token, and a public route for the rest.
std::vector<Route> DeleteOfOrdersBesideAPublicRest() {
  Route orders = Orders();
  orders.methods = {"DELETE"};
  Route rest = Public();
  rest.path_prefix = "/";
  return {orders, rest};
}

// Paths match case-sensitively (RFC 3986), so `/ADMIN` is not under a
// route for `/admin` and goes to the next that matches; a route that is not
// case_sensitive, for a service that takes `/ADMIN` for `/admin`, holds it
// in any case, and its prefix rewrite too.
TEST_F(GatewayTest, ARouteThatIsNotCaseSensitiveHoldsItsPathInAnyCase) {
  Route admin = Admin();
  Route rest = Public();
  rest.path_prefix = "/";
  auto strict = Make({admin, rest});
  EXPECT_EQ(Decide(*strict, "GET", "/admin/users").status, 401);
  EXPECT_EQ(Decide(*strict, "GET", "/ADMIN/users").route_name(), "public");

  admin.case_sensitive = false;
  auto any_case = Make({admin, rest});
  for (const char* path : {"/admin/users", "/ADMIN/users", "/Admin;x=1/users", "/aDmIn"}) {
    const Decision d = Decide(*any_case, "GET", path);
    EXPECT_EQ(d.status, 401) << path;
    EXPECT_EQ(d.route_name(), "admin") << path;
  }
  EXPECT_EQ(Decide(*any_case, "GET", "/ADMINISTRATOR").route_name(), "public");

  admin.prefix_rewrite = "/v1";
  EXPECT_EQ(ForwardedPath(admin, "/ADMIN/Users"), "/v1/Users");
}

TEST_F(GatewayTest, AMethodInLowerCaseIsRefusedNotRoutedPastItsRule) {
  // The public route would take `delete` (no DELETE route matches it) and a
  // service that upper-cases methods would run it as the DELETE the orders
  // route keeps to its scope.
  auto gw = Make(DeleteOfOrdersBesideAPublicRest());
  EXPECT_EQ(Decide(*gw, "DELETE", "/orders/1").status, 401);
  for (const char* method : {"delete", "Delete", "dELETE", "get"}) {
    Decision d = Decide(*gw, method, "/orders/1");
    EXPECT_EQ(d.status, 400) << method;
    EXPECT_EQ(d.route_name(), "") << method;
  }
  // Upper-case extension methods (WebDAV's) are routed as any other.
  EXPECT_EQ(Decide(*gw, "VERSION-CONTROL", "/x").status, 200);
}

// TRACE would have the service echo what the gateway adds (the identity
// fields, the signed identity) to the client, on any route, public ones
// too; TRACK is IIS's TRACE. CONNECT (named by a proxy in front; the
// listener refuses its own) asks for a tunnel elsewhere.
TEST_F(GatewayTest, TraceAndConnectAreNotPassedOn) {
  auto gw = Make(DeleteOfOrdersBesideAPublicRest());
  for (const char* method : {"TRACE", "TRACK", "CONNECT"}) {
    Decision d = Decide(*gw, method, "/x", Bearer(Claims()));
    EXPECT_EQ(d.status, 501) << method;
    EXPECT_FALSE(d.allowed()) << method;
    EXPECT_EQ(d.principal, nullptr) << method;
  }
  EXPECT_EQ(Decide(*gw, "GET", "/x").status, 200);
}

// A field asking the service to run another method or path than the one
// decided on is refused on every route, public ones too: the public route
// here would pass a POST that a framework then runs as the DELETE the
// orders route keeps to its scope, or serves as the admin path.
TEST_F(GatewayTest, AFieldThatOverridesTheMethodOrPathIsRefused) {
  auto gw = Make(DeleteOfOrdersBesideAPublicRest());
  const auto decide = [&](const HeaderList& headers) {
    RequestFacts facts{.method = "POST", .target = "/orders/1"};
    facts.host = FillCredentialFacts(headers, facts);
    return gw->Decide(facts);
  };
  EXPECT_EQ(decide({{"Host", "api.example"}, {"Accept", "*/*"}}).status, 200);
  for (const char* name : {"X-HTTP-Method-Override", "x-http-method", "X-Method-Override",
                           "X-ORIGINAL-URL", "X-Rewrite-Url"}) {
    const Decision d = decide({{"Host", "api.example"}, {name, "DELETE"}});
    EXPECT_EQ(d.status, 400) << name;
    EXPECT_THAT(d.reason, ::testing::HasSubstr(name));
    EXPECT_EQ(d.route_name(), "") << name;
  }
  // Names that only begin or end like them are any other field.
  for (const char* name : {"X-HTTP-Methods", "X-Original-URLs", "X-Method", "Method-Override"}) {
    EXPECT_EQ(decide({{name, "DELETE"}}).status, 200) << name;
  }
}

TEST_F(GatewayTest, PathTricksRouteToTheRouteTheyReallyTarget) {
  auto gw = Make({Public(), Admin()});
  // Each shape is judged as /admin (so it needs credentials), never as /public.
  for (const char* target : {"/public/../admin", "/public/%2e%2e/admin", "//admin",
                             "/public/./../admin/", "/./admin", "/public/%2E%2e/./admin"}) {
    Decision d = Decide(*gw, "GET", target);
    EXPECT_EQ(d.route_name(), "admin") << target;
    EXPECT_EQ(d.status, 401) << target;
  }
  // These are refused outright.
  for (const char* target :
       {"/public/..%2Fadmin", "/public%2fadmin", "/public/%00", "/public\\..\\admin", "/a#frag",
        "/public/%C0%AF", "/public/..;/admin"}) {
    Decision d = Decide(*gw, "GET", target);
    EXPECT_EQ(d.status, 400) << target;
    EXPECT_EQ(d.route_name(), "") << target;
  }
}

TEST_F(GatewayTest, OptionalAuthnAcceptsNoneButNotABadToken) {
  Route route = Public();
  route.authn.mode = AuthnMode::kOptional;
  auto gw = Make({route});
  EXPECT_EQ(Decide(*gw, "GET", "/public").status, 200);
  Decision with = Decide(*gw, "GET", "/public", Bearer(Claims()));
  EXPECT_EQ(with.status, 200);
  EXPECT_NE(with.principal, nullptr);
  EXPECT_EQ(Decide(*gw, "GET", "/public", "Bearer x.y.z").status, 401);
}

TEST_F(GatewayTest, PublicRouteIgnoresCredentials) {
  auto gw = Make({Public()});
  Decision d = Decide(*gw, "GET", "/public", "Bearer garbage");
  EXPECT_EQ(d.status, 200);
  EXPECT_EQ(d.principal, nullptr);
  EXPECT_TRUE(d.identity_headers().empty());
}

TEST_F(GatewayTest, RefusesRoutesThatNameUnknownIssuersOrUnavailableCredentials) {
  Route unknown = Orders();
  unknown.authn.jwt_issuers = {"nobody"};
  auto a = Gateway::Create(Options({unknown}), clock_);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code(), StatusCode::kInvalidArgument);
  Route api_key = Orders();
  api_key.authn.credentials = {CredentialKind::kApiKey};
  EXPECT_FALSE(Gateway::Create(Options({api_key}), clock_).has_value());
}

TEST_F(GatewayTest, RefusesAuthnWithNoOrRepeatedCredentialKinds) {
  // all_of over no kinds would be satisfied by nothing at all: fail closed.
  for (AuthnMode mode : {AuthnMode::kAnyOf, AuthnMode::kAllOf, AuthnMode::kOptional}) {
    Route empty = Orders();
    empty.authn.mode = mode;
    empty.authn.credentials.clear();
    auto created = Gateway::Create(Options({empty}), clock_);
    ASSERT_FALSE(created.has_value());
    EXPECT_EQ(created.error().code(), StatusCode::kInvalidArgument);
  }
  Route twice = Orders();
  twice.authn.mode = AuthnMode::kAllOf;
  twice.authn.credentials = {CredentialKind::kJwt, CredentialKind::kJwt};
  EXPECT_FALSE(Gateway::Create(Options({twice}), clock_).has_value());
}

TEST_F(GatewayTest, BearerTokenParsing) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer   abc  "), "abc");
  EXPECT_EQ(BearerToken("Bearer"), std::nullopt);
  EXPECT_EQ(BearerToken("Bearer a b"), std::nullopt);
  EXPECT_EQ(BearerToken("Bearerabc"), std::nullopt);
  EXPECT_EQ(BearerToken("Basic abc"), std::nullopt);
  // RFC 6750's b64token: these characters, then only `=`.
  EXPECT_EQ(BearerToken("Bearer aZ09-._~+/=="), "aZ09-._~+/==");
  for (const char* bad : {"Bearer a\tb", "Bearer a,b", "Bearer a\"b", "Bearer a=b",
                          "Bearer ==", "Bearer a;b", "Bearer a\x80z", "Bearer a\\b"}) {
    EXPECT_EQ(BearerToken(bad), std::nullopt) << bad;
  }
}

TEST(FillCredentialFactsTest, TakesTheFirstOfEachAndCountsRepeats) {
  // The counts are what lets Decide refuse a second Authorization or
  // X-Api-Key (a request whose credential a proxy and a service could read
  // differently); names match in any case.
  const HeaderList headers = {{"host", "api.example"},       {"AUTHORIZATION", "Bearer a"},
                              {"x-api-key", "k1"},           {"Host", "evil.example"},
                              {"Authorization", "Bearer b"}, {"X-Api-Key", "k2"},
                              {"X-Api-Keys", "not-a-key"},   {"Authorizations", "not-it"}};
  RequestFacts facts;
  EXPECT_EQ(FillCredentialFacts(headers, facts), "api.example");
  EXPECT_EQ(facts.authorization, "Bearer a");
  EXPECT_EQ(facts.authorization_count, 2);
  EXPECT_EQ(facts.api_key, "k1");
  EXPECT_EQ(facts.api_key_count, 2);

  RequestFacts none;
  EXPECT_EQ(FillCredentialFacts({{"Accept", "*/*"}}, none), "");
  EXPECT_EQ(none.authorization, "");
  EXPECT_EQ(none.authorization_count, 0);
  EXPECT_EQ(none.api_key_count, 0);
}

}  // namespace
}  // namespace bulwark::gateway::testing

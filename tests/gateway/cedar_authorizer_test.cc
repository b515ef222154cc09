// Routes decided by Cedar policies: the principal from the verified token,
// the action from the method, the resource from path parameters, the
// context from what the gateway knows; forbid wins, default deny, and the
// normalized path is what the policies see.
#include "gateway/cedar_authorizer.h"
#include "gateway/path_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "gateway_fixture.h"

namespace bulwark::gateway::testing {
namespace {

namespace cedar = policy::cedar;

constexpr std::string_view kPolicies = R"(
@id("owners-read")
permit (principal, action == Action::"read", resource is Document)
when { resource.owner == principal };

@id("writers-write")
permit (principal, action == Action::"write", resource is Document)
when { context.scopes.contains("docs:write") };

@id("office-only")
forbid (principal, action, resource)
unless { context.client_ip.isInRange(ip("192.0.2.0/24")) };

@id("status-after-launch")
permit (principal, action == Action::"GET", resource == Route::"status")
when { context.time >= datetime("2027-01-01") && !context.authenticated };
)";

constexpr std::string_view kEntities = R"([
  {"uid": {"type": "Document", "id": "d1"}, "attrs": {"owner": {"type": "User", "id": "alice"}}, "parents": []},
  {"uid": {"type": "Document", "id": "d2"}, "attrs": {"owner": {"type": "User", "id": "bob"}}, "parents": []}
])";

Route Docs() {
  return {.name = "docs",
          .path_prefix = "/docs",
          .authn = {.jwt_issuers = {"idp"}},
          .authz = {.cedar = RouteCedar{.actions_by_method = {{"GET", "read"}, {"PUT", "write"}},
                                        .path = "/docs/{id}",
                                        .resource = "Document::\"{id}\""}}};
}

Route Status() {
  return {.name = "status",
          .path_prefix = "/status",
          .authn = {.mode = AuthnMode::kOptional, .jwt_issuers = {"idp"}},
          .authz = {.cedar = RouteCedar{}}};
}

class CedarRouteTest : public GatewayTest {
 protected:
  std::unique_ptr<Gateway> MakeWithPolicies(std::vector<Route> routes,
                                            std::optional<std::string_view> schema = {}) {
    auto snapshot = cedar::LoadCedarSnapshot(kPolicies, kEntities, schema);
    EXPECT_TRUE(snapshot.has_value()) << snapshot.error().status.message();
    GatewayOptions options = Options(std::move(routes));
    options.cedar = std::make_shared<cedar::FixedSnapshot>(std::move(*snapshot));
    auto gw = Gateway::Create(std::move(options), clock_);
    EXPECT_TRUE(gw.has_value()) << gw.error().ToString();
    return gw ? std::move(*gw) : nullptr;
  }
  boost::json::object WithScope(std::string scope) {
    auto claims = Claims();
    claims["scope"] = std::move(scope);
    return claims;
  }
};

TEST_F(CedarRouteTest, PoliciesDecideWithPrincipalActionAndResourceFromTheRequest) {
  auto gw = MakeWithPolicies({Docs()});
  Decision d = Decide(*gw, "GET", "/docs/d1", Bearer(Claims()));
  EXPECT_EQ(d.status, 200) << d.reason;

  d = Decide(*gw, "GET", "/docs/d2", Bearer(Claims()));  // bob's document
  EXPECT_EQ(d.status, 403);
  EXPECT_EQ(d.reason, "denied (no policy permits)");

  d = Decide(*gw, "PUT", "/docs/d2", Bearer(WithScope("docs:write")));
  EXPECT_EQ(d.status, 200) << d.reason;
  d = Decide(*gw, "PUT", "/docs/d2", Bearer(WithScope("docs:read")));
  EXPECT_EQ(d.status, 403);

  // A method the route maps to no action is its own action: nothing permits DELETE.
  d = Decide(*gw, "DELETE", "/docs/d1", Bearer(Claims()));
  EXPECT_EQ(d.status, 403);
}

// Policies name a token's caller by its subject (User::"alice"), unique only
// within its issuer: a route that took two issuers' tokens would let the
// other provider's alice be this one.
TEST_F(CedarRouteTest, ARouteOfPoliciesTakesTokensOfOneIssuer) {
  Route two_issuers = Docs();
  two_issuers.authn.jwt_issuers.clear();  // any of the two configured
  GatewayOptions options = Options({two_issuers});
  auto snapshot = cedar::LoadCedarSnapshot(kPolicies, kEntities, std::nullopt);
  ASSERT_TRUE(snapshot.has_value());
  options.cedar = std::make_shared<cedar::FixedSnapshot>(std::move(*snapshot));
  EXPECT_THAT(RefusalOf(std::move(options)),
              ::testing::HasSubstr("cedar checks name a token's caller"));
}

TEST_F(CedarRouteTest, ForbidOverridesPermit) {
  auto gw = MakeWithPolicies({Docs()});
  Decision d = Decide(*gw, "GET", "/docs/d1", Bearer(Claims()), "203.0.113.9");
  EXPECT_EQ(d.status, 403);
  EXPECT_EQ(d.reason, "denied by office-only");
}

TEST_F(CedarRouteTest, PoliciesSeeTheNormalizedPath) {
  auto gw = MakeWithPolicies({Docs()});
  // Dot segments and encoded unreserved characters cannot name another document.
  EXPECT_EQ(Decide(*gw, "GET", "/docs/d2/../d1", Bearer(Claims())).status, 200);
  EXPECT_EQ(Decide(*gw, "GET", "/docs/d1/../d2", Bearer(Claims())).status, 403);
  EXPECT_EQ(Decide(*gw, "GET", "/docs/%64%32", Bearer(Claims())).status, 403);  // d2
  // Nor can path parameters or other escapes: the service takes these for d2.
  EXPECT_EQ(Decide(*gw, "GET", "/docs/d2;a", Bearer(Claims())).status, 403);
  EXPECT_EQ(Decide(*gw, "GET", "/docs/d2;jsessionid=x", Bearer(Claims())).status, 403);
  EXPECT_EQ(Decide(*gw, "GET", "/docs/d1;a", Bearer(Claims())).status, 200);
  // Paths the template does not describe are denied, not guessed at.
  Decision d = Decide(*gw, "GET", "/docs", Bearer(Claims()));
  EXPECT_EQ(d.status, 403);
  EXPECT_EQ(d.reason, "policy: path does not match /docs/{id}");
  EXPECT_EQ(Decide(*gw, "GET", "/docs/d1/extra", Bearer(Claims())).status, 403);
}

TEST_F(CedarRouteTest, AnonymousRequestsAndTheTimeReachThePolicies) {
  auto gw = MakeWithPolicies({Status()});
  EXPECT_EQ(Decide(*gw, "GET", "/status").status, 200);  // kNow is after 2027-01-01
  // Authenticated callers are not anonymous: the policy does not permit them.
  EXPECT_EQ(Decide(*gw, "GET", "/status", Bearer(Claims())).status, 403);
}

TEST_F(CedarRouteTest, RouteRulesStillApplyFirst) {
  Route docs = Docs();
  docs.authz.roles = {"admin"};
  auto gw = MakeWithPolicies({docs});
  Decision d = Decide(*gw, "GET", "/docs/d1", Bearer(Claims()));
  EXPECT_EQ(d.status, 403);
  EXPECT_EQ(d.reason, "missing role");
}

TEST_F(CedarRouteTest, WithASchemaTheRequestMustFitIt) {
  constexpr std::string_view kSchema = R"(
    entity User; entity Document = { owner: User };
    action read, write appliesTo { principal: User, resource: Document,
                                   context: { client_ip: ipaddr, scopes: Set<String> } };
    action GET appliesTo { principal: Anonymous, resource: Route,
                           context: { client_ip: ipaddr, time: datetime, authenticated: Bool } };
    entity Anonymous; entity Route;)";
  auto gw = MakeWithPolicies({Docs(), Status()}, kSchema);
  // Only the declared context attributes are passed, so the closed records fit.
  EXPECT_EQ(Decide(*gw, "GET", "/docs/d1", Bearer(Claims())).status, 200);
  EXPECT_EQ(Decide(*gw, "GET", "/status").status, 200);
  // An action the schema does not declare is refused before any policy runs.
  Decision d = Decide(*gw, "DELETE", "/docs/d1", Bearer(Claims()));
  EXPECT_EQ(d.status, 403);
  EXPECT_NE(d.reason.find("not declared in the schema"), std::string::npos) << d.reason;
}

TEST_F(CedarRouteTest, TheCedarRequestCarriesTheGatewaysFacts) {
  auto snapshot = cedar::LoadCedarSnapshot(kPolicies, kEntities, std::nullopt);
  ASSERT_TRUE(snapshot.has_value());
  CedarAuthorizer authorizer(std::make_shared<cedar::FixedSnapshot>(*snapshot), {});
  auto gw = MakeWithPolicies({Docs()});
  Decision d = Decide(*gw, "GET", "/docs/d1", Bearer(Claims()));
  ASSERT_NE(d.principal, nullptr);
  Route route = Docs();
  ASSERT_TRUE(CompileRouteCedar(*route.authz.cedar).ok());
  const IpAddress ip = *IpAddress::Parse("192.0.2.7");
  auto request = authorizer.ToCedar({.route = &route,
                                     .principal = &*d.principal,
                                     .action = "GET",
                                     .resource = "/docs/d1",
                                     .host = "API.Example.:8443",
                                     .client_ip = ip,
                                     .now = kNow},
                                    *snapshot);
  ASSERT_TRUE(request.has_value()) << request.error().message();
  EXPECT_EQ(request->principal, (cedar::EntityUid{"User", "alice"}));
  EXPECT_EQ(request->action, (cedar::EntityUid{"Action", "read"}));
  EXPECT_EQ(request->resource, (cedar::EntityUid{"Document", "d1"}));
  const cedar::ValueRecord& context = request->context.as_record();
  EXPECT_EQ(context.at("client_ip").ToString(), "ip(\"192.0.2.7/32\")");
  EXPECT_EQ(context.at("time").as_datetime().ms, kNow * 1000);
  EXPECT_EQ(context.at("scopes").ToString(), "[\"orders:read\", \"orders:write\"]");
  EXPECT_EQ(context.at("roles").ToString(), "[\"clerk\"]");
  EXPECT_EQ(context.at("issuer").as_string(), "idp");
  // The host as routed: a policy on "api.example" is not dodged by case,
  // port or the trailing dot of a fully qualified name.
  EXPECT_EQ(context.at("host").as_string(), "api.example");
  EXPECT_EQ(context.at("credential").as_string(), "jwt");
  EXPECT_TRUE(context.at("authenticated").as_bool());
  EXPECT_FALSE(context.at("tls").as_bool());
  EXPECT_EQ(context.at("params").as_record().at("id").as_string(), "d1");
  EXPECT_EQ(context.at("path").as_string(), "/docs/d1");
  // The path as the service resolves it: a segment's parameters, which
  // Tomcat, Jetty and Spring drop, cannot step around `context.path like`.
  auto with_parameters = authorizer.ToCedar({.route = &route,
                                             .principal = &*d.principal,
                                             .action = "GET",
                                             .resource = "/docs/d1;jsessionid=x",
                                             .host = "api.example",
                                             .now = kNow},
                                            *snapshot);
  ASSERT_TRUE(with_parameters.has_value()) << with_parameters.error().message();
  EXPECT_EQ(with_parameters->context.as_record().at("path").as_string(), "/docs/d1");
}

// Policies a test changes while the gateway runs, as the store's watch does.
class SwappedSnapshot final : public cedar::SnapshotSource {
 public:
  explicit SwappedSnapshot(cedar::CedarSnapshot snapshot) { Swap(std::move(snapshot)); }
  std::shared_ptr<const cedar::CedarSnapshot> Current() const override { return current_.load(); }
  void Swap(cedar::CedarSnapshot snapshot) {
    current_.store(std::make_shared<const cedar::CedarSnapshot>(std::move(snapshot)));
  }

 private:
  std::atomic<std::shared_ptr<const cedar::CedarSnapshot>> current_;
};

// A WebSocket handshake on a route of policies holds what it was allowed
// on: once the policies change so that its request would be refused, the
// tunnel no longer stands (the io thread then ends it), as it would not
// once the policies allow it again only by a new handshake. A plain
// request, or a handshake on a route without policies, holds nothing.
TEST_F(CedarRouteTest, ATunnelsAuthorizationIsHeldAndJudgedAgainstTheCurrentPolicies) {
  Route docs = Docs();
  docs.websocket = true;
  auto source = std::make_shared<SwappedSnapshot>(
      *cedar::LoadCedarSnapshot(kPolicies, kEntities, std::nullopt));
  Route orders{.name = "orders", .path_prefix = "/orders", .websocket = true};
  GatewayOptions options = Options({docs, orders});
  options.cedar = source;
  auto gw = Gateway::Create(std::move(options), clock_);
  ASSERT_TRUE(gw.has_value()) << gw.error().ToString();
  const std::string bearer = Bearer(Claims());
  RequestFacts handshake{.method = "GET",
                         .host = "api.example",
                         .target = "/docs/d1",
                         .authorization = bearer,
                         .authorization_count = 1,
                         .websocket_upgrade = true,
                         .client_ip = "192.0.2.7"};
  const Decision d = (*gw)->Decide(handshake);
  ASSERT_EQ(d.status, 200) << d.reason;
  ASSERT_NE(d.held_authorization, nullptr);
  EXPECT_EQ(d.held_authorization->resource, "/docs/d1");
  EXPECT_TRUE((*gw)->StillAuthorized(*d.held_authorization));

  // The document changes hands: alice's tunnel to it no longer stands.
  constexpr std::string_view kGivenAway = R"([
    {"uid": {"type": "Document", "id": "d1"}, "attrs": {"owner": {"type": "User", "id": "bob"}}, "parents": []}
  ])";
  source->Swap(*cedar::LoadCedarSnapshot(kPolicies, kGivenAway, std::nullopt));
  EXPECT_FALSE((*gw)->StillAuthorized(*d.held_authorization));
  EXPECT_EQ((*gw)->Decide(handshake).status, 403);
  source->Swap(*cedar::LoadCedarSnapshot(kPolicies, kEntities, std::nullopt));
  EXPECT_TRUE((*gw)->StillAuthorized(*d.held_authorization));

  RequestFacts plain = handshake;
  plain.websocket_upgrade = false;
  EXPECT_EQ((*gw)->Decide(plain).held_authorization, nullptr);
  RequestFacts to_orders = handshake;
  to_orders.target = "/orders";
  const Decision o = (*gw)->Decide(to_orders);
  EXPECT_EQ(o.status, 200) << o.reason;
  EXPECT_EQ(o.held_authorization, nullptr);
}

std::optional<std::map<std::string, std::string, std::less<>>> MatchPathTemplate(
    std::string pattern, std::string_view path) {
  RouteCedar cedar{.path = std::move(pattern)};
  EXPECT_TRUE(CompileRouteCedar(cedar).ok());
  return MatchPathTemplate(cedar.path_segments, path);
}

TEST(CedarPathTemplateTest, MatchesSegmentsAndTheRest) {
  auto p = MatchPathTemplate("/docs/{id}", "/docs/a");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->at("id"), "a");
  EXPECT_FALSE(MatchPathTemplate("/docs/{id}", "/docs").has_value());
  EXPECT_FALSE(MatchPathTemplate("/docs/{id}", "/docs/").has_value());
  EXPECT_FALSE(MatchPathTemplate("/docs/{id}", "/docs/a/b").has_value());
  EXPECT_FALSE(MatchPathTemplate("/docs/{id}", "/files/a").has_value());
  p = MatchPathTemplate("/t/{tenant}/files/{path*}", "/t/acme/files/a/b.txt");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->at("tenant"), "acme");
  EXPECT_EQ(p->at("path"), "a/b.txt");
  EXPECT_FALSE(MatchPathTemplate("/t/{tenant}/files/{path*}", "/t/acme/files").has_value());
  EXPECT_TRUE(MatchPathTemplate("", "/anything")->empty());
}

// A parameter is what the service will resolve its segment to: Jetty serves
// /docs/secret;a as secret, and any server /docs/q%3A1 as q:1. So one
// document has one name for the policies, however the path spells it.
TEST(CedarPathTemplateTest, ParametersAreTheResourceTheServiceResolves) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"/docs/secret;a", "secret"},
      {"/docs/secret;jsessionid=abc", "secret"},
      {"/docs/q%3A1", "q:1"},
      {"/docs/Q1%20report", "Q1 report"},
      {"/docs/caf%C3%A9", "caf\xC3\xA9"},
      {"/docs/a%3Bb", "a;b"},  // an encoded ';', where let in, is no parameter
  };
  for (const auto& [path, id] : cases) {
    auto p = MatchPathTemplate("/docs/{id}", path);
    ASSERT_TRUE(p.has_value()) << path;
    EXPECT_EQ(p->at("id"), id) << path;
  }
  auto p = MatchPathTemplate("/t/{tenant}/files/{path*}", "/t/acme;v=2/files/a;x/b%20c.txt");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->at("tenant"), "acme");
  EXPECT_EQ(p->at("path"), "a/b c.txt");
  // A segment that resolves to nothing names nothing.
  EXPECT_FALSE(MatchPathTemplate("/docs/{id}", "/docs/;x").has_value());
  EXPECT_FALSE(
      MatchPathTemplate("/docs/{id}", "/docs/a%2Fb").has_value());  // if encoded slashes are let in
  EXPECT_FALSE(MatchPathTemplate("/docs/{id}", "/docs/a%5Cb").has_value());
  EXPECT_FALSE(MatchPathTemplate("/files/{path*}", "/files/a/;x/b").has_value());
}

TEST(CedarPathTemplateTest, LiteralsMatchInAnyCaseOnlyWhenAsked) {
  RouteCedar cedar{.path = "/docs/{id}"};
  ASSERT_TRUE(CompileRouteCedar(cedar).ok());
  EXPECT_FALSE(MatchPathTemplate(cedar.path_segments, "/DOCS/D1").has_value());
  auto p = MatchPathTemplate(cedar.path_segments, "/DOCS/D1", /*ignore_case=*/true);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->at("id"), "D1");  // as it came
  EXPECT_FALSE(MatchPathTemplate(cedar.path_segments, "/DOCSX/D1", true).has_value());
}

bulwark::Status CheckRouteCedar(RouteCedar cedar) { return CompileRouteCedar(cedar); }

TEST(CedarPathTemplateTest, BadRouteSectionsAreRefused) {
  EXPECT_TRUE(CheckRouteCedar({.path = "/docs/{id}", .resource = "Document::\"{id}\""}).ok());
  EXPECT_TRUE(CheckRouteCedar({.action = "NS::Action::\"read\""}).ok());
  EXPECT_FALSE(CheckRouteCedar({.path = "/docs/{id}", .resource = "Document::\"{nope}\""}).ok());
  EXPECT_FALSE(CheckRouteCedar({.path = "/docs/{rest*}/x"}).ok());
  EXPECT_FALSE(CheckRouteCedar({.path = "/docs/{id}/{id}"}).ok());
  EXPECT_FALSE(CheckRouteCedar({.path = "docs"}).ok());
  EXPECT_FALSE(CheckRouteCedar({.resource = "Document"}).ok());
  EXPECT_FALSE(CheckRouteCedar({.resource = "1bad::\"x\""}).ok());
  EXPECT_FALSE(CheckRouteCedar({.action = "Action::\"unterminated"}).ok());
}

TEST_F(CedarRouteTest, ACedarRouteWithoutPoliciesIsAConfigurationError) {
  auto gw = Gateway::Create(Options({Docs()}), clock_);
  ASSERT_FALSE(gw.has_value());
  EXPECT_NE(gw.error().message().find("needs policies"), std::string::npos);
}

}  // namespace
}  // namespace bulwark::gateway::testing

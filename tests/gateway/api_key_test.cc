// API keys as a route credential: sent as X-Api-Key or as a bearer
// credential, checked against a real store's keys; revoked, expired, forged
// and duplicated keys refused; scopes and per-key rate limits applied.
#include <gtest/gtest.h>

#include <thread>

#include "forward_auth_call.h"
#include "gateway/gateway.h"
#include "gateway_fixture.h"
#include "identity/api_keys.h"
#include "store/open_store.h"

namespace bulwark::gateway::testing {
namespace {

class ApiKeyGatewayTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    store_ = std::move(
        *store::OpenStore({.backend = store::StoreOptions::Backend::kMemory, .clock = &clock_}));
    service_ = std::make_unique<identity::ApiKeyService>(*store_, clock_);
    index_ = std::move(*identity::ApiKeyIndex::Create(*store_, clock_));
  }

  std::unique_ptr<Gateway> MakeWithKeys(std::vector<Route> routes) {
    GatewayOptions options = Options(std::move(routes));
    options.api_keys = index_.get();
    auto gw = Gateway::Create(std::move(options), clock_);
    EXPECT_TRUE(gw.has_value()) << gw.error().ToString();
    return gw ? std::move(*gw) : nullptr;
  }

  std::string NewKey(std::vector<std::string> scopes = {"reports:read"},
                     std::optional<std::chrono::seconds> ttl = std::nullopt) {
    auto created = service_->Create(
        {.name = "reporting", .subject = "report-bot", .scopes = std::move(scopes), .ttl = ttl});
    std::string key(created->second.ExposeSecretAsString());
    for (int i = 0; i < 500 && !index_->Verify(key).has_value(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the watch delivers it
    }
    return key;
  }

  Decision DecideKey(const Gateway& gw, std::string_view header_key,
                     std::string_view authorization = "", int header_count = -1) {
    return gw.Decide({.method = "GET",
                      .host = "api.example",
                      .target = "/reports/q3",
                      .authorization = authorization,
                      .authorization_count = authorization.empty() ? 0 : 1,
                      .api_key = header_key,
                      .api_key_count = header_count >= 0 ? header_count : !header_key.empty(),
                      .client_ip = "192.0.2.9"});
  }

  std::unique_ptr<store::Store> store_;
  std::unique_ptr<identity::ApiKeyService> service_;
  std::unique_ptr<identity::ApiKeyIndex> index_;
};

Route Reports(std::vector<CredentialKind> kinds = {CredentialKind::kApiKey}) {
  return {.name = "reports",
          .path_prefix = "/reports",
          .authn = {.mode = AuthnMode::kAnyOf, .credentials = std::move(kinds)},
          .authz = {.scopes = {"reports:read"}}};
}

TEST_F(ApiKeyGatewayTest, KeyInHeaderOrBearerIsThePrincipal) {
  auto gw = MakeWithKeys({Reports()});
  const std::string key = NewKey();
  for (Decision d : {DecideKey(*gw, key), DecideKey(*gw, "", "Bearer " + key)}) {
    ASSERT_EQ(d.status, 200) << d.reason;
    EXPECT_EQ(d.principal->credential(), CredentialKind::kApiKey);
    EXPECT_EQ(HeaderOf(d.identity_headers(), "X-Bulwark-Subject"), "report-bot");
    EXPECT_EQ(HeaderOf(d.identity_headers(), "X-Bulwark-Credential"), "api_key");
    EXPECT_EQ(HeaderOf(d.identity_headers(), "X-Bulwark-Key-Id"), key.substr(4, 16));
  }
}

// Behind Envoy the key is removed from the request Envoy forwards, in
// X-Api-Key or in Authorization, as the reverse proxy keeps it.
TEST_F(ApiKeyGatewayTest, BehindEnvoyTheKeyGoesNoFurther) {
  auto gw = MakeWithKeys({Reports()});
  const std::string key = NewKey();
  auto ask = [&](HeaderList headers) {
    headers.emplace_back("Host", "api.example");
    auto answer = RunForwardAuth(*gw, LoopbackForwardAuth(),
                                 {.method = "GET",
                                  .target = "/auth/envoy/reports/q3",
                                  .headers = std::move(headers),
                                  .remote_address = "127.0.0.1"});
    EXPECT_TRUE(answer.has_value());
    return answer.value_or(net::HttpResponse{});
  };
  const net::HttpResponse in_header = ask({{"X-Api-Key", key}});
  ASSERT_EQ(in_header.status, 200);
  EXPECT_TRUE(Lists(RemovalsAskedOfEnvoy(in_header), "x-api-key"));
  EXPECT_FALSE(Lists(RemovalsAskedOfEnvoy(in_header), "authorization"));
  const net::HttpResponse as_bearer = ask({{"Authorization", "Bearer " + key}});
  ASSERT_EQ(as_bearer.status, 200);
  EXPECT_TRUE(Lists(RemovalsAskedOfEnvoy(as_bearer), "authorization"));
  EXPECT_TRUE(Lists(RemovalsAskedOfEnvoy(as_bearer), "x-api-key"));
}

// nginx and Traefik give the service the Authorization and X-Api-Key of
// the answer in place of the client's: a key the route read is in neither.
TEST_F(ApiKeyGatewayTest, BehindNginxOrTraefikTheKeyIsNotRepeated) {
  auto gw = MakeWithKeys({Reports()});
  const std::string key = NewKey();
  for (HeaderList credential :
       {HeaderList{{"X-Api-Key", key}}, HeaderList{{"Authorization", "Bearer " + key}}}) {
    HeaderList headers = std::move(credential);
    headers.emplace_back("X-Original-URI", "/reports/q3");
    headers.emplace_back("X-Original-Method", "GET");
    headers.emplace_back("X-Forwarded-Uri", "/reports/q3");
    headers.emplace_back("X-Forwarded-Method", "GET");
    headers.emplace_back("X-Original-Host", "api.example");
    headers.emplace_back("X-Forwarded-Host", "api.example");
    for (std::string target : {"/auth/nginx", "/auth/traefik"}) {
      auto answer = RunForwardAuth(
          *gw, LoopbackForwardAuth(),
          {.method = "GET", .target = target, .headers = headers, .remote_address = "127.0.0.1"});
      ASSERT_TRUE(answer.has_value());
      ASSERT_EQ(answer->status, 200) << target;
      EXPECT_EQ(HeaderOf(answer->headers, "X-Bulwark-Credential"), "api_key");
      EXPECT_EQ(HeaderOf(answer->headers, "X-Api-Key"), "") << target;
      EXPECT_EQ(HeaderOf(answer->headers, "Authorization"), "") << target;
    }
  }
}

// A Bulwark API key is the gateway's credential: it goes to no service,
// even on a route that reads none. The service's own keys and other
// schemes still do.
TEST_F(ApiKeyGatewayTest, ABulwarkKeyGoesNoFurtherEvenWhereTheRouteReadsNone) {
  auto gw = MakeWithKeys(
      {{.name = "reports", .path_prefix = "/reports", .authn = {.mode = AuthnMode::kNone}}});
  const std::string key = NewKey();
  const Decision d = DecideKey(*gw, key);
  ASSERT_EQ(d.status, 200) << d.reason;
  const DroppedRequestFields dropped = DroppedFieldsOf(d);
  EXPECT_TRUE(dropped.Drops("X-Api-Key", key));
  EXPECT_TRUE(dropped.Drops("x-api-key", key));
  EXPECT_TRUE(dropped.Drops("Authorization", "Bearer " + key));
  // However the field holds it: in a list an intermediary joined (RFC 9110
  // section 5.3), after a tab, in another scheme.
  EXPECT_TRUE(dropped.Drops("X-Api-Key", key + ", other-service-key"));
  EXPECT_TRUE(dropped.Drops("X-Api-Key", "other-service-key," + key));
  EXPECT_TRUE(dropped.Drops("Authorization", "Bearer\t" + key));
  EXPECT_TRUE(dropped.Drops("Authorization", "ApiKey " + key));
  EXPECT_FALSE(dropped.Drops("X-Api-Key", "svc-key"));
  EXPECT_FALSE(dropped.Drops("X-Api-Key", "bwk_not-a-key"));
  EXPECT_FALSE(dropped.Drops("Authorization", "Basic dXNlcjpwYXNz"));
  EXPECT_FALSE(dropped.Drops("Authorization", "Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln"));
}

TEST_F(ApiKeyGatewayTest, RefusesMissingForgedRevokedAndExpiredKeys) {
  auto gw = MakeWithKeys({Reports()});
  Decision none = DecideKey(*gw, "");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(HeaderOf(none.response_fields, "WWW-Authenticate"), "Bearer realm=\"bulwark\"");

  const std::string key = NewKey();
  std::string forged = key;
  forged[30] = forged[30] == 'a' ? 'b' : 'a';
  Decision bad = DecideKey(*gw, forged);
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(HeaderOf(bad.response_fields, "WWW-Authenticate"),
            "Bearer realm=\"bulwark\", error=\"invalid_token\"");
  EXPECT_EQ(DecideKey(*gw, "not-a-key").status, 401);

  ASSERT_TRUE(service_->Revoke(key.substr(4, 16)).has_value());
  for (int i = 0; i < 500 && index_->Verify(key).has_value(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  Decision revoked = DecideKey(*gw, key);
  EXPECT_EQ(revoked.status, 401);
  EXPECT_EQ(revoked.reason, "api key revoked");

  const std::string short_lived = NewKey({"reports:read"}, std::chrono::seconds(120));
  EXPECT_EQ(DecideKey(*gw, short_lived).status, 200);
  clock_.Advance(std::chrono::seconds(121));
  EXPECT_EQ(DecideKey(*gw, short_lived).reason, "api key expired");
}

// A key stored before subjects were checked at creation, whose subject a
// service would read trimmed (" report-bot" as report-bot), is refused
// when presented rather than forwarded.
TEST_F(ApiKeyGatewayTest, AStoredKeyWhoseSubjectCannotBeForwardedIsRefused) {
  auto gw = MakeWithKeys({Reports()});
  const std::string key = NewKey();
  ASSERT_EQ(DecideKey(*gw, key).status, 200);
  const std::string record_key = std::string(identity::kApiKeyStorePrefix) + key.substr(4, 16);
  auto record = store_->Get(record_key);
  ASSERT_TRUE(record.has_value() && record->has_value());
  std::string value = (*record)->value;
  const size_t at = value.find("\"report-bot\"");
  ASSERT_NE(at, std::string::npos) << value;
  value.replace(at, 12, "\" report-bot\"");
  ASSERT_TRUE(store_->Put(record_key, value).has_value());
  for (int i = 0;
       i < 500 && index_->Verify(key).has_value() && index_->Verify(key)->subject == "report-bot";
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the watch delivers it
  }
  ASSERT_EQ(index_->Verify(key)->subject, " report-bot");
  Decision refused = DecideKey(*gw, key);
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.principal, nullptr);
}

TEST_F(ApiKeyGatewayTest, ScopesOfTheKeyAreEnforced) {
  auto gw = MakeWithKeys({Reports()});
  Decision d = DecideKey(*gw, NewKey({"billing:read"}));
  EXPECT_EQ(d.status, 403);
}

TEST_F(ApiKeyGatewayTest, DuplicateKeysAreABadRequest) {
  auto gw = MakeWithKeys({Reports()});
  const std::string key = NewKey();
  EXPECT_EQ(DecideKey(*gw, key, "", 2).status, 400);
  EXPECT_EQ(DecideKey(*gw, key, "Bearer " + key).status, 400);
}

TEST_F(ApiKeyGatewayTest, JwtAndKeyRoutesTellTheCredentialsApart) {
  auto gw = MakeWithKeys({Reports({CredentialKind::kJwt, CredentialKind::kApiKey})});
  auto claims = Claims();
  claims["scope"] = "reports:read";
  EXPECT_EQ(DecideKey(*gw, "", Bearer(claims)).principal->credential(), CredentialKind::kJwt);
  EXPECT_EQ(DecideKey(*gw, "", "Bearer " + NewKey()).principal->credential(),
            CredentialKind::kApiKey);
  // A key-shaped bearer on a JWT-only route is judged as a JWT, and fails.
  auto jwt_only = MakeWithKeys({Reports({CredentialKind::kJwt})});
  EXPECT_EQ(DecideKey(*jwt_only, "", "Bearer " + NewKey()).status, 401);
  // An X-Api-Key on a JWT-only route is not a credential there.
  EXPECT_EQ(DecideKey(*jwt_only, NewKey()).status, 401);
}

// On a route that takes API keys and no JWT, a bearer credential is meant
// as a key: one not of a key's shape is an invalid key (401 invalid_token),
// on an optional route too, never taken for none. With the key in
// X-Api-Key, the field is the client's own, for the service.
TEST_F(ApiKeyGatewayTest, ABearerThatIsNoKeyIsAnInvalidKeyWhereOnlyKeysAreTaken) {
  const std::string key = NewKey();
  Route optional = Reports();
  optional.authn.mode = AuthnMode::kOptional;
  optional.authz = {};
  for (const Route& route : {Reports(), optional}) {
    auto gw = MakeWithKeys({route});
    for (const std::string& bearer : {key + "x", key.substr(0, key.size() - 3), key + "=",
                                      std::string("bwk_123"), std::string("abc.def.ghi")}) {
      Decision d = DecideKey(*gw, "", "Bearer " + bearer);
      EXPECT_EQ(d.status, 401) << bearer;
      EXPECT_EQ(HeaderOf(d.response_fields, "WWW-Authenticate"),
                "Bearer realm=\"bulwark\", error=\"invalid_token\"")
          << bearer;
    }
    EXPECT_EQ(DecideKey(*gw, key, "Bearer the-service-s-own").status, 200);
  }
}

// Another scheme (Basic) is no credential of ours: beside a key in
// X-Api-Key it is the client's own, for the service, and the key counts;
// alone it is answered with a bare challenge, on an optional route too
// (passed on, a service could take it as verified).
TEST_F(ApiKeyGatewayTest, AnotherSchemeIsNoCredentialOfOurs) {
  const std::string key = NewKey();
  auto gw = MakeWithKeys({Reports()});
  Decision with_key = DecideKey(*gw, key, "Basic dXNlcjpwYXNz");
  EXPECT_EQ(with_key.status, 200);
  ASSERT_NE(with_key.principal, nullptr);
  EXPECT_EQ(with_key.principal->credential(), CredentialKind::kApiKey);
  Decision alone = DecideKey(*gw, "", "Basic dXNlcjpwYXNz");
  EXPECT_EQ(alone.status, 401);
  EXPECT_EQ(HeaderOf(alone.response_fields, "WWW-Authenticate"), "Bearer realm=\"bulwark\"");
  Route optional = Reports();
  optional.authn.mode = AuthnMode::kOptional;
  optional.authz = {};
  auto open = MakeWithKeys({optional});
  EXPECT_EQ(DecideKey(*open, "", "Basic dXNlcjpwYXNz").status, 401);
  EXPECT_EQ(DecideKey(*open, key, "Basic dXNlcjpwYXNz").status, 200);
}

RouteRateLimit TwoAMinutePerKey() {
  return {.key = RouteRateLimit::Key::kApiKey,
          .policy = {.algorithm = guard::RateLimitPolicy::Algorithm::kSlidingWindow,
                     .limit = 2,
                     .window = std::chrono::seconds(60)}};
}

TEST_F(ApiKeyGatewayTest, RateLimitPerKey) {
  Route route = Reports();
  route.rate_limit = TwoAMinutePerKey();
  auto gw = MakeWithKeys({route});
  const std::string a = NewKey();
  const std::string b = NewKey();
  EXPECT_EQ(DecideKey(*gw, a).status, 200);
  EXPECT_EQ(DecideKey(*gw, a).status, 200);
  EXPECT_EQ(DecideKey(*gw, a).status, 429);
  EXPECT_EQ(DecideKey(*gw, b).status, 200);  // same address, its own quota
}

// A key's quota is the key's when a JWT comes with it and makes the
// principal: on a route that takes either or wants both, adding a token,
// or calling from other addresses, buys no fresh quota.
TEST_F(ApiKeyGatewayTest, RateLimitPerKeyHoldsWhenAJwtComesToo) {
  for (const AuthnMode mode : {AuthnMode::kAnyOf, AuthnMode::kAllOf}) {
    Route route = Reports({CredentialKind::kJwt, CredentialKind::kApiKey});
    route.authn.mode = mode;
    route.authz = {};
    route.rate_limit = TwoAMinutePerKey();
    auto gw = MakeWithKeys({route});
    const std::string key = NewKey();
    const std::string bearer = Bearer(Claims());
    const auto decide = [&](std::string_view ip) {
      return gw->Decide({.method = "GET",
                         .host = "api.example",
                         .target = "/reports/q3",
                         .authorization = bearer,
                         .authorization_count = 1,
                         .api_key = key,
                         .api_key_count = 1,
                         .client_ip = ip});
    };
    const Decision first = decide("192.0.2.1");
    ASSERT_EQ(first.status, 200) << first.reason;
    EXPECT_EQ(first.principal->credential(), CredentialKind::kJwt);
    EXPECT_EQ(decide("198.51.100.2").status, 200);
    EXPECT_EQ(decide("203.0.113.3").status, 429) << "mode " << static_cast<int>(mode);
    EXPECT_EQ(DecideKey(*gw, key).status, mode == AuthnMode::kAnyOf ? 429 : 401);
  }
}

TEST_F(ApiKeyGatewayTest, RoutesNeedTheKeyStore) {
  EXPECT_FALSE(Gateway::Create(Options({Reports()}), clock_).has_value());
}

}  // namespace
}  // namespace bulwark::gateway::testing

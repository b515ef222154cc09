// Rate limits in the gateway decision: per route and key, and before
// authentication per client address.
#include <gtest/gtest.h>

#include <thread>

#include "core/metrics.h"
#include "gateway/decision_recorder.h"
#include "gateway/gateway.h"
#include "gateway_fixture.h"

namespace bulwark::gateway::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Route Limited(RouteRateLimit::Key key, uint64_t limit, std::string header = "") {
  return {.name = "orders",
          .path_prefix = "/orders",
          .rate_limit = RouteRateLimit{.key = key,
                                       .header = std::move(header),
                                       .policy = {.limit = limit, .window = seconds(60)}}};
}

TEST_F(GatewayTest, PrincipalOverItsLimitGets429WithRetryAfterAndOthersDoNot) {
  auto gw = Make({Limited(RouteRateLimit::Key::kPrincipal, 2)});
  const std::string alice = Bearer(Claims());
  EXPECT_EQ(Decide(*gw, "GET", "/orders", alice).status, 200);
  Decision second = Decide(*gw, "GET", "/orders", alice);
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(HeaderOf(second.response_fields, "RateLimit-Policy"), "\"orders\";q=2;w=60");
  Decision third = Decide(*gw, "GET", "/orders", alice);
  EXPECT_EQ(third.status, 429);
  EXPECT_EQ(HeaderOf(third.response_fields, "Retry-After"), "30");
  EXPECT_FALSE(HeaderOf(third.response_fields, "RateLimit").empty());

  auto bob = Claims();
  bob["sub"] = "bob";
  EXPECT_EQ(Decide(*gw, "GET", "/orders", Bearer(bob)).status, 200);
  clock_.Advance(seconds(30));
  EXPECT_EQ(Decide(*gw, "GET", "/orders", alice).status, 200);
}

TEST_F(GatewayTest, RefusedRequestsDoNotSpendTheRouteQuota) {
  auto gw = Make({Limited(RouteRateLimit::Key::kClientIp, 1)});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Decide(*gw, "GET", "/orders").status, 401);
  EXPECT_EQ(Decide(*gw, "GET", "/orders", Bearer(Claims())).status, 200);
  EXPECT_EQ(Decide(*gw, "GET", "/orders", Bearer(Claims())).status, 429);
  EXPECT_EQ(Decide(*gw, "GET", "/orders", Bearer(Claims()), "198.51.100.9").status, 200);
}

TEST_F(GatewayTest, RouteKeyIsOneQuotaForEveryone) {
  auto gw = Make({Limited(RouteRateLimit::Key::kRoute, 1)});
  EXPECT_EQ(Decide(*gw, "GET", "/orders", Bearer(Claims()), "192.0.2.1").status, 200);
  EXPECT_EQ(Decide(*gw, "GET", "/orders", Bearer(Claims()), "192.0.2.2").status, 429);
}

TEST_F(GatewayTest, HeaderKeyCountsPerHeaderValue) {
  auto gw = Make({Limited(RouteRateLimit::Key::kHeader, 1, "X-Tenant")});
  const std::string auth = Bearer(Claims());
  auto decide = [&](std::string tenant) {
    std::vector<std::pair<std::string, std::string>> headers = {{"x-tenant", tenant}};
    return gw
        ->Decide({.method = "GET",
                  .host = "h",
                  .target = "/orders",
                  .authorization = auth,
                  .authorization_count = 1,
                  .client_ip = "192.0.2.1",
                  .headers = &headers})
        .status;
  };
  EXPECT_EQ(decide("acme"), 200);
  EXPECT_EQ(decide("acme"), 429);
  EXPECT_EQ(decide("globex"), 200);
}

// The key field twice: the client could otherwise pick which copy counts
// (a proxy in front that appends its own would be overruled).
TEST_F(GatewayTest, HeaderKeyFieldTwiceIsRefused) {
  auto gw = Make({Limited(RouteRateLimit::Key::kHeader, 1, "X-Tenant")});
  const std::string auth = Bearer(Claims());
  auto decide = [&](std::vector<std::pair<std::string, std::string>> headers) {
    return gw->Decide({.method = "GET",
                       .host = "h",
                       .target = "/orders",
                       .authorization = auth,
                       .authorization_count = 1,
                       .client_ip = "192.0.2.1",
                       .headers = &headers});
  };
  EXPECT_EQ(decide({{"X-Tenant", "acme"}}).status, 200);
  EXPECT_EQ(decide({{"X-Tenant", "acme"}}).status, 429);
  const Decision twice = decide({{"X-Tenant", "new1"}, {"x-tenant", "acme"}});
  EXPECT_EQ(twice.status, 400);
  EXPECT_EQ(twice.reason, "more than one X-Tenant header");
}

// One address is one key however it is written, and an IPv6 client is one
// key for its whole /64.
TEST_F(GatewayTest, ClientAddressKeysAreTheAddressNotItsSpelling) {
  auto gw = Make({Limited(RouteRateLimit::Key::kClientIp, 1)});
  const std::string auth = Bearer(Claims());
  EXPECT_EQ(Decide(*gw, "GET", "/orders", auth, "10.9.9.9").status, 200);
  for (std::string_view same : {"10.9.9.9", "::ffff:10.9.9.9", "::FFFF:10.9.9.9", "::ffff:a09:909",
                                "0:0:0:0:0:ffff:10.9.9.9"}) {
    EXPECT_EQ(Decide(*gw, "GET", "/orders", auth, same).status, 429) << same;
  }
  EXPECT_EQ(Decide(*gw, "GET", "/orders", auth, "2001:db8:1:2::1").status, 200);
  for (std::string_view same : {"2001:db8:1:2::2", "2001:DB8:1:2:ffff:ffff:ffff:ffff"}) {
    EXPECT_EQ(Decide(*gw, "GET", "/orders", auth, same).status, 429) << same;
  }
  EXPECT_EQ(Decide(*gw, "GET", "/orders", auth, "2001:db8:1:3::1").status, 200);
  EXPECT_EQ(Decide(*gw, "GET", "/orders", auth, "10.9.9.10").status, 200);
}

TEST_F(GatewayTest, PreAuthLimitStopsATokenFloodFromOneAddress) {
  auto options =
      Options({{.name = "orders", .path_prefix = "/orders"},
               {.name = "public", .path_prefix = "/public", .authn = {.mode = AuthnMode::kNone}}});
  options.pre_auth_limit = guard::RateLimitPolicy{.limit = 3, .window = seconds(1)};
  auto gw = Gateway::Create(std::move(options), clock_).value();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Decide(*gw, "GET", "/orders", "Bearer forged.token.x").status, 401);
  }
  Decision limited = Decide(*gw, "GET", "/orders", Bearer(Claims()));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(HeaderOf(limited.response_fields, "Retry-After"), "1");
  EXPECT_EQ(Decide(*gw, "GET", "/orders", Bearer(Claims()), "198.51.100.1").status, 200);
  EXPECT_EQ(Decide(*gw, "GET", "/orders", Bearer(Claims()), "::ffff:192.0.2.7").status, 429)
      << "the same address, written as IPv6";
  EXPECT_EQ(Decide(*gw, "GET", "/public").status, 200) << "public routes do no auth work";
  clock_.Advance(milliseconds(400));
  EXPECT_EQ(Decide(*gw, "GET", "/orders", Bearer(Claims())).status, 200);
}

// An operator tells a flood stopped before any signature check from
// callers over their route's quota: each has its own series.
TEST_F(GatewayTest, PreAuthRefusalsAreCountedApartFromTheRoutesLimit) {
  auto options = Options({Limited(RouteRateLimit::Key::kPrincipal, 1)});
  options.pre_auth_limit = guard::RateLimitPolicy{.limit = 1, .window = seconds(1)};
  auto gw = Gateway::Create(std::move(options), clock_).value();
  metrics::MetricsRegistry registry;
  DecisionRecorder recorder(registry, nullptr);
  const auto decide = [&](std::string_view ip) {
    const std::string token = Bearer(Claims());
    RequestFacts facts{.method = "GET",
                       .host = "api.example",
                       .target = "/orders",
                       .authorization = token,
                       .authorization_count = 1,
                       .client_ip = ip};
    Decision d = gw->Decide(facts);
    recorder.Record("proxy", facts, d, d.status, std::chrono::microseconds(5));
    return d;
  };
  EXPECT_EQ(decide("192.0.2.7").status, 200);
  const Decision pre_auth = decide("192.0.2.7");  // the address's one check is spent
  EXPECT_EQ(pre_auth.status, 429);
  EXPECT_TRUE(pre_auth.pre_auth_limited);
  const Decision route = decide("198.51.100.1");  // alice's one request is spent
  EXPECT_EQ(route.status, 429);
  EXPECT_FALSE(route.pre_auth_limited);
  const std::string text = registry.RenderPrometheusText();
  EXPECT_NE(text.find("bulwark_gateway_pre_auth_limited_total{route=\"orders\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("bulwark_gateway_rate_limited_total{route=\"orders\"} 1\n"),
            std::string::npos)
      << text;
}

// A flood of client addresses fills a limiter; once their quotas recover,
// the sweeper drops them without any new key arriving, and the gauges say
// what each limiter holds.
TEST_F(GatewayTest, IdleKeysAreSweptOnATimerAndCounted) {
  auto options = Options({Limited(RouteRateLimit::Key::kClientIp, 5)});
  options.rate_limit_sweep_interval = milliseconds(20);
  options.pre_auth_limit = guard::RateLimitPolicy{.limit = 100, .window = seconds(1)};
  auto gw = Gateway::Create(std::move(options), clock_).value();
  const std::string auth = Bearer(Claims());
  for (int i = 0; i < 2000; ++i) {
    const std::string ip = "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    ASSERT_EQ(Decide(*gw, "GET", "/orders", auth, ip).status, 200);
  }
  metrics::MetricsRegistry registry;
  DecisionRecorder recorder(registry, nullptr);
  recorder.RefreshRateLimitGauges(*gw);
  std::string text = registry.RenderPrometheusText();
  EXPECT_NE(text.find("bulwark_gateway_rate_limit_keys{route=\"orders\"} 2000\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("bulwark_gateway_rate_limit_keys{route=\"pre-auth\"} 2000\n"),
            std::string::npos)
      << text;
  clock_.Advance(seconds(61));  // every quota has recovered
  size_t held = 1;
  for (int i = 0; i < 200 && held != 0; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
    held = 0;
    for (const auto& limiter : gw->RateLimiterStats()) held += limiter.stats.keys;
  }
  EXPECT_EQ(held, 0u) << "the sweeper did not run";
  recorder.RefreshRateLimitGauges(*gw);
  text = registry.RenderPrometheusText();
  EXPECT_NE(text.find("bulwark_gateway_rate_limit_keys{route=\"orders\"} 0\n"), std::string::npos)
      << text;
}

// A route's max_keys caps the live keys it holds: past it new keys are
// refused (fail closed) and counted, while the keys it holds keep their
// quota.
TEST_F(GatewayTest, MaxKeysRefusesNewKeysAndCountsThem) {
  auto route = Limited(RouteRateLimit::Key::kClientIp, 5);
  route.rate_limit->max_keys = 64;  // one per shard
  auto gw = Gateway::Create(Options({route}), clock_).value();
  metrics::MetricsRegistry registry;
  DecisionRecorder recorder(registry, nullptr);
  const std::string auth = Bearer(Claims());
  int refused = 0;
  std::string admitted;
  for (int i = 0; i < 500; ++i) {
    const std::string ip = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    const Decision decision = Decide(*gw, "GET", "/orders", auth, ip);
    recorder.Record("proxy", {.client_ip = ip}, decision, decision.status,
                    std::chrono::microseconds(5));
    const int status = decision.status;
    if (status == 429) ++refused;
    if (status == 200 && admitted.empty()) admitted = ip;
  }
  EXPECT_GT(refused, 0);
  const auto stats = gw->RateLimiterStats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_LE(stats[0].stats.keys, 64u);
  EXPECT_EQ(stats[0].stats.key_limit_denials, static_cast<uint64_t>(refused));
  EXPECT_EQ(Decide(*gw, "GET", "/orders", auth, admitted).status, 200);
  // Counted for /metrics as they are recorded, once each however often it
  // is scraped.
  recorder.RefreshRateLimitGauges(*gw);
  recorder.RefreshRateLimitGauges(*gw);
  EXPECT_NE(registry.RenderPrometheusText().find(
                "bulwark_gateway_rate_limit_key_refusals_total{route=\"orders\"} " +
                std::to_string(refused) + "\n"),
            std::string::npos)
      << registry.RenderPrometheusText();
}

TEST_F(GatewayTest, InvalidRateLimitIsRefusedAtCreation) {
  auto route = Limited(RouteRateLimit::Key::kClientIp, 0);
  auto gw = Gateway::Create(Options({route}), clock_);
  ASSERT_FALSE(gw.has_value());
  EXPECT_EQ(gw.error().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace bulwark::gateway::testing

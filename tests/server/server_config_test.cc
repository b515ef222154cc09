#include "server/server_config.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "gateway/health_checker.h"

namespace bulwark::server {
namespace {

Result<ServerConfig> Parse(std::string_view yaml) {
  auto root = ParseConfig(yaml, "bulwark.yaml");
  if (!root) return Err(root.error());
  return ServerConfigFromNode(*root);
}

// Each of `configs` is refused.
void ExpectEachRefused(std::initializer_list<std::string_view> configs) {
  for (std::string_view bad : configs) EXPECT_FALSE(Parse(bad).has_value()) << bad;
}

TEST(ServerConfigTest, QuickstartExampleLoads) {
  // The example takes its admin token from the environment, as it should.
  ::setenv("BULWARK_ADMIN_TOKEN", "quickstart-test-admin-token-0123456789abcdef", 1);
  auto cfg = LoadServerConfig(std::string(BULWARK_SOURCE_DIR) + "/examples/quickstart.yaml");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  EXPECT_EQ(cfg->store.backend, "sqlite");
  EXPECT_EQ(cfg->listener.port, 8080);
  EXPECT_TRUE(cfg->admin.has_value());
}

// /metrics names upstream endpoints: by default only loopback peers get it
// (behind a load balancer on a private network, every client is a private
// peer).
TEST(ServerConfigTest, MetricsGoToLoopbackPeersUnlessToldOtherwise) {
  auto allowed = [](const ServerConfig& cfg, std::string_view peer) {
    return cfg.listener.MetricsAllowed(peer);
  };
  auto cfg = Parse("server: {listen: 127.0.0.1:0}\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  for (std::string_view peer : {"127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(allowed(*cfg, peer)) << peer;
  }
  for (std::string_view peer :
       {"203.0.113.7", "10.1.2.3", "192.168.1.1", "fd00::1", "2001:db8::1", "::ffff:8.8.8.8"}) {
    EXPECT_FALSE(allowed(*cfg, peer)) << peer;
  }
  cfg = Parse("server: {metrics_allow: [192.0.2.0/24]}\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  EXPECT_TRUE(allowed(*cfg, "192.0.2.9"));
  EXPECT_FALSE(allowed(*cfg, "127.0.0.1"));
  cfg = Parse("server: {metrics_allow: []}\n");
  ASSERT_TRUE(cfg.has_value());
  EXPECT_TRUE(cfg->listener.metrics_allow.empty());
  for (std::string_view bad :
       {"server: {metrics_allow: [10.0.0.1/8]}\n", "server: {metrics_allow: 10.0.0.0/8}\n"}) {
    auto refused = Parse(bad);
    ASSERT_FALSE(refused.has_value()) << bad;
    EXPECT_NE(refused.error().message().find("server.metrics_allow"), std::string::npos)
        << refused.error().message();
  }
}

TEST(ServerConfigTest, AdminTokenMustBeStrongAndIsNotKept) {
  auto cfg = Parse("admin: {token: short}\n");
  ASSERT_FALSE(cfg.has_value());
  EXPECT_NE(cfg.error().message().find("field 'admin.token'"), std::string::npos);
  cfg = Parse("admin: {token: an-admin-token-of-at-least-32-characters}\n");
  ASSERT_TRUE(cfg.has_value());
  EXPECT_EQ(cfg->admin->token_sha256.size(), 32u);  // a hash, not the token
  EXPECT_EQ(cfg->admin->token_sha256.find("an-admin"), std::string::npos);
}

// The admin API mints keys and changes policies: by default only a caller
// on this machine reaches it, and `admin.allow` opens it to named networks.
TEST(ServerConfigTest, TheAdminApiIsOpenToLoopbackUnlessAllowNamesOthers) {
  auto cfg = Parse("admin: {token: an-admin-token-of-at-least-32-characters}\n");
  ASSERT_TRUE(cfg.has_value());
  ASSERT_TRUE(cfg->admin->peer_allowed);
  for (std::string_view peer : {"127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(cfg->admin->peer_allowed(peer)) << peer;
  }
  for (std::string_view peer : {"10.0.0.5", "192.0.2.1", "::2", "", "not-an-address"}) {
    EXPECT_FALSE(cfg->admin->peer_allowed(peer)) << peer;
  }
  cfg = Parse(
      "admin: {token: an-admin-token-of-at-least-32-characters, allow: [10.20.0.0/16, "
      "'2001:db8::/32']}\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().message();
  EXPECT_TRUE(cfg->admin->peer_allowed("10.20.3.4"));
  EXPECT_TRUE(cfg->admin->peer_allowed("2001:db8::7"));
  EXPECT_FALSE(cfg->admin->peer_allowed("127.0.0.1"));  // named networks only
  EXPECT_FALSE(cfg->admin->peer_allowed("10.21.0.1"));
  for (std::string_view bad : {"allow: []", "allow: [10.0.0.1/8]", "allow: [nope]"}) {
    cfg = Parse("admin: {token: an-admin-token-of-at-least-32-characters, " + std::string(bad) +
                "}\n");
    ASSERT_FALSE(cfg.has_value()) << bad;
    EXPECT_NE(cfg.error().message().find("admin.allow"), std::string::npos)
        << cfg.error().message();
  }
}

TEST(ServerConfigTest, PolicySectionNamesFilesAndKeepsOnlyTheTokenHash) {
  auto cfg = Parse(
      "policy: {policies_file: p.cedar, entities_file: /abs/e.json,"
      " api_token: a-decision-api-token-of-32-chars-or-more}\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  ASSERT_TRUE(cfg->policy.has_value());
  EXPECT_EQ(cfg->policy->policies_file, "./p.cedar");  // relative to the config's folder
  EXPECT_EQ(cfg->policy->entities_file, "/abs/e.json");
  EXPECT_EQ(cfg->policy->api_token_sha256.size(), 32u);
  cfg = Parse("policy: {policies_file: p.cedar, api_token: short}\n");
  ASSERT_FALSE(cfg.has_value());
  EXPECT_NE(cfg.error().message().find("field 'policy.api_token'"), std::string::npos);
  EXPECT_FALSE(Parse("policy: {api_token: a-decision-api-token-of-32-chars-or-more}\n")
                   .has_value());  // no policies file
  EXPECT_FALSE(Parse("policy: {policies_file: p.cedar, token: x}\n").has_value());
}

TEST(ServerConfigTest, PolicyInTheStoreNeedsNoFiles) {
  auto cfg = Parse(
      "policy: {store: true, schema_file: s.cedarschema,"
      " api_token: a-decision-api-token-of-32-chars-or-more}\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  EXPECT_TRUE(cfg->policy->store);
  EXPECT_TRUE(cfg->policy->policies_file.empty());
  EXPECT_EQ(cfg->policy->schema_file, "./s.cedarschema");
}

TEST(ServerConfigTest, OneAuditFileForEveryDecision) {
  auto cfg = Parse("audit: {file: audit.jsonl, fsync: every_batch}\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  ASSERT_TRUE(cfg->audit.has_value());
  EXPECT_EQ(cfg->audit->path, "./audit.jsonl");
  // The older place still works, and the two together are refused.
  cfg = Parse("gateway: {audit: {file: g.jsonl}}\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  EXPECT_EQ(cfg->audit->path, "./g.jsonl");
  EXPECT_FALSE(Parse("audit: {file: a.jsonl}\ngateway: {audit: {file: g.jsonl}}\n").has_value());
  EXPECT_FALSE(Parse("audit: {path: a.jsonl}\n").has_value());
}

TEST(ServerConfigTest, DefaultsAreSafe) {
  auto cfg = Parse("{}");
  ASSERT_TRUE(cfg.has_value());
  EXPECT_EQ(cfg->listener.host, "127.0.0.1");  // loopback unless told otherwise
  EXPECT_EQ(cfg->store.backend, "sqlite");
}

TEST(ServerConfigTest, IoUringIsOnUnlessTurnedOff) {
  auto cfg = Parse("{}");
  ASSERT_TRUE(cfg.has_value());
  EXPECT_TRUE(cfg->listener.io_uring);
  cfg = Parse("server:\n  io_uring: false\n");
  ASSERT_TRUE(cfg.has_value());
  EXPECT_FALSE(cfg->listener.io_uring);
  EXPECT_FALSE(Parse("server:\n  io_uring: maybe\n").has_value());
}

TEST(ServerConfigTest, BusyPollingIsOffUnlessAWindowUpToAMillisecondIsGiven) {
  auto cfg = Parse("{}");
  ASSERT_TRUE(cfg.has_value());
  EXPECT_EQ(cfg->listener.busy_poll.count(), 0);
  cfg = Parse("server:\n  busy_poll_us: 50\n");
  ASSERT_TRUE(cfg.has_value());
  EXPECT_EQ(cfg->listener.busy_poll, std::chrono::microseconds(50));
  EXPECT_TRUE(Parse("server:\n  busy_poll_us: 1000\n").has_value());
  EXPECT_FALSE(Parse("server:\n  busy_poll_us: 1001\n").has_value());
  EXPECT_FALSE(Parse("server:\n  busy_poll_us: -1\n").has_value());
  EXPECT_FALSE(Parse("server:\n  busy_poll_us: soon\n").has_value());
}

TEST(ServerConfigTest, ConnectionCapsAndTheShutdownDelayCanBeSet) {
  auto cfg = Parse("{}");
  ASSERT_TRUE(cfg.has_value());
  EXPECT_EQ(cfg->listener.max_connections, 10'000u);
  EXPECT_EQ(cfg->listener.shutdown_delay, std::chrono::milliseconds(0));
  cfg = Parse("server: {max_connections: 50000, shutdown_delay_ms: 15000}\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  EXPECT_EQ(cfg->listener.max_connections, 50'000u);
  EXPECT_EQ(cfg->listener.shutdown_delay, std::chrono::milliseconds(15'000));
  for (const char* bad :
       {"server: {max_connections: 0}\n", "server: {max_connections: 1000001}\n",
        "server: {shutdown_delay_ms: -1}\n", "server: {shutdown_delay_ms: 600001}\n"}) {
    EXPECT_FALSE(Parse(bad).has_value()) << bad;
  }
}

TEST(ServerConfigTest, RequestBodiesAreLimitedToOneMebibyteUnlessRaised) {
  auto cfg = Parse("{}");
  ASSERT_TRUE(cfg.has_value());
  EXPECT_EQ(cfg->listener.max_body_bytes, 1u << 20);
  cfg = Parse("server:\n  max_body_bytes: 16777216\n");
  ASSERT_TRUE(cfg.has_value());
  EXPECT_EQ(cfg->listener.max_body_bytes, 16u << 20);
  EXPECT_FALSE(Parse("server:\n  max_body_bytes: -1\n").has_value());
  EXPECT_FALSE(Parse("server:\n  max_body_bytes: 1099511627777\n").has_value());  // 1 TiB + 1
}

// A header section as large as nginx's default buffers take, so that
// forward-auth behind nginx is never asked about a request nginx accepted;
// each limit can be set, within bounds.
TEST(ServerConfigTest, RequestHeadLimitsDefaultToWhatNginxAcceptsAndCanBeSet) {
  auto cfg = Parse("server: {}\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  EXPECT_EQ(cfg->listener.max_request_line, 8u << 10);
  EXPECT_EQ(cfg->listener.max_header_bytes, 64u << 10);
  EXPECT_EQ(cfg->listener.max_header_count, 100u);
  cfg = Parse(
      "server: {max_request_line_bytes: 16384, max_header_bytes: 131072, max_header_fields: "
      "200}\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  EXPECT_EQ(cfg->listener.max_request_line, 16u << 10);
  EXPECT_EQ(cfg->listener.max_header_bytes, 128u << 10);
  EXPECT_EQ(cfg->listener.max_header_count, 200u);
  for (const char* bad :
       {"server: {max_request_line_bytes: 100}\n", "server: {max_header_bytes: 2097152}\n",
        "server: {max_header_fields: 0}\n"}) {
    EXPECT_FALSE(Parse(bad).has_value()) << bad;
  }
}

TEST(ServerConfigTest, BodiesOverSixtyFourKibibytesStreamAndHeldOnesAreBounded) {
  auto cfg = Parse("{}");
  ASSERT_TRUE(cfg.has_value());
  EXPECT_EQ(cfg->listener.max_held_body_bytes, 64u << 10);
  // Large uploads stream, so the limit on them may be far above what is held.
  cfg = Parse("server:\n  max_body_bytes: 10737418240\n");
  ASSERT_TRUE(cfg.has_value());
  EXPECT_EQ(cfg->listener.max_body_bytes, size_t{10} << 30);
  // Holding every body (as a buffering proxy) is bounded by memory.
  cfg = Parse("server:\n  max_body_bytes: 8388608\n  max_held_body_bytes: 8388608\n");
  ASSERT_TRUE(cfg.has_value());
  EXPECT_EQ(cfg->listener.max_held_body_bytes, 8u << 20);
  EXPECT_FALSE(Parse("server:\n  max_body_bytes: 1073741824\n  max_held_body_bytes: 1073741824\n")
                   .has_value());
  EXPECT_FALSE(Parse("server:\n  max_held_body_bytes: -1\n").has_value());
  // Uploads slower than 240 bytes a second are cut unless told otherwise.
  EXPECT_EQ(Parse("{}")->listener.min_body_bytes_per_second, 240u);
  cfg = Parse("server:\n  min_body_bytes_per_second: 0\n");
  ASSERT_TRUE(cfg.has_value());
  EXPECT_EQ(cfg->listener.min_body_bytes_per_second, 0u);
  EXPECT_FALSE(Parse("server:\n  min_body_bytes_per_second: -1\n").has_value());
}

TEST(ServerConfigTest, ParsesListenAddresses) {
  std::string host;
  uint16_t port = 0;
  EXPECT_TRUE(ParseHostPort("0.0.0.0:443", &host, &port).ok());
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 443);
  EXPECT_TRUE(ParseHostPort("[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  for (std::string_view bad :
       {"localhost", ":80", "::1:80", "a:65536", "a:-1", "a:8o", "[::1:80"}) {
    EXPECT_EQ(ParseHostPort(bad, &host, &port).code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ServerConfigTest, ErrorsNameLineAndField) {
  auto cfg = Parse("server:\n  listen: 127.0.0.1:99999\n");
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().message(),
            "bulwark.yaml:2:11: field 'server.listen': port must be a number from 0 to 65535");
  cfg = Parse("store:\n  backend: postgres\n");
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().message(),
            "bulwark.yaml:2:12: field 'store.backend': expected one of: sqlite, memory");
}

TEST(ServerConfigTest, RefusesUnknownFields) {
  auto cfg = Parse("server:\n  listen: 127.0.0.1:1\n  thread: 4\n");
  ASSERT_FALSE(cfg.has_value());
  EXPECT_NE(cfg.error().message().find("field 'server.thread': unknown field"), std::string::npos);
  EXPECT_FALSE(Parse("stores: {}\n").has_value());
}

TEST(ServerConfigTest, TlsDefaultsToTls13WithoutClientCertificates) {
  auto cfg = Parse("server:\n  tls: {cert_file: /c.pem, key_file: k.pem}\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  ASSERT_TRUE(cfg->listener.tls.has_value());
  EXPECT_EQ(cfg->listener.tls->cert_file, "/c.pem");
  EXPECT_EQ(cfg->listener.tls->key_file, "./k.pem");  // relative to the config file
  EXPECT_FALSE(cfg->listener.tls->allow_tls12);
  EXPECT_EQ(cfg->listener.tls->client_auth, net::ClientAuth::kNone);
  EXPECT_FALSE(Parse("{}")->listener.tls.has_value());
}

TEST(ServerConfigTest, TlsClientAuthNeedsACaBundle) {
  auto cfg = Parse(
      "server:\n  tls: {cert_file: c, key_file: k, client_auth: required, "
      "client_ca_file: ca.pem, crl_file: crl.pem, min_version: \"1.2\"}\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  EXPECT_EQ(cfg->listener.tls->client_auth, net::ClientAuth::kRequired);
  EXPECT_TRUE(cfg->listener.tls->allow_tls12);
  ExpectEachRefused({
      "server:\n  tls: {cert_file: c, key_file: k, client_auth: required}\n",
      "server:\n  tls: {cert_file: c, key_file: k, client_ca_file: ca.pem}\n",
      "server:\n  tls: {cert_file: c, key_file: k, crl_file: crl.pem}\n",
      "server:\n  tls: {cert_file: c, key_file: k, min_version: \"1.1\"}\n",
      "server:\n  tls: {cert_file: c}\n",
      "server:\n  tls: {cert_file: c, key_file: k, client_auth: maybe}\n",
  });
}

TEST(ServerConfigTest, TlsGroupsAreCurvesInTheirOrder) {
  auto plain = Parse("server:\n  tls: {cert_file: c, key_file: k}\n");
  ASSERT_TRUE(plain.has_value()) << plain.error().ToString();
  EXPECT_EQ(plain->listener.tls->groups, (std::vector<std::string>{"X25519", "P-256"}));
  auto cfg = Parse("server:\n  tls: {cert_file: c, key_file: k, groups: [P-384, X25519, X448]}\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  EXPECT_EQ(cfg->listener.tls->groups, (std::vector<std::string>{"P-384", "X25519", "X448"}));
  auto ffdhe = Parse("server:\n  tls: {cert_file: c, key_file: k, groups: [X25519, ffdhe2048]}\n");
  ASSERT_FALSE(ffdhe.has_value());
  EXPECT_NE(ffdhe.error().message().find("finite-field"), std::string::npos)
      << ffdhe.error().ToString();
  ExpectEachRefused({
      "server:\n  tls: {cert_file: c, key_file: k, groups: []}\n",
      "server:\n  tls: {cert_file: c, key_file: k, groups: X25519}\n",
      "server:\n  tls: {cert_file: c, key_file: k, groups: [x25519]}\n",
      "server:\n  tls: {cert_file: c, key_file: k, groups: [prime256v1]}\n",
      "server:\n  tls: {cert_file: c, key_file: k, groups: [X25519, X25519]}\n",
      "server:\n  tls: {cert_file: c, key_file: k, groups: [ffdhe8192]}\n",
  });
}

TEST(ServerConfigTest, TlsHandshakesPerClientAreRateLimitedByDefault) {
  auto plain = Parse("server:\n  tls: {cert_file: c, key_file: k}\n");
  ASSERT_TRUE(plain.has_value()) << plain.error().ToString();
  ASSERT_TRUE(plain->listener.handshake_limit.has_value());
  EXPECT_EQ(plain->listener.handshake_limit->limit, 256u);
  EXPECT_EQ(plain->listener.handshake_limit->window, std::chrono::seconds(1));
  EXPECT_EQ(plain->listener.handshake_limit->algorithm,
            guard::RateLimitPolicy::Algorithm::kTokenBucket);
  EXPECT_TRUE(guard::ValidateRateLimitPolicy(*plain->listener.handshake_limit).ok());
  EXPECT_FALSE(Parse("{}")->listener.handshake_limit.has_value());  // no TLS

  auto custom = Parse(
      "server:\n  tls: {cert_file: c, key_file: k, handshakes_per_client: "
      "{limit: 20, window_ms: 60000, burst: 5, max_keys: 1000}}\n");
  ASSERT_TRUE(custom.has_value()) << custom.error().ToString();
  EXPECT_EQ(custom->listener.handshake_limit->limit, 20u);
  EXPECT_EQ(custom->listener.handshake_limit->burst, 5u);
  EXPECT_EQ(custom->listener.handshake_limit->window, std::chrono::minutes(1));
  EXPECT_EQ(custom->listener.handshake_limit_max_keys, 1000u);
  EXPECT_TRUE(guard::ValidateRateLimitPolicy(*custom->listener.handshake_limit).ok());

  auto off = Parse("server:\n  tls: {cert_file: c, key_file: k, handshakes_per_client: off}\n");
  ASSERT_TRUE(off.has_value()) << off.error().ToString();
  EXPECT_FALSE(off->listener.handshake_limit.has_value());
  ExpectEachRefused({
      "server:\n  tls: {cert_file: c, key_file: k, handshakes_per_client: on}\n",
      "server:\n  tls: {cert_file: c, key_file: k, handshakes_per_client: {limit: 0, "
      "window_ms: 1000}}\n",
      "server:\n  tls: {cert_file: c, key_file: k, handshakes_per_client: {limit: 5}}\n",
      "server:\n  tls: {cert_file: c, key_file: k, handshakes_per_client: {limit: 5, "
      "window_ms: 1000, key: client_ip}}\n",
  });
}

TEST(ServerConfigTest, SpiffeBundlesMapTrustDomainsToCaFiles) {
  auto cfg = Parse(
      "server:\n  tls: {cert_file: c, key_file: k, client_auth: required, client_ca_file: ca.pem,"
      " spiffe_bundles: {prod.example: prod.pem, partner.example: /etc/partner.pem}}\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  const auto& bundles = cfg->listener.tls->spiffe_bundles;
  ASSERT_EQ(bundles.size(), 2u);
  EXPECT_EQ(bundles[0].first, "prod.example");
  EXPECT_TRUE(bundles[0].second.ends_with("/prod.pem"));
  EXPECT_EQ(bundles[1].second, "/etc/partner.pem");
  ExpectEachRefused({
      // not a trust domain (upper case, a path), not a map, no CA bundle
      "server:\n  tls: {cert_file: c, key_file: k, client_auth: required, client_ca_file: "
      "ca.pem, spiffe_bundles: {Prod.Example: p.pem}}\n",
      "server:\n  tls: {cert_file: c, key_file: k, client_auth: required, client_ca_file: "
      "ca.pem, spiffe_bundles: {prod.example/x: p.pem}}\n",
      "server:\n  tls: {cert_file: c, key_file: k, client_auth: required, client_ca_file: "
      "ca.pem, spiffe_bundles: [p.pem]}\n",
      "server:\n  tls: {cert_file: c, key_file: k, spiffe_bundles: {prod.example: p.pem}}\n",
  });
}

TEST(ServerConfigTest, GatewayUpstreamTlsHealthChecksAndIdentityToken) {
  auto cfg = Parse(R"(gateway:
  identity_token: {key_file: id.jwk, issuer: "https://bulwark.internal", ttl_seconds: 30}
  upstreams:
    - name: orders
      address: 10.0.0.5:8443
      tls: {ca_file: ca.pem, server_name: orders.internal, cert_file: c.pem, key_file: k.pem}
      health_check: {path: /ready, interval_ms: 2000, unhealthy_threshold: 3}
  issuers:
    - {name: idp, issuer: "https://idp.example", audiences: [api], jwks_uri: "https://idp.example/jwks", jwks_min_refetch_seconds: 5}
    - {name: fwd, issuer: "https://fwd.example", audiences: [api], jwks_file: f.jwks, forward_token: true}
  routes: [{name: r, path_prefix: /, upstream: orders}]
)");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  const auto& gw = *cfg->gateway;
  ASSERT_TRUE(gw.identity_token.has_value());
  EXPECT_EQ(gw.identity_token->key_file, "./id.jwk");
  EXPECT_EQ(gw.identity_token->ttl, std::chrono::seconds(30));
  const auto& up = gw.upstreams.at(0);
  ASSERT_EQ(up.addresses.size(), 1u);  // `address` is a list of one
  EXPECT_EQ(up.addresses[0].host, "10.0.0.5");
  EXPECT_EQ(up.addresses[0].port, 8443);
  ASSERT_TRUE(up.options.tls.has_value());
  EXPECT_EQ(up.options.tls->server_name, "orders.internal");
  EXPECT_EQ(up.options.tls->ca_file, "./ca.pem");
  ASSERT_TRUE(up.health_check.has_value());
  EXPECT_EQ(up.health_check->path, "/ready");
  EXPECT_EQ(up.health_check->unhealthy_threshold, 3);
  EXPECT_EQ(up.health_check->healthy_threshold, 1);
  const auto& issuer = gw.options.issuers.at(0);
  EXPECT_EQ(issuer.jwks_uri, "https://idp.example/jwks");
  EXPECT_EQ(issuer.jwks_min_refetch_interval, std::chrono::seconds(5));
  EXPECT_EQ(issuer.jwks_refresh_interval, std::chrono::seconds(300));
  EXPECT_EQ(issuer.jwks_max_stale, std::chrono::hours(24));
  EXPECT_FALSE(issuer.forward_token) << "tokens stay here unless an issuer says otherwise";
  EXPECT_TRUE(gw.options.issuers.at(1).forward_token);
}

// Fetched keys are dropped once no fetch has confirmed them for
// jwks_max_stale_seconds: a day by default, never less than four refreshes,
// and never less than two when set.
TEST(ServerConfigTest, AnIssuersKeysGoStaleAfterMaxStale) {
  const auto stale = [](std::string_view fields) -> Result<std::chrono::milliseconds> {
    auto cfg = Parse(std::string(R"(gateway:
  issuers:
    - {name: idp, issuer: "https://idp.example", audiences: [api], jwks_uri: "https://idp.example/jwks", )") +
                     std::string(fields) + "}\n");
    if (!cfg) return Err(cfg.error());
    return cfg->gateway->options.issuers.at(0).jwks_max_stale;
  };
  EXPECT_EQ(*stale("jwks_max_stale_seconds: 3600"), std::chrono::hours(1));
  EXPECT_EQ(*stale("jwks_refresh_seconds: 43200"), std::chrono::hours(48));
  EXPECT_EQ(*stale("jwks_refresh_seconds: 600, jwks_max_stale_seconds: 1200"),
            std::chrono::minutes(20));
  for (const char* bad : {"jwks_refresh_seconds: 600, jwks_max_stale_seconds: 1199",
                          "jwks_max_stale_seconds: 0", "jwks_max_stale_seconds: 9999999"}) {
    const auto refused = stale(bad);
    ASSERT_FALSE(refused.has_value()) << bad;
    EXPECT_NE(refused.error().message().find("jwks_max_stale_seconds"), std::string::npos)
        << refused.error().message();
  }
}

TEST(ServerConfigTest, GatewayUpstreamOfSeveralEndpoints) {
  auto cfg = Parse(R"(gateway:
  upstreams: [{name: orders, addresses: ["10.0.0.5:8080", "[::1]:9000", "orders-2.internal:80"]}]
)");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  const auto& up = cfg->gateway->upstreams.at(0);
  ASSERT_EQ(up.addresses.size(), 3u);
  EXPECT_EQ(up.addresses[0].host, "10.0.0.5");
  EXPECT_EQ(up.addresses[1].host, "::1");
  EXPECT_EQ(up.addresses[1].port, 9000);
  EXPECT_EQ(up.addresses[2].host, "orders-2.internal");
  EXPECT_EQ(up.balance, gateway::UpstreamConfig::Balance::kRoundRobin) << "the default";
  auto least = Parse(R"(gateway:
  upstreams: [{name: orders, addresses: ["10.0.0.5:8080", "10.0.0.6:8080"], balance: least_request}]
)");
  ASSERT_TRUE(least.has_value()) << least.error().ToString();
  EXPECT_EQ(least->gateway->upstreams.at(0).balance,
            gateway::UpstreamConfig::Balance::kLeastRequest);
  EXPECT_EQ(up.addresses[0].weight, 1) << "the default";
  auto weighted = Parse(R"(gateway:
  upstreams: [{name: orders, addresses: [{address: "10.0.0.5:8080", weight: 3}, "10.0.0.6:8080"]}]
)");
  ASSERT_TRUE(weighted.has_value()) << weighted.error().ToString();
  EXPECT_EQ(weighted->gateway->upstreams.at(0).addresses[0].weight, 3);
  EXPECT_EQ(weighted->gateway->upstreams.at(0).addresses[0].host, "10.0.0.5");
  EXPECT_EQ(weighted->gateway->upstreams.at(0).addresses[1].weight, 1);
  EXPECT_FALSE(up.retry.has_value()) << "no policy unless asked for";
  EXPECT_EQ(up.dns_refresh, std::chrono::milliseconds(5000)) << "names looked up every 5 s";
  auto once = Parse(R"(gateway:
  upstreams: [{name: a, address: "svc:80", dns_refresh_ms: 0},
              {name: b, address: "svc:80", dns_refresh_ms: 100, idle_timeout_ms: 4000}]
)");
  ASSERT_TRUE(once.has_value()) << once.error().ToString();
  EXPECT_EQ(once->gateway->upstreams.at(0).dns_refresh, std::chrono::milliseconds(0));
  EXPECT_EQ(once->gateway->upstreams.at(1).dns_refresh, std::chrono::milliseconds(100));
  EXPECT_EQ(once->gateway->upstreams.at(0).options.idle_timeout, std::chrono::seconds(30))
      << "pooled connections idle 30 s at most";
  EXPECT_EQ(once->gateway->upstreams.at(1).options.idle_timeout, std::chrono::seconds(4));
}

TEST(ServerConfigTest, ParsesAnUpstreamRetryPolicy) {
  auto parsed = Parse(R"(gateway:
  upstreams:
    - name: orders
      address: "10.0.0.5:8080"
      retry: {on: [reset, timeout, gateway-error, 429, 503], attempts: 4, per_try_timeout_ms: 900,
              backoff_base_ms: 10, budget_percent: 50}
)");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  const std::optional<gateway::RetryPolicy>& retry = parsed->gateway->upstreams.at(0).retry;
  ASSERT_TRUE(retry.has_value());
  EXPECT_TRUE(retry->on_reset);
  EXPECT_TRUE(retry->on_timeout);
  EXPECT_EQ(retry->statuses, (std::vector<int>{429, 502, 503, 504})) << "sorted, once each";
  EXPECT_EQ(retry->attempts, 4);
  EXPECT_EQ(retry->per_try_timeout, std::chrono::milliseconds(900));
  EXPECT_EQ(retry->backoff_base, std::chrono::milliseconds(10));
  EXPECT_EQ(retry->backoff_max, std::chrono::milliseconds(100)) << "ten times the base";
  EXPECT_EQ(retry->budget_percent, 50);

  // Only what is listed: a 503 alone, no reset, no timeout.
  auto only = Parse(R"(gateway:
  upstreams: [{name: orders, address: "h:1", retry: {on: [503, connect-failure]}}]
)");
  ASSERT_TRUE(only.has_value()) << only.error().ToString();
  EXPECT_FALSE(only->gateway->upstreams.at(0).retry->on_reset);
  EXPECT_FALSE(only->gateway->upstreams.at(0).retry->on_timeout);
  EXPECT_EQ(only->gateway->upstreams.at(0).retry->statuses, std::vector<int>{503});

  // An empty policy: resets and gateway errors, tries left to the proxy.
  auto defaults = Parse(R"(gateway:
  upstreams: [{name: orders, address: "h:1", retry: {}}]
)");
  ASSERT_TRUE(defaults.has_value()) << defaults.error().ToString();
  const gateway::RetryPolicy& d = *defaults->gateway->upstreams.at(0).retry;
  EXPECT_TRUE(d.on_reset);
  EXPECT_FALSE(d.on_timeout);
  EXPECT_EQ(d.statuses, (std::vector<int>{502, 503, 504}));
  EXPECT_EQ(d.attempts, 0);
  EXPECT_EQ(d.per_try_timeout, std::chrono::milliseconds(0));
  EXPECT_EQ(d.backoff_base, std::chrono::milliseconds(25));
  EXPECT_EQ(d.backoff_max, std::chrono::milliseconds(250));
  EXPECT_EQ(d.budget_percent, 20);

  auto slow = Parse(R"(gateway:
  upstreams: [{name: orders, address: "h:1", retry: {backoff_base_ms: 10000}}]
)");
  ASSERT_TRUE(slow.has_value()) << slow.error().ToString();
  EXPECT_EQ(slow->gateway->upstreams.at(0).retry->backoff_max, std::chrono::milliseconds(60000))
      << "ten times the base, but not past the most allowed";

  auto all = Parse(R"(gateway:
  upstreams: [{name: orders, address: "h:1", retry: {on: [5xx]}}]
)");
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  EXPECT_EQ(all->gateway->upstreams.at(0).retry->statuses.size(), 100u);
}

TEST(ServerConfigTest, ParsesARouteRetryPolicy) {
  auto parsed = Parse(R"(gateway:
  upstreams: [{name: orders, address: "h:1", retry: {on: [503], attempts: 4}}]
  routes:
    - {name: reads, path_prefix: /r, upstream: orders, retry: {on: [timeout], per_try_timeout_ms: 200}}
    - {name: writes, path_prefix: /w, upstream: orders, retry: {attempts: 1}}
    - {name: rest, path_prefix: /, upstream: orders}
)");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  const std::vector<gateway::Route>& routes = parsed->gateway->options.routes;
  ASSERT_EQ(routes.size(), 3u);
  ASSERT_TRUE(routes[0].retry.has_value());
  EXPECT_TRUE(routes[0].retry->on_timeout);
  EXPECT_FALSE(routes[0].retry->on_reset) << "the route's list replaces the defaults";
  EXPECT_TRUE(routes[0].retry->statuses.empty()) << "nothing taken from the upstream's";
  EXPECT_EQ(routes[0].retry->attempts, 0);
  EXPECT_EQ(routes[0].retry->per_try_timeout, std::chrono::milliseconds(200));
  ASSERT_TRUE(routes[1].retry.has_value());
  EXPECT_EQ(routes[1].retry->attempts, 1);
  EXPECT_FALSE(routes[2].retry.has_value()) << "the upstream's applies";
}

TEST(ServerConfigTest, ParsesARouteResponseTimeout) {
  auto parsed = Parse(R"(gateway:
  upstreams: [{name: orders, address: "h:1", response_timeout_ms: 5000}]
  routes:
    - {name: reports, path_prefix: /reports, upstream: orders, response_timeout_ms: 120000}
    - {name: rest, path_prefix: /, upstream: orders}
)");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  const std::vector<gateway::Route>& routes = parsed->gateway->options.routes;
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].response_timeout, std::chrono::milliseconds(120000));
  EXPECT_FALSE(routes[1].response_timeout.has_value()) << "the upstream's applies";
}

// A route to upstream `u` with `fields` (flow-style YAML keys) is refused,
// its message naming `field`.
void ExpectRouteRefused(std::string_view fields, std::string_view field) {
  const std::string yaml = fmt::format(
      "gateway:\n  upstreams: [{{name: u, address: \"h:1\"}}]\n"
      "  routes: [{{name: r, upstream: u, {}}}]\n",
      fields);
  auto refused = Parse(yaml);
  ASSERT_FALSE(refused.has_value()) << fields;
  EXPECT_NE(refused.error().message().find(field), std::string::npos)
      << fields << ": " << refused.error().message();
}

TEST(ServerConfigTest, ParsesARoutePrefixRewrite) {
  auto parsed = Parse(R"(gateway:
  upstreams: [{name: orders, address: "h:1"}]
  routes:
    - {name: v1, path_prefix: /api/orders, upstream: orders, prefix_rewrite: /v1/}
    - {name: strip, path_prefix: /orders/, upstream: orders, prefix_rewrite: /}
    - {name: rest, path_prefix: /, upstream: orders}
)");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  const std::vector<gateway::Route>& routes = parsed->gateway->options.routes;
  ASSERT_EQ(routes.size(), 3u);
  EXPECT_EQ(routes[0].prefix_rewrite, "/v1") << "kept without its trailing slash";
  EXPECT_EQ(routes[1].prefix_rewrite, "");
  EXPECT_FALSE(routes[2].prefix_rewrite.has_value());
  for (std::string_view bad :
       {"v1", "/v1/../admin", "/v1//x", "/v1?x=1", "/v1#x", "/%761", "/v1/%2F", "/a b", ""}) {
    ExpectRouteRefused(fmt::format("prefix_rewrite: \"{}\"", bad), "prefix_rewrite");
  }
  EXPECT_FALSE(Parse("gateway:\n  routes: [{name: r, prefix_rewrite: /v1}]\n").has_value())
      << "a rewrite needs an upstream";
  auto odd_prefix = Parse(
      "gateway:\n  upstreams: [{name: u, address: \"h:1\"}]\n"
      "  routes: [{name: r, upstream: u, path_prefix: \"/a//b\", prefix_rewrite: /}]\n");
  ASSERT_FALSE(odd_prefix.has_value());
  EXPECT_NE(odd_prefix.error().message().find("path_prefix"), std::string::npos);
}

// A request's path is matched normalized, so a prefix in another form
// would never match and its requests would fall through to a later, maybe
// looser, route (a public `/`): refused, rewritten or not.
TEST(ServerConfigTest, ARoutesPathPrefixIsNormalized) {
  for (std::string_view bad : {"/a//b", "/a/../admin", "/./admin", "/%7Euser", "/caf%c3%a9/admin",
                               "/admin?x=1", "/a%2Fb", "/admin//"}) {
    ExpectRouteRefused(fmt::format("path_prefix: \"{}\"", bad), "path_prefix");
  }
  for (std::string_view good : {"/", "/admin", "/admin/", "/caf%C3%A9/admin", "/~user", "/v1.2"}) {
    const std::string yaml = fmt::format(
        "gateway:\n  upstreams: [{{name: u, address: \"h:1\"}}]\n"
        "  routes: [{{name: r, upstream: u, path_prefix: \"{}\"}}]\n",
        good);
    auto parsed = Parse(yaml);
    EXPECT_TRUE(parsed.has_value()) << good << ": " << parsed.error().message();
  }
}

// A route's host is matched as a Host is read: case and one final dot do
// not count. A port, which a Host's never counts either, or a name that is
// not one, is refused rather than matching every host or none.
TEST(ServerConfigTest, ARoutesHostIsAHostName) {
  auto parsed = Parse(R"(gateway:
  upstreams: [{name: u, address: "h:1"}]
  routes:
    - {name: a, path_prefix: /a, upstream: u, host: Admin.Example.}
    - {name: b, path_prefix: /b, upstream: u, host: "[::1]"}
    - {name: c, path_prefix: /c, upstream: u}
)");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  const std::vector<gateway::Route>& routes = parsed->gateway->options.routes;
  ASSERT_EQ(routes.size(), 3u);
  EXPECT_EQ(routes[0].host, "admin.example");
  EXPECT_EQ(routes[1].host, "[::1]");
  EXPECT_EQ(routes[2].host, "");
  EXPECT_TRUE(routes[2].case_sensitive) << "by default";
  auto any_case = Parse(R"(gateway:
  upstreams: [{name: u, address: "h:1"}]
  routes: [{name: a, path_prefix: /Admin, upstream: u, case_sensitive: false}]
)");
  ASSERT_TRUE(any_case.has_value()) << any_case.error().ToString();
  EXPECT_FALSE(any_case->gateway->options.routes[0].case_sensitive);
  for (std::string_view bad :
       {":8443", "api.example:8443", "::1", "[::1]:80", "a..example", ".", "a b", "u@h", "a/b"}) {
    ExpectRouteRefused(fmt::format("host: \"{}\"", bad), "host");
  }
}

TEST(ServerConfigTest, ParsesARoutesFieldRules) {
  auto parsed = Parse(R"(gateway:
  upstreams: [{name: orders, address: "h:1"}]
  routes:
    - name: orders
      upstream: orders
      request_headers: {set: {X-Env: prod, X-Team: "a, b"}, remove: [Cookie]}
      response_headers: {set: {Strict-Transport-Security: max-age=600}, remove: [Server]}
)");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  const gateway::Route& route = parsed->gateway->options.routes.at(0);
  using Set = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(route.request_fields.set, (Set{{"X-Env", "prod"}, {"X-Team", "a, b"}}));
  EXPECT_EQ(route.request_fields.remove, (std::vector<std::string>{"X-Env", "X-Team", "Cookie"}))
      << "a field set replaces the client's copies";
  EXPECT_EQ(route.response_fields.set, (Set{{"Strict-Transport-Security", "max-age=600"}}));
  EXPECT_EQ(route.response_fields.remove,
            (std::vector<std::string>{"Strict-Transport-Security", "Server"}));
  for (std::string_view bad : {
           // Bulwark's own request fields, the framing, this hop's
           "request_headers: {set: {Host: evil}}",
           "request_headers: {set: {X-Bulwark-Subject: root}}",
           "request_headers: {remove: [x-bulwark-identity]}",
           "request_headers: {set: {X-Forwarded-For: 10.0.0.1}}",
           "request_headers: {remove: [X-Request-Id]}",
           "request_headers: {set: {X_Env: a}}",
           "request_headers: {set: {Content-Length: 0}}",
           "request_headers: {remove: [Transfer-Encoding]}",
           "request_headers: {set: {Connection: close}}",
           "response_headers: {set: {Content-Length: 0}}",
           "response_headers: {remove: [Date]}",
           "response_headers: {set: {Transfer-Encoding: chunked}}",
           "response_headers: {set: {Upgrade: h2c}}",
           // not a field name, not a field value, an unknown key, not a map
           "request_headers: {set: {\"X Env\": a}}",
           "response_headers: {set: {\"X:Y\": a}}",
           "request_headers: {set: {X-Env: \"a\\r\\nX-Evil: 1\"}}",
           "response_headers: {set: {X-Env: \"a\\u0000\"}}",
           "response_headers: {set: {X-Env: \" a\"}}",
           "request_headers: {add: {X-Env: a}}",
           "request_headers: {set: [X-Env]}",
           // a remove that is not a list, a name twice (in any case)
           "request_headers: {remove: Cookie}",
           "response_headers: {remove: {Server: 1}}",
           "request_headers: {set: {X-Env: a, x-env: b}}",
           "request_headers: {set: {X-Env: a}, remove: [X-ENV]}",
           // the forwarding fields Bulwark drops from clients
           "request_headers: {set: {X-Forwarded-Prefix: /x}}",
           "request_headers: {remove: [X-Forwarded-Port]}",
           // what Bulwark's answers carry
           "response_headers: {remove: [X-Request-Id]}",
           "response_headers: {set: {WWW-Authenticate: Basic}}",
           "response_headers: {remove: [retry-after]}",
           "response_headers: {remove: [RateLimit]}",
       }) {
    ExpectRouteRefused(bad, "_headers");
  }
  EXPECT_FALSE(
      Parse("gateway:\n  routes: [{name: r, response_headers: {remove: [Server]}}]\n").has_value())
      << "rules need an upstream";
}

TEST(ServerConfigTest, ParsesARoutesCorsPolicy) {
  auto parsed = Parse(R"(gateway:
  upstreams: [{name: orders, address: "h:1"}]
  routes:
    - name: orders
      upstream: orders
      cors:
        allow_origins: [https://App.Example, "https://*.example.com", "http://localhost:3000"]
        allow_methods: [GET, PUT]
        allow_headers: [Authorization, Content-Type]
        expose_headers: [X-Total-Count]
        allow_credentials: true
        max_age_s: 600
    - {name: open, upstream: orders, path_prefix: /open, cors: {allow_origins: ["*"], allow_headers: ["*"]}}
)");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  const auto& routes = parsed->gateway->options.routes;
  ASSERT_TRUE(routes.at(0).cors);
  const gateway::CorsPolicy& cors = *routes[0].cors;
  EXPECT_EQ(cors.origins,
            (std::vector<std::string>{"https://app.example", "http://localhost:3000"}));
  ASSERT_EQ(cors.subdomains.size(), 1u);
  EXPECT_EQ(cors.subdomains[0].domain, "example.com");
  EXPECT_EQ(cors.methods, (std::vector<std::string>{"GET", "PUT"}));
  EXPECT_EQ(cors.headers, (std::vector<std::string>{"Authorization", "Content-Type"}));
  EXPECT_EQ(cors.expose_headers, (std::vector<std::string>{"X-Total-Count"}));
  EXPECT_TRUE(cors.credentials);
  EXPECT_EQ(cors.max_age_s, 600);
  ASSERT_TRUE(routes.at(1).cors);
  EXPECT_TRUE(routes[1].cors->any_origin);
  EXPECT_TRUE(routes[1].cors->any_header);
  EXPECT_EQ(routes[1].cors->methods, (std::vector<std::string>{"GET", "HEAD", "POST"}));
  EXPECT_FALSE(routes[1].cors->credentials);

  for (std::string_view bad : {
           "cors: {}",
           "cors: {allow_origins: []}",
           "cors: {allow_origins: https://app.example}",
           "cors: {allow_origins: [\"null\"]}",
           "cors: {allow_origins: [\"https://app.example/\"]}",
           "cors: {allow_origins: [\"https://*.com\"]}",
           "cors: {allow_origins: [\"https://app.example:443\"]}",
           // every site reading answers made with its visitors' cookies
           "cors: {allow_origins: [\"*\"], allow_credentials: true}",
           "cors: {allow_origins: [\"*\", \"https://app.example\"]}",
           "cors: {allow_origins: [\"https://app.example\"], allow_methods: [get]}",
           "cors: {allow_origins: [\"https://app.example\"], allow_methods: []}",
           "cors: {allow_origins: [\"https://app.example\"], allow_methods: [GET, GET]}",
           "cors: {allow_origins: [\"https://app.example\"], allow_headers: [\"a b\"]}",
           "cors: {allow_origins: [\"https://app.example\"], allow_headers: [A, a]}",
           "cors: {allow_origins: [\"https://app.example\"], allow_headers: [\"*\", A]}",
           "cors: {allow_origins: [\"https://app.example\"], allow_headers: Authorization}",
           "cors: {allow_origins: [\"https://app.example\"], expose_headers: [\"*\"]}",
           "cors: {allow_origins: [\"https://app.example\"], max_age_s: 86401}",
           "cors: {allow_origins: [\"https://app.example\"], allow_origin: x}",
           // the policy sets these itself
           "cors: {allow_origins: [\"https://app.example\"]}, "
           "response_headers: {set: {Access-Control-Allow-Origin: \"*\"}}",
           "cors: {allow_origins: [\"https://app.example\"]}, "
           "response_headers: {remove: [access-control-expose-headers]}",
       }) {
    ExpectRouteRefused(bad, "cors");
  }
  EXPECT_FALSE(
      Parse("gateway:\n  routes: [{name: r, cors: {allow_origins: [\"https://a.example\"]}}]\n")
          .has_value())
      << "a policy needs an upstream to answer for";
}

// A health check goes to each endpoint as the proxy does: over plain HTTP
// to any host, and to a name with `_` (a Docker Compose service's).
TEST(ServerConfigTest, HealthChecksTakeTheHostsTheProxyTakes) {
  auto cfg = Parse(R"(gateway:
  upstreams:
    - {name: a, addresses: ["orders_api:8080", "10.0.0.7:80", "[2001:db8::7]:80"], health_check: {path: "/health?full=1"}}
)");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  EXPECT_EQ(gateway::HealthCheckUrl(false, "orders_api", 8080, "/healthz"),
            "http://orders_api:8080/healthz");
  EXPECT_EQ(gateway::HealthCheckUrl(true, "2001:db8::7", 443, "/h"), "https://[2001:db8::7]:443/h");
}

TEST(ServerConfigTest, RefusesBadGatewayFields) {
  ExpectEachRefused({
      // both or neither key source
      "gateway:\n  issuers: [{name: i, issuer: x, audiences: [a], jwks_file: f, jwks_uri: "
      "\"https://x/j\"}]\n",
      "gateway:\n  issuers: [{name: i, issuer: x, audiences: [a]}]\n",
      "gateway:\n  issuers: [{name: i, issuer: x, audiences: [a], jwks_file: f, "
      "forward_token: maybe}]\n",
      "gateway:\n  issuers: [{name: i, issuer: x, audiences: [a], jwks_uri: \"ftp://x/j\"}]\n",
      // half a client certificate, a health path that is not a path
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", tls: {cert_file: c}}]\n",
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", health_check: {path: x}}]\n",
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", health_check: {interval_ms: 1}}]\n",
      // a check URL the checker could never fetch: every check would fail
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", health_check: {path: \"/a b\"}}]\n",
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", health_check: {path: "
      "\"/caf\u00e9\"}}]\n",
      "gateway:\n  upstreams: [{name: u, address: \"[fe80::1%eth0]:1\", health_check: {}}]\n",
      // an address and a list of them, an empty list, one not host:port
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", addresses: [\"h:2\"]}]\n",
      "gateway:\n  upstreams: [{name: u, addresses: []}]\n",
      "gateway:\n  upstreams: [{name: u, addresses: [\"h:1\", h]}]\n",
      "gateway:\n  upstreams: [{name: u}]\n",
      // two upstreams of one name (routes would only ever reach the first)
      "gateway:\n  upstreams: [{name: u, address: \"h:1\"}, {name: u, address: \"h:2\"}]\n",
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", balance: random}]\n",
      // a lookup more often than ten times a second, a negative one
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", dns_refresh_ms: 99}]\n",
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", dns_refresh_ms: -1}]\n",
      // an idle timeout under 100 ms or over an hour
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", idle_timeout_ms: 99}]\n",
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", idle_timeout_ms: 3600001}]\n",
      // a weight out of 1..100, a key a weighted address does not have
      "gateway:\n  upstreams: [{name: u, addresses: [{address: \"h:1\", weight: 0}]}]\n",
      "gateway:\n  upstreams: [{name: u, addresses: [{address: \"h:1\", weight: 101}]}]\n",
      "gateway:\n  upstreams: [{name: u, addresses: [{address: \"h:1\", port: 2}]}]\n",
      "gateway:\n  upstreams: [{name: u, address: {address: \"h:1\", weight: 2}}]\n",
      // retry: an unknown condition, a status that is not one to retry,
      // no condition, attempts out of 1..10, a backoff ceiling below
      // its base, a budget out of 1..100, an unknown key
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", retry: {on: [sometimes]}}]\n",
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", retry: {on: [200]}}]\n",
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", retry: {on: [5031]}}]\n",
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", retry: {on: [\"+503\"]}}]\n",
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", retry: {on: []}}]\n",
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", retry: {attempts: 0}}]\n",
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", retry: {attempts: 11}}]\n",
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", retry: {backoff_base_ms: 50, "
      "backoff_max_ms: 40}}]\n",
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", retry: {budget_percent: 0}}]\n",
      "gateway:\n  upstreams: [{name: u, address: \"h:1\", retry: {tries: 2}}]\n",
      // a route's retry: no budget of its own, an upstream to send to
      "gateway:\n  upstreams: [{name: u, address: \"h:1\"}]\n"
      "  routes: [{name: r, upstream: u, retry: {budget_percent: 50}}]\n",
      "gateway:\n  routes: [{name: r, retry: {attempts: 2}}]\n",
      "gateway:\n  upstreams: [{name: u, address: \"h:1\"}]\n"
      "  routes: [{name: r, upstream: u, retry: {on: [200]}}]\n",
      // a route's timeout: within 1 ms..1 h, with an upstream to wait for
      "gateway:\n  upstreams: [{name: u, address: \"h:1\"}]\n"
      "  routes: [{name: r, upstream: u, response_timeout_ms: 0}]\n",
      "gateway:\n  upstreams: [{name: u, address: \"h:1\"}]\n"
      "  routes: [{name: r, upstream: u, response_timeout_ms: 3600001}]\n",
      "gateway:\n  routes: [{name: r, response_timeout_ms: 1000}]\n",
      "gateway:\n  identity_token: {key_file: k, issuer: i, ttl_seconds: 7200}\n",
      "gateway:\n  identity_token: {issuer: i}\n",
  });
}

}  // namespace
}  // namespace bulwark::server

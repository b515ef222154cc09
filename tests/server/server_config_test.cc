#include "server/server_config.h"

#include <gtest/gtest.h>

namespace bulwark::server {
namespace {

Result<ServerConfig> Parse(std::string_view yaml) {
  auto root = ParseConfig(yaml, "bulwark.yaml");
  if (!root) return Err(root.error());
  return ServerConfigFromNode(*root);
}

TEST(ServerConfigTest, QuickstartExampleLoads) {
  auto cfg = LoadServerConfig(std::string(BULWARK_SOURCE_DIR) + "/examples/quickstart.yaml");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  EXPECT_EQ(cfg->store.backend, "sqlite");
  EXPECT_EQ(cfg->listener.port, 8080);
}

TEST(ServerConfigTest, DefaultsAreSafe) {
  auto cfg = Parse("{}");
  ASSERT_TRUE(cfg.has_value());
  EXPECT_EQ(cfg->listener.host, "127.0.0.1");  // loopback unless told otherwise
  EXPECT_EQ(cfg->store.backend, "sqlite");
}

TEST(ServerConfigTest, ParsesListenAddresses) {
  std::string host;
  uint16_t port = 0;
  EXPECT_TRUE(ParseListenAddress("0.0.0.0:443", &host, &port).ok());
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 443);
  EXPECT_TRUE(ParseListenAddress("[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  for (std::string_view bad :
       {"localhost", ":80", "::1:80", "a:65536", "a:-1", "a:8o", "[::1:80"}) {
    EXPECT_EQ(ParseListenAddress(bad, &host, &port).code(), StatusCode::kInvalidArgument) << bad;
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

}  // namespace
}  // namespace bulwark::server

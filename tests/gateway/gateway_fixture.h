// A gateway over real keys: an ES256 issuer and a second EdDSA issuer, whose
// public keys are written as JWKS files, tokens signed as an IdP would.
#ifndef BULWARK_TESTS_GATEWAY_GATEWAY_FIXTURE_H_
#define BULWARK_TESTS_GATEWAY_GATEWAY_FIXTURE_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <optional>

#include "core/clock.h"
#include "gateway/gateway.h"
#include "jose/jwk.h"
#include "jose/jwt.h"

namespace bulwark::gateway::testing {

class GatewayTest : public ::testing::Test {
 protected:
  static constexpr int64_t kNow = 1'800'000'000;

  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bulwark-gw-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    idp_key_ = jose::Jwk::Generate(jose::JwsAlgorithm::kES256, "idp-1").value();
    other_key_ = jose::Jwk::Generate(jose::JwsAlgorithm::kEdDSA, "other-1").value();
    WriteJwks("idp.jwks", *idp_key_);
    WriteJwks("other.jwks", *other_key_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void WriteJwks(const std::string& name, const jose::Jwk& key) {
    std::ofstream(dir_ / name) << "{\"keys\":[" << key.PublicJwk()->ToJson() << "]}";
  }

  GatewayOptions Options(std::vector<Route> routes) {
    GatewayOptions options;
    options.issuers = {
        {.name = "idp",
         .issuer = "https://idp.example",
         .audiences = {"api"},
         .jwks_file = (dir_ / "idp.jwks").string()},
        {.name = "other",
         .issuer = "https://other.example",
         .audiences = {"api"},
         .jwks_file = (dir_ / "other.jwks").string(),
         .roles_claim = "realm_access.roles"},
    };
    options.routes = std::move(routes);
    return options;
  }

  // Why Gateway::Create refuses `options`, or "" if it takes them.
  std::string RefusalOf(GatewayOptions options) {
    auto gw = Gateway::Create(std::move(options), clock_);
    return gw ? std::string() : gw.error().message();
  }

  std::unique_ptr<Gateway> Make(std::vector<Route> routes) {
    auto gw = Gateway::Create(Options(std::move(routes)), clock_);
    EXPECT_TRUE(gw.has_value()) << gw.error().ToString();
    return gw ? std::move(*gw) : nullptr;
  }

  // Claims of a valid token of the idp issuer; tests change what they test.
  boost::json::object Claims() {
    return {{"iss", "https://idp.example"},
            {"sub", "alice"},
            {"aud", "api"},
            {"iat", kNow - 10},
            {"exp", kNow + 600},
            {"scope", "orders:read orders:write"},
            {"roles", boost::json::array{"clerk"}}};
  }
  std::string Token(const boost::json::object& claims) { return *jose::SignJwt(*idp_key_, claims); }
  std::string Bearer(const boost::json::object& claims) { return "Bearer " + Token(claims); }

  Decision Decide(const Gateway& gw, std::string_view method, std::string_view target,
                  std::string_view authorization = "", std::string_view ip = "192.0.2.7") {
    return gw.Decide({.method = method,
                      .host = "api.example",
                      .target = target,
                      .authorization = authorization,
                      .authorization_count = authorization.empty() ? 0 : 1,
                      .client_ip = ip});
  }

  static std::string HeaderOf(const HeaderList& headers, std::string_view name) {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return "";
  }
  // The value of the first `name: value` line of `lines`, "" if none.
  static std::string HeaderOf(std::string_view lines, std::string_view name) {
    while (!lines.empty()) {
      const size_t end = lines.find("\r\n");
      const std::string_view line = lines.substr(0, end);
      if (line.starts_with(name) && line.substr(name.size()).starts_with(": ")) {
        return std::string(line.substr(name.size() + 2));
      }
      if (end == std::string_view::npos) break;
      lines.remove_prefix(end + 2);
    }
    return "";
  }

  FakeClock clock_{kNow};
  std::filesystem::path dir_;
  std::optional<jose::Jwk> idp_key_;
  std::optional<jose::Jwk> other_key_;
};

}  // namespace bulwark::gateway::testing

#endif  // BULWARK_TESTS_GATEWAY_GATEWAY_FIXTURE_H_

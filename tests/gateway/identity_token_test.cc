// The signed identity token sent to upstreams: verifiable with the published
// JWKS, bound to its audience, short-lived, reused only within half its life.
#include "gateway/identity_token.h"

#include <gtest/gtest.h>

#include "gateway_fixture.h"
#include "jose/jwt.h"

namespace bulwark::gateway::testing {
namespace {

class IdentityTokenTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    signing_key_ = jose::Jwk::Generate(jose::JwsAlgorithm::kEdDSA, "bulwark-id-1").value();
    std::ofstream(dir_ / "identity.jwk") << signing_key_->ToJson(/*include_private=*/true);
  }

  std::unique_ptr<IdentityTokenSigner> Signer(std::chrono::seconds ttl = std::chrono::seconds(60)) {
    auto signer = IdentityTokenSigner::Create({.key_file = (dir_ / "identity.jwk").string(),
                                               .issuer = "https://bulwark.internal",
                                               .ttl = ttl},
                                              clock_);
    EXPECT_TRUE(signer.has_value()) << signer.error().ToString();
    return signer ? std::move(*signer) : nullptr;
  }

  // A principal as the gateway makes it, from a token with scopes and roles.
  Principal Alice() {
    auto gw = Make({{.name = "orders", .path_prefix = "/orders"}});
    return *Decide(*gw, "GET", "/orders", Bearer(Claims())).principal;
  }

  Result<std::shared_ptr<const jose::VerifiedJwt>> VerifyAs(const IdentityTokenSigner& signer,
                                                            const std::string& token,
                                                            std::string audience) {
    auto jwks = jose::Jwks::Parse(signer.public_jwks());
    auto verifier = jose::JwtVerifier::Create(
        std::move(*jwks), {.issuers = {"https://bulwark.internal"}, .audiences = {audience}},
        clock_);
    return (*verifier)->Verify(token);
  }

  std::optional<jose::Jwk> signing_key_;
};

TEST_F(IdentityTokenTest, CarriesThePrincipalForOneAudience) {
  auto signer = Signer();
  auto token = signer->TokenFor(Alice(), "orders-service");
  ASSERT_TRUE(token.has_value());
  auto verified = VerifyAs(*signer, *token, "orders-service");
  ASSERT_TRUE(verified.has_value()) << verified.error().ToString();
  const auto& claims = (*verified)->claims();
  EXPECT_EQ(claims.at("sub").as_string(), "alice");
  EXPECT_EQ(claims.at("scope").as_string(), "orders:read orders:write");
  EXPECT_EQ(claims.at("roles").as_array().at(0).as_string(), "clerk");
  EXPECT_EQ(claims.at("cred").as_string(), "jwt");
  EXPECT_EQ(claims.at("idp").as_string(), "idp");
  EXPECT_EQ(claims.at("exp").as_int64() - claims.at("iat").as_int64(), 60);
  // Useless at another service, and after it expires.
  EXPECT_FALSE(VerifyAs(*signer, *token, "billing-service").has_value());
  clock_.Advance(std::chrono::seconds(61 + 60));  // past exp and the verifier's leeway
  EXPECT_FALSE(VerifyAs(*signer, *token, "orders-service").has_value());
}

TEST_F(IdentityTokenTest, ReusesATokenOnlyWithinHalfItsLife) {
  auto signer = Signer();
  const Principal alice = Alice();
  const std::string first = *signer->TokenFor(alice, "orders");
  clock_.Advance(std::chrono::seconds(29));
  EXPECT_EQ(*signer->TokenFor(alice, "orders"), first);
  EXPECT_NE(*signer->TokenFor(alice, "billing"), first);  // another audience, another token
  clock_.Advance(std::chrono::seconds(1));
  const std::string second = *signer->TokenFor(alice, "orders");
  EXPECT_NE(second, first);
  EXPECT_TRUE(VerifyAs(*signer, second, "orders").has_value());
}

// A reused token is one whose claims are the same: roles {"a b"} and
// {"a", "b"} are not.
TEST_F(IdentityTokenTest, ReusesATokenOnlyForTheSameRoles) {
  auto signer = Signer();
  auto gw = Make({{.name = "orders", .path_prefix = "/orders"}});
  auto principal_with = [&](boost::json::array roles) {
    auto claims = Claims();
    claims["roles"] = std::move(roles);
    return *Decide(*gw, "GET", "/orders", Bearer(claims)).principal;
  };
  const std::string two = *signer->TokenFor(principal_with({"a", "b"}), "orders");
  const std::string one = *signer->TokenFor(principal_with({"a b"}), "orders");
  ASSERT_NE(one, two);
  auto verified = VerifyAs(*signer, one, "orders");
  ASSERT_TRUE(verified.has_value());
  EXPECT_EQ((*verified)->claims().at("roles").as_array().size(), 1u);
}

TEST_F(IdentityTokenTest, PublishesOnlyThePublicKey) {
  auto signer = Signer();
  EXPECT_NE(signer->public_jwks().find("\"kid\":\"bulwark-id-1\""), std::string::npos);
  EXPECT_EQ(signer->public_jwks().find("\"d\""), std::string::npos);
}

TEST_F(IdentityTokenTest, RefusesUnsuitableKeysAndSettings) {
  std::ofstream(dir_ / "public.jwk") << signing_key_->PublicJwk()->ToJson();
  boost::json::object no_kid = signing_key_->ToJsonObject(/*include_private=*/true);
  no_kid.erase("kid");
  std::ofstream(dir_ / "nokid.jwk") << boost::json::serialize(no_kid);
  std::ofstream(dir_ / "hmac.jwk")
      << R"({"kty":"oct","alg":"HS256","kid":"h","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"})";
  for (const char* file : {"public.jwk", "nokid.jwk", "hmac.jwk"}) {
    auto signer = IdentityTokenSigner::Create(
        {.key_file = (dir_ / file).string(), .issuer = "https://b"}, clock_);
    ASSERT_FALSE(signer.has_value()) << file;
    EXPECT_EQ(signer.error().code(), StatusCode::kInvalidArgument) << file;
  }
  EXPECT_EQ(
      IdentityTokenSigner::Create({.key_file = (dir_ / "none.jwk").string(), .issuer = "x"}, clock_)
          .error()
          .code(),
      StatusCode::kNotFound);
  EXPECT_FALSE(IdentityTokenSigner::Create(
                   {.key_file = (dir_ / "identity.jwk").string(), .issuer = ""}, clock_)
                   .has_value());
  EXPECT_FALSE(IdentityTokenSigner::Create({.key_file = (dir_ / "identity.jwk").string(),
                                            .issuer = "x",
                                            .ttl = std::chrono::hours(2)},
                                           clock_)
                   .has_value());
}

}  // namespace
}  // namespace bulwark::gateway::testing

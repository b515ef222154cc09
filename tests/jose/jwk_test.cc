#include "jose/jwk.h"

#include <gtest/gtest.h>

namespace bulwark::jose {
namespace {

TEST(JwkTest, GeneratedKeysRoundTripThroughJson) {
  for (JwsAlgorithm alg : kAllJwsAlgorithms) {
    auto jwk = Jwk::Generate(alg);
    ASSERT_TRUE(jwk.has_value()) << JwsAlgorithmName(alg) << ": " << jwk.error().ToString();
    EXPECT_EQ(jwk->kid(), jwk->Thumbprint());
    auto again = Jwk::Parse(jwk->ToJson(/*include_private=*/true));
    ASSERT_TRUE(again.has_value()) << JwsAlgorithmName(alg) << ": " << again.error().ToString();
    EXPECT_EQ(again->algorithm(), alg);
    EXPECT_TRUE(again->is_private());
    EXPECT_EQ(again->Thumbprint(), jwk->Thumbprint());
  }
}

TEST(JwkTest, PublicJsonHasNoPrivateMembers) {
  for (JwsAlgorithm alg : {JwsAlgorithm::kEdDSA, JwsAlgorithm::kES256, JwsAlgorithm::kRS256}) {
    auto jwk = Jwk::Generate(alg);
    std::string pub = jwk->ToJson(false);
    for (const char* m : {"\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\""}) {
      EXPECT_EQ(pub.find(m), std::string::npos) << pub;
    }
    EXPECT_FALSE(Jwk::Parse(pub)->is_private());
    EXPECT_FALSE(jwk->PublicJwk()->is_private());
  }
  auto hs = Jwk::Generate(JwsAlgorithm::kHS256);
  EXPECT_EQ(hs->ToJson(false).find("\"k\""), std::string::npos);
}

TEST(JwkTest, InfersAlgorithmFromKeyTypeExceptForSymmetricKeys) {
  auto ec = Jwk::Generate(JwsAlgorithm::kES384);
  auto obj = ec->ToJsonObject();
  obj.erase("alg");
  auto parsed = Jwk::FromJson(obj);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->algorithm(), JwsAlgorithm::kES384);
  EXPECT_FALSE(parsed->has_explicit_alg());

  auto oct = Jwk::Parse(
      R"({"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"})");
  ASSERT_FALSE(oct.has_value());
  EXPECT_EQ(oct.error().message(), "symmetric jwk needs an 'alg'");
}

TEST(JwkTest, RefusesAlgorithmThatDoesNotFitTheKey) {
  auto ec = Jwk::Generate(JwsAlgorithm::kES256)->ToJsonObject();
  ec["alg"] = "RS256";
  EXPECT_FALSE(Jwk::FromJson(ec).has_value());
  ec["alg"] = "ES384";
  EXPECT_FALSE(Jwk::FromJson(ec).has_value());
  ec["alg"] = "none";
  EXPECT_FALSE(Jwk::FromJson(ec).has_value());
  ec["alg"] = "HS256";
  EXPECT_FALSE(Jwk::FromJson(ec).has_value());
}

TEST(JwkTest, RefusesShortHmacKeys) {
  auto jwk = Jwk::Parse(R"({"kty":"oct","alg":"HS256","k":"c2hvcnQ"})");
  ASSERT_FALSE(jwk.has_value());
  EXPECT_EQ(jwk.error().code(), StatusCode::kInvalidArgument);
}

TEST(JwkTest, EncryptionKeysNeverVerify) {
  auto base = Jwk::Generate(JwsAlgorithm::kES256)->ToJsonObject();
  auto enc = base;
  enc["use"] = "enc";
  auto jwk = Jwk::FromJson(enc);
  ASSERT_TRUE(jwk.has_value());
  EXPECT_EQ(jwk->CheckCanVerify(JwsAlgorithm::kES256).code(), StatusCode::kPermissionDenied);

  auto ops = base;
  ops["key_ops"] = boost::json::array{"encrypt"};
  jwk = Jwk::FromJson(ops);
  ASSERT_TRUE(jwk.has_value());
  EXPECT_EQ(jwk->CheckCanVerify(JwsAlgorithm::kES256).code(), StatusCode::kPermissionDenied);

  auto sig = base;
  sig["use"] = "sig";
  sig["key_ops"] = boost::json::array{"verify"};
  EXPECT_TRUE(Jwk::FromJson(sig)->CheckCanVerify(JwsAlgorithm::kES256).ok());

  auto conflict = base;
  conflict["use"] = "sig";
  conflict["key_ops"] = boost::json::array{"encrypt"};
  EXPECT_FALSE(Jwk::FromJson(conflict).has_value());
}

TEST(JwkTest, RefusesMalformedKeys) {
  for (
      const char* bad : {
          R"({"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"})",
          R"({"kty":"EC","crv":"secp256k1","x":"AAAA","y":"AAAA"})",
          R"({"kty":"OKP","crv":"X25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})",
          R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo="})",
          R"({"kty":"RSA","n":"AQAB","e":"AQAB"})",
          R"({"kty":"XYZ"})",
          R"({"crv":"Ed25519"})",
          R"({"kty":"OKP","kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})",
      }) {
    auto jwk = Jwk::Parse(bad);
    EXPECT_FALSE(jwk.has_value()) << bad;
    if (!jwk) {
      EXPECT_EQ(jwk.error().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(JwksTest, SkipsUnusableKeysAndFindsByKid) {
  auto a = Jwk::Generate(JwsAlgorithm::kES256, "a");
  auto b = Jwk::Generate(JwsAlgorithm::kEdDSA, "b");
  std::string text = R"({"keys":[)" + a->ToJson() + "," + b->ToJson() +
                     R"(,{"kty":"RSA","use":"enc","alg":"RSA-OAEP","n":"AQAB","e":"AQAB"},7]})";
  auto set = Jwks::Parse(text);
  ASSERT_TRUE(set.has_value()) << set.error().ToString();
  EXPECT_EQ(set->keys().size(), 2u);
  EXPECT_EQ(set->skipped(), 2u);
  EXPECT_EQ(set->FindByKid("b").size(), 1u);
  EXPECT_TRUE(set->FindByKid("c").empty());
  EXPECT_FALSE(Jwks::Parse(R"({"kes":[]})").has_value());
  EXPECT_EQ(Jwks::ParseKeyOrSet(a->ToJson())->keys().size(), 1u);
}

}  // namespace
}  // namespace bulwark::jose

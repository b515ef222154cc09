#include "jose/jwt.h"

#include <gtest/gtest.h>

#include "crypto/signature.h"
#include "jose/base64url.h"

namespace bulwark::jose {
namespace {

namespace json = boost::json;
constexpr int64_t kNow = 1'700'000'000;

class JwtTest : public ::testing::Test {
 protected:
  JwtTest() : clock_(kNow) {
    key_ = *Jwk::Generate(JwsAlgorithm::kES256, "k1");
    std::vector<Jwk> pubs;
    pubs.push_back(*key_.PublicJwk());
    jwks_ = Jwks(std::move(pubs));
  }

  std::unique_ptr<JwtVerifier> Verifier(JwtValidationOptions opts = {}) {
    if (opts.issuers.empty()) opts.issuers = {"https://idp.example"};
    if (opts.audiences.empty()) opts.audiences = {"api"};
    return std::move(*JwtVerifier::Create(jwks_, std::move(opts), clock_));
  }

  json::object Claims() {
    return json::object{{"iss", "https://idp.example"},
                        {"sub", "alice"},
                        {"aud", "api"},
                        {"iat", kNow - 10},
                        {"exp", kNow + 300}};
  }

  std::string Sign(const json::object& claims, std::string_view typ = "JWT") {
    return *SignJwt(key_, claims, typ);
  }

  FakeClock clock_;
  Jwk key_ = *Jwk::Generate(JwsAlgorithm::kES256);
  Jwks jwks_;
};

TEST_F(JwtTest, AcceptsValidTokenAndExposesClaims) {
  auto jwt = Verifier()->Verify(Sign(Claims()));
  ASSERT_TRUE(jwt.has_value()) << jwt.error().ToString();
  EXPECT_EQ((*jwt)->subject(), "alice");
  EXPECT_EQ((*jwt)->issuer(), "https://idp.example");
  EXPECT_EQ((*jwt)->audiences(), std::vector<std::string>{"api"});
  EXPECT_EQ((*jwt)->expires_at(), kNow + 300);
}

TEST_F(JwtTest, RefusesExpiredTokenBeyondLeeway) {
  auto v = Verifier({.leeway = std::chrono::seconds(30)});
  auto c = Claims();
  c["exp"] = kNow - 29;
  EXPECT_TRUE(v->Verify(Sign(c)).has_value());
  c["exp"] = kNow - 30;
  auto r = v->Verify(Sign(c));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(r.error().message(), "expired");
}

TEST_F(JwtTest, CachedTokenStillExpires) {
  auto v = Verifier({.leeway = std::chrono::seconds(0)});
  std::string token = Sign(Claims());
  ASSERT_TRUE(v->Verify(token).has_value());
  ASSERT_TRUE(v->Verify(token).has_value());  // from the cache
  clock_.Advance(std::chrono::seconds(301));
  auto r = v->Verify(token);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "expired");
}

TEST_F(JwtTest, RefusesNotYetValidAndFutureIat) {
  auto v = Verifier({.leeway = std::chrono::seconds(5)});
  auto c = Claims();
  c["nbf"] = kNow + 60;
  EXPECT_EQ(v->Verify(Sign(c)).error().message(), "not yet valid");
  c = Claims();
  c["iat"] = kNow + 60;
  EXPECT_EQ(v->Verify(Sign(c)).error().message(), "issued in the future");
}

TEST_F(JwtTest, RequiresExpUnlessDisabled) {
  auto c = Claims();
  c.erase("exp");
  EXPECT_EQ(Verifier()->Verify(Sign(c)).error().message(), "missing exp");
  EXPECT_TRUE(Verifier({.require_exp = false})->Verify(Sign(c)).has_value());
}

TEST_F(JwtTest, RefusesMalformedTimeClaims) {
  for (json::value bad : {json::value("1700000300"), json::value(true), json::value(-5)}) {
    auto c = Claims();
    c["exp"] = bad;
    EXPECT_EQ(Verifier()->Verify(Sign(c)).error().message(), "malformed time claim");
  }
}

TEST_F(JwtTest, EnforcesMaxLifetime) {
  auto v = Verifier({.max_lifetime = std::chrono::seconds(3600)});
  auto c = Claims();
  c["exp"] = kNow + 7200;
  EXPECT_EQ(v->Verify(Sign(c)).error().message(), "lifetime too long");
  // A token that never ends is not within any lifetime, exp optional or not.
  c.erase("exp");
  EXPECT_EQ(Verifier({.require_exp = false, .max_lifetime = std::chrono::seconds(3600)})
                ->Verify(Sign(c))
                .error()
                .message(),
            "missing exp");
  EXPECT_TRUE(Verifier({.require_exp = false})->Verify(Sign(c)).has_value());
}

// A time claim of 0, the epoch, is present, not missing: an iat of 0 is a
// lifetime from 1970, and an exp of 0 long expired.
TEST_F(JwtTest, ATimeClaimOfZeroIsTheEpoch) {
  auto c = Claims();
  c["iat"] = 0;
  EXPECT_EQ(
      Verifier({.max_lifetime = std::chrono::seconds(3600)})->Verify(Sign(c)).error().message(),
      "lifetime too long");
  c["iat"] = 0.0;
  EXPECT_EQ(
      Verifier({.max_lifetime = std::chrono::seconds(3600)})->Verify(Sign(c)).error().message(),
      "lifetime too long");
  EXPECT_TRUE(Verifier()->Verify(Sign(c)).has_value());  // no lifetime limit: an old iat is fine
  c = Claims();
  c["exp"] = 0;
  EXPECT_EQ(Verifier()->Verify(Sign(c)).error().message(), "expired");
  EXPECT_EQ(Verifier({.require_exp = false})->Verify(Sign(c)).error().message(), "expired");
  c = Claims();
  c["nbf"] = 0;
  EXPECT_TRUE(Verifier()->Verify(Sign(c)).has_value());
}

TEST_F(JwtTest, RefusesWrongIssuerOrAudience) {
  auto c = Claims();
  c["iss"] = "https://evil.example";
  EXPECT_EQ(Verifier()->Verify(Sign(c)).error().message(), "issuer not allowed");
  c = Claims();
  c["aud"] = json::array{"other", "more"};
  EXPECT_EQ(Verifier()->Verify(Sign(c)).error().message(), "audience not allowed");
  c["aud"] = json::array{"other", "api"};
  EXPECT_TRUE(Verifier()->Verify(Sign(c)).has_value());
  c["aud"] = 5;
  EXPECT_EQ(Verifier()->Verify(Sign(c)).error().message(), "malformed aud");
}

TEST_F(JwtTest, ChecksAccessTokenTyp) {
  auto v = Verifier({.required_typ = "at+jwt"});
  EXPECT_EQ(v->Verify(Sign(Claims(), "JWT")).error().message(), "wrong token type");
  EXPECT_TRUE(v->Verify(Sign(Claims(), "at+jwt")).has_value());
  EXPECT_TRUE(v->Verify(Sign(Claims(), "application/AT+JWT")).has_value());
}

TEST_F(JwtTest, RefusesUnknownKidAndSignatureFromAnotherKey) {
  auto other = *Jwk::Generate(JwsAlgorithm::kES256, "k2");
  EXPECT_EQ(Verifier()->Verify(*SignJwt(other, Claims())).error().message(), "unknown key");
  auto impostor = *Jwk::Generate(JwsAlgorithm::kES256, "k1");
  EXPECT_EQ(Verifier()->Verify(*SignJwt(impostor, Claims())).error().message(),
            "invalid signature");
}

// An empty kid is not an absent one: a genuine signature under it is refused.
TEST_F(JwtTest, RefusesAnEmptyKid) {
  std::string input = Base64UrlEncode(R"({"alg":"ES256","kid":""})") + "." +
                      Base64UrlEncode(R"({"sub":"alice","exp":1800000000})");
  auto sig = crypto::Sign(*key_.private_key(), crypto::SignatureAlgorithm::kEcdsaP256Sha256, input);
  auto r = Verifier({.require_exp = false})->Verify(input + "." + Base64UrlEncode(*sig));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "token kid is empty");
}

TEST_F(JwtTest, RefusesDuplicateClaims) {
  std::string input = Base64UrlEncode(R"({"alg":"ES256","kid":"k1"})") + "." +
                      Base64UrlEncode(R"({"sub":"alice","sub":"admin","exp":1800000000})");
  auto sig = crypto::Sign(*key_.private_key(), crypto::SignatureAlgorithm::kEcdsaP256Sha256, input);
  auto r = Verifier({.require_exp = false})->Verify(input + "." + Base64UrlEncode(*sig));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("duplicate"), std::string::npos);
}

TEST_F(JwtTest, RestrictsAlgorithmsWhenConfigured) {
  auto v = Verifier({.allowed_algorithms = {JwsAlgorithm::kEdDSA}});
  EXPECT_EQ(v->Verify(Sign(Claims())).error().message(), "algorithm not allowed");
}

TEST_F(JwtTest, ReplacingKeysEmptiesTheCache) {
  auto v = Verifier();
  std::string token = Sign(Claims());
  ASSERT_TRUE(v->Verify(token).has_value());
  v->ReplaceKeys(Jwks());  // the key was revoked
  EXPECT_EQ(v->Verify(token).error().message(), "unknown key");
  EXPECT_FALSE(v->HasKid("k1"));
}

TEST_F(JwtTest, TokenWithoutKidUsesKeysOfItsAlgorithm) {
  auto nokid = *Jwk::FromPrivateKey(*key_.private_key(), JwsAlgorithm::kES256, "");
  EXPECT_TRUE(Verifier()->Verify(*SignJwt(nokid, Claims())).has_value());
}

}  // namespace
}  // namespace bulwark::jose

// Attacks on JWS verification, each of which must be refused.
#include "jose/jws.h"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "crypto/digest.h"
#include "crypto/signature.h"
#include "jose/base64url.h"

namespace bulwark::jose {
namespace {

namespace json = boost::json;

// Builds "header.payload.signature" from parts, for forged tokens.
std::string Compact(std::string_view header_json, std::string_view payload, std::string_view sig) {
  return Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload) + "." + Base64UrlEncode(sig);
}

TEST(JwsTest, SignsAndVerifiesEveryAlgorithm) {
  for (JwsAlgorithm alg : kAllJwsAlgorithms) {
    auto key = Jwk::Generate(alg);
    auto token = SignCompactJws(*key, "payload");
    ASSERT_TRUE(token.has_value()) << JwsAlgorithmName(alg);
    auto verified = VerifyCompactJws(*token, key->is_symmetric() ? *key : *key->PublicJwk());
    ASSERT_TRUE(verified.has_value()) << JwsAlgorithmName(alg) << verified.error().ToString();
    EXPECT_EQ(verified->payload(), "payload");
    EXPECT_EQ(verified->header().alg, alg);
  }
}

TEST(JwsTest, RefusesTamperedPayloadAndSignature) {
  auto key = Jwk::Generate(JwsAlgorithm::kES256);
  std::string token = *SignCompactJws(*key, "hello");
  size_t dot = token.find('.');
  std::string tampered =
      token.substr(0, dot + 1) + Base64UrlEncode("hellp") + token.substr(token.rfind('.'));
  EXPECT_EQ(VerifyCompactJws(tampered, *key).error().code(), StatusCode::kUnauthenticated);
  std::string bad_sig = token;
  bad_sig[bad_sig.size() - 5] = bad_sig[bad_sig.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyCompactJws(bad_sig, *key).has_value());
}

TEST(JwsTest, RefusesAlgNone) {
  auto key = Jwk::Generate(JwsAlgorithm::kHS256);
  for (const char* h : {R"({"alg":"none"})", R"({"alg":"None"})", R"({"alg":"NONE"})"}) {
    std::string token = Base64UrlEncode(h) + "." + Base64UrlEncode("{}") + ".";
    EXPECT_FALSE(VerifyCompactJws(token, *key).has_value()) << h;
    token += "c2ln";
    auto r = VerifyCompactJws(token, *key);
    ASSERT_FALSE(r.has_value()) << h;
    EXPECT_EQ(r.error().message(), "algorithm not allowed");
  }
}

TEST(JwsTest, RefusesHs256SignedWithPublicKeyOfRsaOrEcKey) {
  // The classic confusion: an attacker signs HS256 using the verifier's public key bytes.
  for (JwsAlgorithm alg : {JwsAlgorithm::kRS256, JwsAlgorithm::kES256, JwsAlgorithm::kEdDSA}) {
    auto key = Jwk::Generate(alg);
    Jwk pub = *key->PublicJwk();
    std::string pub_bytes = pub.ToJson();
    std::string signing_input =
        Base64UrlEncode(R"({"alg":"HS256"})") + "." + Base64UrlEncode(R"({"sub":"admin"})");
    auto mac = crypto::Hmac(crypto::HashAlgorithm::kSha256,
                            crypto::SecretBytes::FromString(pub_bytes), signing_input);
    std::string token = signing_input + "." + Base64UrlEncode(*mac);
    auto r = VerifyCompactJws(token, pub);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(r.error().message(), "algorithm not allowed for key");
  }
}

TEST(JwsTest, RefusesAlgorithmOtherThanTheKeys) {
  auto key = Jwk::Generate(JwsAlgorithm::kRS256);
  auto ps = *Jwk::FromPrivateKey(*key->private_key(), JwsAlgorithm::kPS256, "k");
  std::string token = *SignCompactJws(ps, "x");  // PS256 with the same RSA key
  auto r = VerifyCompactJws(token, *key->PublicJwk());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "algorithm not allowed for key");
}

TEST(JwsTest, RefusesEmbeddedOrRemoteKeysAndCrit) {
  auto key = Jwk::Generate(JwsAlgorithm::kES256);
  std::string jwk = key->PublicJwk()->ToJson();
  for (std::string header : {R"({"alg":"ES256","jwk":)" + jwk + "}",
                             std::string(R"({"alg":"ES256","jku":"https://evil/jwks"})"),
                             std::string(R"({"alg":"ES256","x5u":"https://evil/cert"})"),
                             std::string(R"({"alg":"ES256","x5c":["MIIB"]})"),
                             std::string(R"({"alg":"ES256","crit":["exp"],"exp":1})"),
                             std::string(R"({"alg":"ES256","crit":[]})")}) {
    auto sig = crypto::Sign(*key->private_key(), crypto::SignatureAlgorithm::kEcdsaP256Sha256,
                            Base64UrlEncode(header) + "." + Base64UrlEncode("{}"));
    std::string token = Compact(header, "{}", *sig);
    ASSERT_EQ(token.substr(0, token.rfind('.')),
              Base64UrlEncode(header) + "." + Base64UrlEncode("{}"));
    auto r = VerifyCompactJws(token, *key);
    ASSERT_FALSE(r.has_value()) << header;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument) << header;
  }
}

TEST(JwsTest, RefusesDuplicateHeaderMembers) {
  auto key = Jwk::Generate(JwsAlgorithm::kHS256);
  std::string header = R"({"alg":"HS256","alg":"HS256"})";
  std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode("{}");
  auto mac = crypto::Hmac(crypto::HashAlgorithm::kSha256, *key->secret(), input);
  auto r = VerifyCompactJws(input + "." + Base64UrlEncode(*mac), *key);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("duplicate"), std::string::npos);
}

TEST(JwsTest, RefusesWrongSignatureLengths) {
  auto key = Jwk::Generate(JwsAlgorithm::kES256);
  std::string token = *SignCompactJws(*key, "x");
  std::string input = token.substr(0, token.rfind('.'));
  auto sig = *Base64UrlDecode(token.substr(token.rfind('.') + 1));
  // A DER-encoded signature instead of r||s, a truncated one, and one with a zero byte appended.
  auto der = crypto::Sign(*key->private_key(), crypto::SignatureAlgorithm::kEcdsaP256Sha256, input,
                          crypto::EcdsaEncoding::kDer);
  for (const std::string& s : {*der, sig.substr(0, 63), sig + std::string(1, '\0')}) {
    auto r = VerifyCompactJws(input + "." + Base64UrlEncode(s), *key);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kUnauthenticated);
  }
}

TEST(JwsTest, RefusesEcdsaScalarsOutOfRange) {
  auto key = Jwk::Generate(JwsAlgorithm::kES256);
  std::string input = Base64UrlEncode(R"({"alg":"ES256"})") + "." + Base64UrlEncode("{}");
  // r = s = 0, and r = s = n (the P-256 group order).
  const std::string n(
      "\xff\xff\xff\xff\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff"
      "\xbc\xe6\xfa\xad\xa7\x17\x9e\x84\xf3\xb9\xca\xc2\xfc\x63\x25\x51",
      32);
  for (const std::string& s : {std::string(64, '\0'), n + n}) {
    auto r = VerifyCompactJws(input + "." + Base64UrlEncode(s), *key);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kUnauthenticated);
  }
}

TEST(JwsTest, RefusesMalformedAndOversizedTokens) {
  auto key = Jwk::Generate(JwsAlgorithm::kHS256);
  std::string good = *SignCompactJws(*key, "x");
  for (const std::string& t :
       {std::string(""), std::string("a.b"), std::string("a.b.c.d"), good + ".", "." + good,
        good.substr(0, good.rfind('.') + 1), std::string("e30.e30.c2ln=")}) {
    EXPECT_FALSE(VerifyCompactJws(t, *key).has_value()) << t;
  }
  std::string big = *SignCompactJws(*key, std::string(20000, 'x'));
  auto r = VerifyCompactJws(big, *key);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "token too large");
  EXPECT_TRUE(VerifyCompactJws(big, *key, 64 * 1024).has_value());
}

TEST(JwsTest, ExtraHeaderCannotOverrideAlg) {
  auto key = Jwk::Generate(JwsAlgorithm::kHS256);
  EXPECT_FALSE(SignCompactJws(*key, "x", json::object{{"alg", "none"}}).has_value());
}

}  // namespace
}  // namespace bulwark::jose

#include "crypto/keys.h"

#include <gtest/gtest.h>

namespace bulwark::crypto {
namespace {

TEST(KeysTest, EcKeyRoundTripsThroughCoordinates) {
  for (KeyType t : {KeyType::kEcP256, KeyType::kEcP384, KeyType::kEcP521}) {
    auto key = PrivateKey::Generate(t);
    ASSERT_TRUE(key.has_value()) << KeyTypeName(t);
    auto point = key->public_key().EcCoordinates();
    ASSERT_TRUE(point.has_value());
    EXPECT_EQ(point->x.size(), EcCoordinateSize(t));
    auto pub = PublicKey::FromEcPoint(t, point->x, point->y);
    ASSERT_TRUE(pub.has_value()) << pub.error().ToString();
    EXPECT_EQ(*pub->ToSpkiDer(), *key->public_key().ToSpkiDer());
    auto d = key->EcPrivateScalar();
    ASSERT_TRUE(d.has_value());
    auto again = PrivateKey::FromEc(t, *d, point->x, point->y);
    ASSERT_TRUE(again.has_value()) << again.error().ToString();
  }
}

TEST(KeysTest, RefusesEcPointNotOnCurve) {
  auto key = PrivateKey::Generate(KeyType::kEcP256);
  auto point = *key->public_key().EcCoordinates();
  point.y[31] ^= 1;
  auto pub = PublicKey::FromEcPoint(KeyType::kEcP256, point.x, point.y);
  ASSERT_FALSE(pub.has_value());
  EXPECT_EQ(pub.error().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(
      PublicKey::FromEcPoint(KeyType::kEcP256, std::string(32, '\0'), std::string(32, '\0')));
}

TEST(KeysTest, RefusesEcPrivateKeyThatDoesNotMatchItsPoint) {
  auto a = PrivateKey::Generate(KeyType::kEcP256);
  auto b = PrivateKey::Generate(KeyType::kEcP256);
  auto pb = *b->public_key().EcCoordinates();
  auto mixed = PrivateKey::FromEc(KeyType::kEcP256, *a->EcPrivateScalar(), pb.x, pb.y);
  EXPECT_EQ(mixed.error().code(), StatusCode::kInvalidArgument);
}

TEST(KeysTest, RsaKeyRoundTripsThroughComponents) {
  auto key = PrivateKey::Generate(KeyType::kRsa, 2048);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->bits(), 2048);
  auto c = *key->public_key().RsaComponents();
  auto priv = *key->RsaPrivate();
  auto again = PrivateKey::FromRsa(c.n, c.e, priv);
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  priv.d.MutableSecret()[5] ^= 1;
  EXPECT_FALSE(PrivateKey::FromRsa(c.n, c.e, priv).has_value());
}

TEST(KeysTest, RefusesRsaOutsideAllowedSizes) {
  EXPECT_EQ(PrivateKey::Generate(KeyType::kRsa, 1024).error().code(), StatusCode::kInvalidArgument);
  std::string n(128, '\xff');  // 1024-bit modulus
  EXPECT_EQ(PublicKey::FromRsa(n, "\x01\x00\x01").error().code(), StatusCode::kInvalidArgument);
  std::string n2048(256, '\xc5');
  EXPECT_EQ(PublicKey::FromRsa(n2048, std::string("\x02", 1)).error().code(),
            StatusCode::kInvalidArgument);  // even exponent
}

TEST(KeysTest, Ed25519SeedRoundTrips) {
  auto key = PrivateKey::Generate(KeyType::kEd25519);
  auto seed = key->Ed25519Seed();
  auto again = PrivateKey::FromEd25519Seed(*seed);
  EXPECT_EQ(*again->public_key().Ed25519Raw(), *key->public_key().Ed25519Raw());
  EXPECT_FALSE(PublicKey::FromEd25519("short").has_value());
}

TEST(KeysTest, PemRoundTrips) {
  auto key = PrivateKey::Generate(KeyType::kEcP384);
  auto pem = key->ToPem();
  ASSERT_TRUE(pem.has_value());
  EXPECT_TRUE(pem->ExposeSecretAsString().starts_with("-----BEGIN PRIVATE KEY-----"));
  auto again = PrivateKey::FromPem(*pem);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again->public_key().ToSpkiDer(), *key->public_key().ToSpkiDer());
  EXPECT_FALSE(PrivateKey::FromPem(SecretBytes::FromString("garbage")).has_value());
}

TEST(KeysTest, SpkiRefusesTrailingBytes) {
  auto key = PrivateKey::Generate(KeyType::kEd25519);
  std::string der = *key->public_key().ToSpkiDer();
  EXPECT_TRUE(PublicKey::FromSpkiDer(der).has_value());
  EXPECT_FALSE(PublicKey::FromSpkiDer(der + "x").has_value());
}

}  // namespace
}  // namespace bulwark::crypto

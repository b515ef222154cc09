#include "crypto/signature.h"

#include <gtest/gtest.h>

namespace bulwark::crypto {
namespace {

struct Case {
  SignatureAlgorithm alg;
  KeyType type;
};

class SignatureTest : public ::testing::TestWithParam<Case> {};

TEST_P(SignatureTest, SignsAndVerifiesAndRefusesTampering) {
  auto key = PrivateKey::Generate(GetParam().type);
  ASSERT_TRUE(key.has_value());
  auto sig = Sign(*key, GetParam().alg, "message");
  ASSERT_TRUE(sig.has_value()) << sig.error().ToString();
  EXPECT_TRUE(Verify(key->public_key(), GetParam().alg, "message", *sig).ok());
  EXPECT_EQ(Verify(key->public_key(), GetParam().alg, "messagf", *sig).code(),
            StatusCode::kUnauthenticated);
  std::string bad = *sig;
  bad[bad.size() / 2] ^= 0x10;
  EXPECT_EQ(Verify(key->public_key(), GetParam().alg, "message", bad).code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(Verify(key->public_key(), GetParam().alg, "message", *sig + "x").code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(Verify(key->public_key(), GetParam().alg, "message", sig->substr(1)).code(),
            StatusCode::kUnauthenticated);
}

INSTANTIATE_TEST_SUITE_P(
    All, SignatureTest,
    ::testing::Values(Case{SignatureAlgorithm::kEd25519, KeyType::kEd25519},
                      Case{SignatureAlgorithm::kEcdsaP256Sha256, KeyType::kEcP256},
                      Case{SignatureAlgorithm::kEcdsaP384Sha384, KeyType::kEcP384},
                      Case{SignatureAlgorithm::kEcdsaP521Sha512, KeyType::kEcP521},
                      Case{SignatureAlgorithm::kRsaPkcs1Sha256, KeyType::kRsa},
                      Case{SignatureAlgorithm::kRsaPkcs1Sha512, KeyType::kRsa},
                      Case{SignatureAlgorithm::kRsaPssSha256, KeyType::kRsa},
                      Case{SignatureAlgorithm::kRsaPssSha384, KeyType::kRsa}));

TEST(SignatureMismatchTest, RefusesKeyOfAnotherType) {
  auto ec = PrivateKey::Generate(KeyType::kEcP256);
  auto ed = PrivateKey::Generate(KeyType::kEd25519);
  auto sig = *Sign(*ec, SignatureAlgorithm::kEcdsaP256Sha256, "m");
  EXPECT_EQ(Verify(ed->public_key(), SignatureAlgorithm::kEcdsaP256Sha256, "m", sig).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Verify(ec->public_key(), SignatureAlgorithm::kRsaPkcs1Sha256, "m", sig).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Sign(*ec, SignatureAlgorithm::kEcdsaP384Sha384, "m").error().code(),
            StatusCode::kInvalidArgument);
}

TEST(SignatureEcdsaTest, RefusesZeroAndOutOfRangeScalars) {
  auto key = PrivateKey::Generate(KeyType::kEcP256);
  std::string zero(64, '\0');
  EXPECT_EQ(Verify(key->public_key(), SignatureAlgorithm::kEcdsaP256Sha256, "m", zero).code(),
            StatusCode::kUnauthenticated);
  std::string ff(64, '\xff');  // r, s >= n
  EXPECT_EQ(Verify(key->public_key(), SignatureAlgorithm::kEcdsaP256Sha256, "m", ff).code(),
            StatusCode::kUnauthenticated);
}

TEST(SignatureEcdsaTest, DerAndP1363EncodingsBothVerify) {
  auto key = PrivateKey::Generate(KeyType::kEcP256);
  auto der = *Sign(*key, SignatureAlgorithm::kEcdsaP256Sha256, "m", EcdsaEncoding::kDer);
  EXPECT_TRUE(
      Verify(key->public_key(), SignatureAlgorithm::kEcdsaP256Sha256, "m", der, EcdsaEncoding::kDer)
          .ok());
  EXPECT_FALSE(Verify(key->public_key(), SignatureAlgorithm::kEcdsaP256Sha256, "m", der).ok());
}

}  // namespace
}  // namespace bulwark::crypto

#include "crypto/aead.h"

#include <gtest/gtest.h>

#include "crypto/random.h"

namespace bulwark::crypto {
namespace {

Aead MakeAead(AeadAlgorithm alg) {
  auto key = RandomSecret(32);
  auto aead = Aead::Create(alg, std::move(*key));
  EXPECT_TRUE(aead.has_value());
  return std::move(*aead);
}

class AeadTest : public ::testing::TestWithParam<AeadAlgorithm> {};

TEST_P(AeadTest, RoundTripsWithRandomNonce) {
  Aead aead = MakeAead(GetParam());
  auto sealed = aead.SealWithRandomNonce("attack at dawn", "header");
  ASSERT_TRUE(sealed.has_value());
  auto opened = aead.OpenWithPrefixedNonce(*sealed, "header");
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->ExposeSecretAsString(), "attack at dawn");
}

TEST_P(AeadTest, RefusesTamperedCiphertextTagOrAad) {
  Aead aead = MakeAead(GetParam());
  auto sealed = *aead.SealWithRandomNonce("attack at dawn", "header");
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] ^= 0x01;
    auto opened = aead.OpenWithPrefixedNonce(bad, "header");
    ASSERT_FALSE(opened.has_value()) << "byte " << i;
    EXPECT_EQ(opened.error().code(), StatusCode::kUnauthenticated);
  }
  EXPECT_EQ(aead.OpenWithPrefixedNonce(sealed, "other").error().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(aead.OpenWithPrefixedNonce(sealed.substr(0, 20), "header").error().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(AeadTest, RandomNoncesDiffer) {
  Aead aead = MakeAead(GetParam());
  EXPECT_NE(*aead.SealWithRandomNonce("x", ""), *aead.SealWithRandomNonce("x", ""));
}

INSTANTIATE_TEST_SUITE_P(Algorithms, AeadTest,
                         ::testing::Values(AeadAlgorithm::kAesGcm,
                                           AeadAlgorithm::kChaCha20Poly1305));

TEST(AeadCreateTest, RefusesWrongKeySizes) {
  EXPECT_EQ(Aead::Create(AeadAlgorithm::kAesGcm, SecretBytes(15)).error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Aead::Create(AeadAlgorithm::kChaCha20Poly1305, SecretBytes(16)).error().code(),
            StatusCode::kInvalidArgument);
}

TEST(AeadCreateTest, ChaChaNeedsTwelveByteNonce) {
  Aead aead = MakeAead(AeadAlgorithm::kChaCha20Poly1305);
  EXPECT_EQ(aead.Seal(std::string(8, 'n'), "m", "").error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(aead.Seal("", "m", "").error().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace bulwark::crypto

#include "crypto/digest.h"

#include <gtest/gtest.h>

#include "crypto/constant_time.h"
#include "wycheproof.h"

namespace bulwark::crypto {
namespace {

using testing::Unhex;

TEST(DigestTest, Sha256OfAbc) {
  EXPECT_EQ(Digest(HashAlgorithm::kSha256, "abc"),
            Unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  EXPECT_EQ(Digest(HashAlgorithm::kSha384, "").size(), 48u);
  EXPECT_EQ(Digest(HashAlgorithm::kSha512, "").size(), 64u);
}

TEST(HmacTest, Rfc4231Case2) {
  auto mac =
      Hmac(HashAlgorithm::kSha256, SecretBytes::FromString("Jefe"), "what do ya want for nothing?");
  ASSERT_TRUE(mac.has_value());
  EXPECT_EQ(*mac, Unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
}

TEST(HmacTest, VerifyRefusesTruncatedOrModifiedTags) {
  SecretBytes key = SecretBytes::FromString("k");
  std::string tag = *Hmac(HashAlgorithm::kSha384, key, "m");
  EXPECT_TRUE(HmacVerify(HashAlgorithm::kSha384, key, "m", tag));
  EXPECT_FALSE(HmacVerify(HashAlgorithm::kSha384, key, "m", tag.substr(0, 16)));
  tag[5] ^= 1;
  EXPECT_FALSE(HmacVerify(HashAlgorithm::kSha384, key, "m", tag));
  EXPECT_FALSE(HmacVerify(HashAlgorithm::kSha384, key, "m", ""));
}

TEST(ConstantTimeTest, ComparesContentsAndLengths) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(HkdfTest, RefusesOversizedOutput) {
  auto out = Hkdf(HashAlgorithm::kSha256, SecretBytes::FromString("ikm"), "", "", 255 * 32 + 1);
  EXPECT_EQ(out.error().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Hkdf(HashAlgorithm::kSha256, SecretBytes::FromString("ikm"), "", "", 255 * 32));
}

}  // namespace
}  // namespace bulwark::crypto

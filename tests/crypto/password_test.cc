#include "crypto/password.h"

#include <gtest/gtest.h>

namespace bulwark::crypto {
namespace {

// Small parameters keep the suite fast; production defaults are tested once.
constexpr Argon2Params kFast{.memory_kib = 64, .iterations = 1, .parallelism = 1};

TEST(PasswordTest, HashesToPhcStringAndVerifies) {
  auto phc = HashPassword(SecretBytes::FromString("correct horse"), kFast);
  ASSERT_TRUE(phc.has_value()) << phc.error().ToString();
  EXPECT_TRUE(phc->starts_with("$argon2id$v=19$m=64,t=1,p=1$")) << *phc;
  EXPECT_TRUE(VerifyPassword(SecretBytes::FromString("correct horse"), *phc).ok());
}

TEST(PasswordTest, WrongPasswordIsUnauthenticated) {
  auto phc = *HashPassword(SecretBytes::FromString("correct horse"), kFast);
  EXPECT_EQ(VerifyPassword(SecretBytes::FromString("correct hors3"), phc).code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(VerifyPassword(SecretBytes::FromString(""), phc).code(), StatusCode::kUnauthenticated);
}

TEST(PasswordTest, SaltsDiffer) {
  EXPECT_NE(*HashPassword(SecretBytes::FromString("pw"), kFast),
            *HashPassword(SecretBytes::FromString("pw"), kFast));
}

TEST(PasswordTest, DefaultParametersFollowOwasp) {
  auto phc = HashPassword(SecretBytes::FromString("pw"));
  ASSERT_TRUE(phc.has_value());
  EXPECT_TRUE(phc->starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << *phc;
  EXPECT_FALSE(NeedsRehash(*phc));
  EXPECT_TRUE(NeedsRehash(*HashPassword(SecretBytes::FromString("pw"), kFast)));
}

TEST(PasswordTest, RefusesMalformedOrHostileHashes) {
  SecretBytes pw = SecretBytes::FromString("pw");
  for (std::string_view bad : {"", "plaintext", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
                               "$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
                               "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2g",
                               "$argon2id$v=19$m=64,t=1$c2FsdA$aGFzaA"}) {
    EXPECT_EQ(VerifyPassword(pw, bad).code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(PasswordTest, RefusesWeakParameters) {
  EXPECT_EQ(HashPassword(SecretBytes::FromString("pw"), {.memory_kib = 64, .iterations = 0})
                .error()
                .code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace bulwark::crypto

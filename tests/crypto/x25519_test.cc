#include "crypto/x25519.h"

#include <gtest/gtest.h>

namespace bulwark::crypto {
namespace {

TEST(X25519Test, BothSidesDeriveTheSameSecret) {
  auto a = GenerateX25519();
  auto b = GenerateX25519();
  ASSERT_TRUE(a && b);
  auto ab = X25519(a->private_key, b->public_key);
  auto ba = X25519(b->private_key, a->public_key);
  ASSERT_TRUE(ab && ba);
  EXPECT_EQ(*ab, *ba);
  EXPECT_EQ(*X25519PublicFromPrivate(a->private_key), a->public_key);
}

TEST(X25519Test, RefusesLowOrderPublicKey) {
  auto a = GenerateX25519();
  std::string zero(32, '\0');
  EXPECT_EQ(X25519(a->private_key, zero).error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(X25519(a->private_key, "short").error().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace bulwark::crypto

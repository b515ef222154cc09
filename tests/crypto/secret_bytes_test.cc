#include "crypto/secret_bytes.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sstream>
#include <type_traits>

#include "core/log.h"

namespace bulwark::crypto {
namespace {

template <typename T>
concept Streamable = requires(std::ostream& os, const T& t) {
  os << t;
};

TEST(SecretBytesTest, CannotBePrintedFormattedOrLogged) {
  static_assert(!Streamable<SecretBytes>);
  static_assert(!fmt::is_formattable<SecretBytes>::value);
  static_assert(!std::is_constructible_v<log::Field, std::string_view, SecretBytes>);
  static_assert(!std::is_constructible_v<log::Field, std::string_view, const SecretBytes&>);
  static_assert(!std::is_copy_constructible_v<SecretBytes>);
}

TEST(SecretBytesTest, ComparesByContent) {
  EXPECT_EQ(SecretBytes::FromString("abc"), SecretBytes::FromString("abc"));
  EXPECT_FALSE(SecretBytes::FromString("abc") == SecretBytes::FromString("abd"));
  EXPECT_FALSE(SecretBytes::FromString("abc") == SecretBytes::FromString("ab"));
}

TEST(SecretBytesTest, MoveLeavesSourceEmptyAndCloneCopies) {
  SecretBytes a = SecretBytes::FromString("key");
  SecretBytes b = a.Clone();
  SecretBytes c = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(b, c);
  EXPECT_EQ(c.ExposeSecretAsString(), "key");
}

}  // namespace
}  // namespace bulwark::crypto

#include "core/b64token.h"

#include <string>

#include <gtest/gtest.h>

namespace bulwark {
namespace {

// RFC 6750's b64token, one byte at a time: what the vector check must agree with.
bool Reference(std::string_view s) {
  size_t body = s.size();
  while (body > 0 && s[body - 1] == '=') --body;
  if (body == 0) return false;
  for (const char ch : s.substr(0, body)) {
    const auto c = static_cast<unsigned char>(ch);
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
    if (!ok) return false;
  }
  return true;
}

TEST(B64TokenTest, AcceptsTheGrammar) {
  EXPECT_TRUE(IsB64Token("a"));
  EXPECT_TRUE(IsB64Token("AZaz09-._~+/"));
  EXPECT_TRUE(IsB64Token("abc="));
  EXPECT_TRUE(IsB64Token("abc=="));
  EXPECT_TRUE(IsB64Token("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"));
}

TEST(B64TokenTest, RefusesWhatIsNotOne) {
  EXPECT_FALSE(IsB64Token(""));
  EXPECT_FALSE(IsB64Token("="));
  EXPECT_FALSE(IsB64Token("=="));
  EXPECT_FALSE(IsB64Token("a=b"));  // padding only at the end
  EXPECT_FALSE(IsB64Token("=abc"));
  EXPECT_FALSE(IsB64Token("abc def"));
  EXPECT_FALSE(IsB64Token("abc,def"));
  EXPECT_FALSE(IsB64Token(std::string("abcdefghijklmnopq\0rs", 20)));
  EXPECT_FALSE(IsB64Token("abcdefghijklmnopqrstuvwxyz0123456789\xc3\xa9"));
}

// Every byte at every place of tokens of every length the vector loop and
// its overlapping tail take in turn, with and without padding after it.
TEST(B64TokenTest, AgreesWithTheGrammarForEveryByteAndPlace) {
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/";
  for (size_t length = 1; length <= 50; ++length) {
    std::string token;
    for (size_t i = 0; i < length; ++i) token += alphabet[(i * 7) % alphabet.size()];
    for (const std::string padding : {"", "=", "=="}) {
      for (size_t at = 0; at < length; ++at) {
        for (int byte = 0; byte < 256; ++byte) {
          std::string probe = token + padding;
          probe[at] = static_cast<char>(byte);
          ASSERT_EQ(IsB64Token(probe), Reference(probe))
              << "length " << length << " padding " << padding.size() << " byte " << byte << " at "
              << at;
        }
      }
    }
  }
}

}  // namespace
}  // namespace bulwark

// The handshake checks a proxy makes of a WebSocket upgrade: RFC 6455's own
// example key and accept, and keys that are not the base64 of 16 bytes.
#include "net/websocket.h"

#include <gtest/gtest.h>

namespace bulwark::net {
namespace {

// RFC 6455 section 1.3's worked example.
TEST(WebSocketTest, TheAcceptIsTheRfcsForItsExampleKey) {
  EXPECT_EQ(WebSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketTest, EachKeyHasItsOwnAccept) {
  const auto a = WebSocketAccept("AQIDBAUGBwgJCgsMDQ4PEA==");
  const auto b = WebSocketAccept("AQIDBAUGBwgJCgsMDQ4PEQ==");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->size(), 28u);  // 20 bytes of SHA-1 in base64
}

TEST(WebSocketTest, AKeyIsTheBase64OfSixteenBytes) {
  EXPECT_TRUE(IsWebSocketKey("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_TRUE(IsWebSocketKey("AQIDBAUGBwgJCgsMDQ4PEA=="));
  EXPECT_TRUE(IsWebSocketKey("+/+/+/+/+/+/+/+/+/+/+w=="));
  for (const char* key : {
           "",
           "dGhlIHNhbXBsZSBub25jZQ",     // unpadded
           "dGhlIHNhbXBsZSBub25jZQ=",    // half padded
           "dGhlIHNhbXBsZSBub25jZR==",   // low bits set: not canonical
           "dGhlIHNhbXBsZSBub25jZQ===",  // too long
           "dGhlIHNhbXBsZSBub25j",       // 15 bytes
           "dGhlIHNhbXBsZSBub25jZWVl",   // 18 bytes
           "dGhlIHNhbXBsZSBub25j-Q==",   // base64url's alphabet
           "dGhlIHNhbXBsZSBub25j ZQ==",  // a space within
           "dGhlIHNhbXBsZSBub2=jZQ==",   // padding within
       }) {
    EXPECT_FALSE(IsWebSocketKey(key)) << key;
  }
}

}  // namespace
}  // namespace bulwark::net

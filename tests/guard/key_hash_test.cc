#include "guard/key_hash.h"

#include <gtest/gtest.h>

#include <string>

namespace bulwark::guard {
namespace {

// The key and messages of the SipHash paper's reference vectors: key bytes
// 00..0f, message bytes 00..(len-1).
constexpr SipHashKey kPaperKey{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};

std::string PaperMessage(size_t len) {
  std::string m;
  for (size_t i = 0; i < len; ++i) m.push_back(static_cast<char>(i));
  return m;
}

TEST(SipHashTest, SipHash24MatchesReferenceVectors) {
  EXPECT_EQ(SipHash24(kPaperKey, PaperMessage(0)), 0x726fdb47dd0e0e31ULL);
  EXPECT_EQ(SipHash24(kPaperKey, PaperMessage(1)), 0x74f839c593dc67fdULL);
  EXPECT_EQ(SipHash24(kPaperKey, PaperMessage(7)), 0xab0200f58b01d137ULL);
  EXPECT_EQ(SipHash24(kPaperKey, PaperMessage(8)), 0x93f5f5799a932462ULL);
  EXPECT_EQ(SipHash24(kPaperKey, PaperMessage(15)), 0xa129ca6149be45e5ULL);
  EXPECT_EQ(SipHash24(kPaperKey, PaperMessage(63)), 0x958a324ceb064572ULL);
}

TEST(SipHashTest, SipHash13MatchesKnownVectors) {
  // As published for Rust's DefaultHasher and Ruby's Digest::SipHash13.
  EXPECT_EQ(SipHash13(SipHashKey{}, ""), 0xd1fba762150c532cULL);
  EXPECT_EQ(SipHash13(SipHashKey{}, "siphash"), 0x8264ceeccb16bcbeULL);
  EXPECT_EQ(SipHash13(kPaperKey, ""), 0xabac0158050fc4dcULL);
}

TEST(SipHashTest, DependsOnEveryByteAndTheLength) {
  EXPECT_NE(SipHash13(kPaperKey, "10.0.0.1"), SipHash13(kPaperKey, "10.0.0.2"));
  EXPECT_NE(SipHash13(kPaperKey, std::string("a\0", 2)), SipHash13(kPaperKey, "a"));
}

TEST(KeyHashTest, EachInstanceDrawsItsOwnSecretKey) {
  KeyHash a;
  KeyHash b;
  EXPECT_EQ(a("client"), a("client"));
  EXPECT_NE(a("client"), b("client"));  // fails with probability 2^-64
}

}  // namespace
}  // namespace bulwark::guard

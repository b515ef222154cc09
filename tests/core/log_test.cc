#include "core/log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace bulwark::log {
namespace {

TEST(LogTest, FormatsFieldsAsJson) {
  std::string line = FormatForTest(Level::kInfo, "store.opened",
                                   {{"backend", "sqlite"}, {"rev", 42}, {"ok", true}});
  EXPECT_EQ(line, R"({"level":"info","msg":"store.opened","backend":"sqlite","rev":42,"ok":true})");
}

TEST(LogTest, EscapesControlCharactersAndInvalidUtf8) {
  std::string line =
      FormatForTest(Level::kWarn, "x", {{"v", std::string_view("a\"\n\x01\xff", 5)}});
  EXPECT_EQ(line, R"({"level":"warn","msg":"x","v":"a\"\n\u0001\ufffd"})");
}

// Every byte value at every position of a string long enough for the
// vector scan (and its scalar tail): plain printable ASCII is copied, '"' and
// '\\' and controls are escaped, a lone non-ASCII byte becomes U+FFFD.
TEST(LogTest, EscapesEveryByteAtEveryPositionOfALongString) {
  const auto expected_for = [](int b) -> std::string {
    switch (b) {
      case '"':
        return "\\\"";
      case '\\':
        return "\\\\";
      case '\n':
        return "\\n";
      case '\r':
        return "\\r";
      case '\t':
        return "\\t";
    }
    if (b >= 0x20 && b < 0x7f) return std::string(1, static_cast<char>(b));
    if (b >= 0x80) return "\\ufffd";
    char hex[8];
    std::snprintf(hex, sizeof(hex), "\\u%04x", b);
    return hex;
  };
  // 37: two vectors and a tail of five; 12: two overlapping words; 5: bytes.
  for (size_t size : {37u, 12u, 5u}) {
    for (size_t at = 0; at < size; ++at) {
      for (int b = 0; b < 256; ++b) {
        std::string input(size, 'x');
        input[at] = static_cast<char>(b);
        std::string want =
            "\"" + std::string(at, 'x') + expected_for(b) + std::string(size - 1 - at, 'x') + "\"";
        std::string got;
        AppendJsonString(got, input);
        ASSERT_EQ(got, want) << "byte " << b << " at " << at << " of " << size;
      }
    }
  }
}

TEST(LogTest, FieldAcceptsOnlyPlainValues) {
  struct Opaque {};
  static_assert(!std::is_constructible_v<Field, std::string_view, Opaque>);
  static_assert(std::is_constructible_v<Field, std::string_view, int>);
}

}  // namespace
}  // namespace bulwark::log

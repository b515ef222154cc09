#include "core/log.h"

#include <gtest/gtest.h>

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

TEST(LogTest, FieldAcceptsOnlyPlainValues) {
  struct Opaque {};
  static_assert(!std::is_constructible_v<Field, std::string_view, Opaque>);
  static_assert(std::is_constructible_v<Field, std::string_view, int>);
}

}  // namespace
}  // namespace bulwark::log

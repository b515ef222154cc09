#include "core/log.h"
#include "core/log_throttle.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

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

// A throttled line goes out once per interval, telling how many were held
// back since the last; concurrent callers let exactly one through.
TEST(LogThrottleTest, LetsOneLineOutPerIntervalAndCountsTheRest) {
  Throttle throttle(std::chrono::milliseconds(200));
  EXPECT_EQ(throttle.Pass(), std::optional<int64_t>(0));
  EXPECT_EQ(throttle.Pass(), std::nullopt);
  EXPECT_EQ(throttle.Pass(), std::nullopt);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(throttle.Pass(), std::optional<int64_t>(2));
  // Long enough that no thread, however late it starts, sees it end.
  Throttle slow(std::chrono::seconds(60));
  std::atomic<int> passed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 100; ++j) passed += slow.Pass().has_value() ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(passed.load(), 1);
}

}  // namespace
}  // namespace bulwark::log

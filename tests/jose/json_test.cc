#include "jose/json.h"

#include <gtest/gtest.h>

namespace bulwark::jose {
namespace {

TEST(StrictJsonTest, ParsesObjects) {
  auto o = ParseJsonObject(R"({"a":1,"b":{"c":[true,null,"x"]},"d":1.5})");
  ASSERT_TRUE(o.has_value()) << o.error().ToString();
  EXPECT_EQ(o->at("a").as_int64(), 1);
  EXPECT_EQ(o->at("b").as_object().at("c").as_array().size(), 3u);
}

TEST(StrictJsonTest, RefusesDuplicateMemberNames) {
  auto o = ParseJsonObject(R"({"alg":"ES256","alg":"none"})");
  ASSERT_FALSE(o.has_value());
  EXPECT_EQ(o.error().message(), "duplicate json member name");
  EXPECT_FALSE(ParseJsonObject(R"({"a":{"x":1,"x":2}})").has_value());
  // Escapes that spell the same name are the same name.
  EXPECT_FALSE(ParseJsonObject(R"({"alg":1,"\u0061lg":2})").has_value());
  // The same name in different objects is fine.
  EXPECT_TRUE(ParseJsonObject(R"({"a":{"x":1},"b":{"x":2}})").has_value());
}

TEST(StrictJsonTest, RefusesNonObjectsTrailingDataAndComments) {
  EXPECT_FALSE(ParseJsonObject("[1]").has_value());
  EXPECT_FALSE(ParseJsonObject(R"({"a":1} x)").has_value());
  EXPECT_FALSE(ParseJsonObject(R"({"a":1}{"b":2})").has_value());
  EXPECT_FALSE(ParseJsonObject(R"({"a":1,})").has_value());
  EXPECT_FALSE(ParseJsonObject("{/*c*/\"a\":1}").has_value());
  EXPECT_FALSE(ParseJsonObject("{\"a\":\"\xff\"}").has_value());
  EXPECT_FALSE(ParseJsonObject("").has_value());
}

TEST(StrictJsonTest, BoundsDepthAndSize) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_FALSE(ParseJson(deep).has_value());
  JsonLimits small{.max_bytes = 8};
  EXPECT_FALSE(ParseJsonObject(R"({"abc":12345})", small).has_value());
  JsonLimits few{.max_members = 2};
  EXPECT_FALSE(ParseJsonObject(R"({"a":1,"b":2,"c":3})", few).has_value());
  // Refused at the first member past the limit, before the rest is read
  // (here, malformed): a token's JSON is parsed before its signature is
  // checked, so what an unsigned one costs stays bounded.
  auto early = ParseJsonObject(R"({"a":1,"b":2,"c":3,!!!)", few);
  ASSERT_FALSE(early.has_value());
  EXPECT_EQ(early.error().message(), "json has too many members");
}

// Duplicates are found among many members too, and many distinct ones
// within the limit are taken (each name is looked up, not compared with
// every other).
TEST(StrictJsonTest, FindsADuplicateAmongManyMembers) {
  std::string many = "{";
  for (int i = 0; i < 1000; ++i) many += "\"m" + std::to_string(i) + "\":0,";
  auto distinct = ParseJsonObject(many + "\"last\":0}");
  ASSERT_TRUE(distinct.has_value()) << distinct.error().ToString();
  EXPECT_EQ(distinct->size(), 1001u);
  auto twice = ParseJsonObject(many + "\"m500\":1}");
  ASSERT_FALSE(twice.has_value());
  EXPECT_EQ(twice.error().message(), "duplicate json member name");
}

}  // namespace
}  // namespace bulwark::jose

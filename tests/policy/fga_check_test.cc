// Check against the OpenFGA test data: every check assertion of the
// consolidated tests, with the tuples written and with them given as
// contextual tuples instead, must answer as expected (errors included).
// Assertions that involve conditions wait for the CEL evaluator.
#include "policy/fga_check.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>

namespace bulwark::policy::fga {
namespace {

TupleKey TupleOf(const YAML::Node& t) {
  TupleKey key{*ParseObject(t["object"].as<std::string>()), t["relation"].as<std::string>(),
               *ParseUser(t["user"].as<std::string>()), ""};
  if (t["condition"]) key.condition = t["condition"]["name"].as<std::string>();
  return key;
}

void RunFile(const char* file, bool tuples_as_contextual, int& passed, int& skipped) {
  const auto path = std::filesystem::path(BULWARK_TESTDATA_DIR) / "openfga" / file;
  for (const YAML::Node& test : YAML::LoadFile(path.string())["tests"]) {
    const std::string name = test["name"].as<std::string>();
    std::optional<Model> model;
    std::vector<TupleKey> written;
    for (const YAML::Node& stage : test["stages"]) {
      if (stage["model"]) model = *Model::Parse(stage["model"].as<std::string>());
      for (const YAML::Node& t : stage["tuples"]) written.push_back(TupleOf(t));
      TupleIndex index;
      bool conditions = false;
      for (const TupleKey& t : written) {
        conditions = conditions || !t.condition.empty();
        if (!tuples_as_contextual) index.Add(t);
      }
      for (const YAML::Node& a : stage["checkAssertions"]) {
        if (conditions || a["context"]) {
          ++skipped;
          continue;
        }
        auto object = ParseObject(a["tuple"]["object"].as<std::string>());
        auto user = ParseUser(a["tuple"]["user"].as<std::string>());
        CheckRequest request;
        if (object) request.object = *object;
        if (user) request.user = *user;
        request.relation = a["tuple"]["relation"].as<std::string>();
        if (tuples_as_contextual) {
          // Written tuples the model allows, as contextual tuples (the
          // model refuses the others as contextual tuples, as a write would).
          for (const TupleKey& t : written) {
            if (ValidateTuple(*model, t).ok()) request.contextual_tuples.push_back(t);
          }
        }
        for (const YAML::Node& t : a["contextualTuples"]) {
          request.contextual_tuples.push_back(TupleOf(t));
        }
        Result<bool> got = object && user
                               ? Check(*model, index, request)
                               : Result<bool>(Err(InvalidArgumentError("bad reference")));
        const std::string what =
            fmt::format("{} {} ({}, {}, {})", file, name, a["tuple"]["user"].as<std::string>(),
                        request.relation, a["tuple"]["object"].as<std::string>());
        if (a["errorCode"]) {
          EXPECT_FALSE(got.has_value()) << what << ": expected error " << a["errorCode"];
        } else if (!got.has_value()) {
          ADD_FAILURE() << what << ": " << got.error().message();
        } else {
          EXPECT_EQ(*got, a["expectation"].as<bool>()) << what;
        }
        ++passed;
      }
      for (const YAML::Node& a : stage["listObjectsAssertions"]) {
        if (conditions || a["context"]) {
          ++skipped;
          continue;
        }
        ListObjectsRequest request;
        request.type = a["request"]["type"].as<std::string>();
        request.relation = a["request"]["relation"].as<std::string>();
        auto user = ParseUser(a["request"]["user"].as<std::string>());
        if (tuples_as_contextual) {
          for (const TupleKey& t : written) {
            if (ValidateTuple(*model, t).ok()) request.contextual_tuples.push_back(t);
          }
        }
        for (const YAML::Node& t : a["contextualTuples"]) {
          request.contextual_tuples.push_back(TupleOf(t));
        }
        Result<std::vector<std::string>> got =
            user ? (request.user = *user, ListObjects(*model, index, request))
                 : Result<std::vector<std::string>>(Err(InvalidArgumentError("bad user")));
        const std::string what =
            fmt::format("{} {} list-objects ({}, {}, {})", file, name,
                        a["request"]["user"].as<std::string>(), request.relation, request.type);
        if (a["errorCode"]) {
          EXPECT_FALSE(got.has_value()) << what << ": expected error " << a["errorCode"];
        } else if (!got.has_value()) {
          ADD_FAILURE() << what << ": " << got.error().message();
        } else {
          std::vector<std::string> want;
          if (a["expectation"] && a["expectation"].IsSequence()) {
            for (const YAML::Node& o : a["expectation"]) want.push_back(o.as<std::string>());
          }
          std::sort(want.begin(), want.end());
          EXPECT_EQ(*got, want) << what;
        }
        ++passed;
      }
    }
  }
}

TEST(FgaCheckTest, ConsolidatedCheckAssertions) {
  int passed = 0, skipped = 0;
  RunFile("consolidated_1_1_tests.yaml", false, passed, skipped);
  EXPECT_GT(passed, 150);
  EXPECT_EQ(skipped, 0);
}

TEST(FgaCheckTest, ConsolidatedCheckAssertionsWithContextualTuples) {
  int passed = 0, skipped = 0;
  RunFile("consolidated_1_1_tests.yaml", true, passed, skipped);
  EXPECT_GT(passed, 150);
}

TEST(FgaCheckTest, CyclesTerminateAndDepthIsBounded) {
  auto model = Model::Parse(R"(model
  schema 1.1
type user
type group
  relations
    define member: [user, group#member]
)");
  ASSERT_TRUE(model.has_value());
  TupleIndex index;
  // a <- b <- a: a cycle of group memberships.
  index.Add({{"group", "a"}, "member", {"group", "b", "member"}, ""});
  index.Add({{"group", "b"}, "member", {"group", "a", "member"}, ""});
  auto got = Check(*model, index, {{"group", "a"}, "member", {"user", "anne", ""}, {}});
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(*got);
  // A chain deeper than the bound is an error, not an answer.
  for (int i = 0; i < 40; ++i) {
    index.Add({{"group", "g" + std::to_string(i)},
               "member",
               {"group", "g" + std::to_string(i + 1), "member"},
               ""});
  }
  index.Add({{"group", "g40"}, "member", {"user", "anne", ""}, ""});
  got = Check(*model, index, {{"group", "g0"}, "member", {"user", "anne", ""}, {}});
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), StatusCode::kResourceExhausted);
  got = Check(*model, index, {{"group", "g30"}, "member", {"user", "anne", ""}, {}});
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(*got);
}

}  // namespace
}  // namespace bulwark::policy::fga

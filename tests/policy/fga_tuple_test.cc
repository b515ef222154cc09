// Tuples of OpenFGA models: object and user references parse strictly, and
// a tuple may only be written where the model's type restrictions allow it.
#include "policy/fga_tuple.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>

namespace bulwark::policy::fga {
namespace {

TEST(FgaTupleTest, ReferencesParseStrictly) {
  EXPECT_EQ(*ParseObject("document:1"), (ObjectRef{"document", "1"}));
  EXPECT_EQ(*ParseObject("document:a:b"), (ObjectRef{"document", "a:b"}));
  EXPECT_EQ(*ParseUser("user:anne"), (UserRef{"user", "anne", ""}));
  EXPECT_TRUE(ParseUser("user:*")->wildcard());
  EXPECT_EQ(*ParseUser("group:eng#member"), (UserRef{"group", "eng", "member"}));
  for (std::string_view bad : {"document", "document:", ":1", "document:*", "doc ument:1",
                               "document:1#x", "document:a b"}) {
    EXPECT_FALSE(ParseObject(bad).has_value()) << bad;
  }
  for (std::string_view bad : {"user", "user:", "user:*#member", "group:eng#", "user:a b"}) {
    EXPECT_FALSE(ParseUser(bad).has_value()) << bad;
  }
}

TEST(FgaTupleTest, TuplesMustFitTheModel) {
  auto model = Model::Parse(R"(model
  schema 1.1
type user
type group
  relations
    define member: [user]
type document
  relations
    define viewer: [user, user:*, group#member, user with office]
    define owner: [user with office]
    define editor: owner
condition office(ip: ipaddress) {
  ip.in_cidr("10.0.0.0/8")
}
)");
  ASSERT_TRUE(model.has_value()) << model.error().message();
  auto tuple = [](std::string user, std::string relation, std::string object,
                  std::string condition = "") {
    return TupleKey{*ParseObject(object), relation, *ParseUser(user), condition};
  };
  for (const TupleKey& ok :
       {tuple("user:anne", "viewer", "document:1"), tuple("user:*", "viewer", "document:1"),
        tuple("group:eng#member", "viewer", "document:1"),
        tuple("user:anne", "viewer", "document:1", "office"),
        tuple("user:anne", "owner", "document:1", "office")}) {
    EXPECT_TRUE(ValidateTuple(*model, ok).ok()) << ValidateTuple(*model, ok).message();
  }
  struct Case {
    TupleKey tuple;
    std::string_view error;
  };
  const Case cases[] = {
      {tuple("user:anne", "viewer", "folder:1"), "type `folder` is not in the model"},
      {tuple("user:anne", "reader", "document:1"), "`document` has no relation `reader`"},
      {tuple("robot:r2", "viewer", "document:1"), "type `robot` is not in the model"},
      {tuple("group:eng", "viewer", "document:1"), "does not allow group"},
      {tuple("group:*", "viewer", "document:1"), "does not allow group:*"},
      {tuple("user:anne", "owner", "document:1"), "does not allow user"},   // needs the condition
      {tuple("user:anne", "editor", "document:1"), "does not allow user"},  // not assignable
      {tuple("user:anne", "viewer", "document:1", "nope"), "condition `nope` is not in the model"},
      {tuple("document:2#viewer", "viewer", "document:1"), "does not allow document#viewer"},
  };
  for (const Case& c : cases) {
    const Status status = ValidateTuple(*model, c.tuple);
    ASSERT_FALSE(status.ok()) << c.error;
    EXPECT_NE(status.message().find(c.error), std::string::npos) << status.message();
  }
}

TEST(FgaTupleTest, EveryTupleOfTheTestDataFitsItsModel) {
  int tuples = 0;
  for (const char* file : {"consolidated_1_1_tests.yaml", "abac_tests.yaml"}) {
    const auto path = std::filesystem::path(BULWARK_TESTDATA_DIR) / "openfga" / file;
    for (const YAML::Node& test : YAML::LoadFile(path.string())["tests"]) {
      std::optional<Model> model;
      for (const YAML::Node& stage : test["stages"]) {
        if (stage["model"]) model = *Model::Parse(stage["model"].as<std::string>());
        for (const YAML::Node& t : stage["tuples"]) {
          auto object = ParseObject(t["object"].as<std::string>());
          auto user = ParseUser(t["user"].as<std::string>());
          ASSERT_TRUE(object.has_value()) << object.error().message();
          ASSERT_TRUE(user.has_value()) << user.error().message();
          TupleKey key{*object, t["relation"].as<std::string>(), *user, ""};
          if (t["condition"]) key.condition = t["condition"]["name"].as<std::string>();
          const Status status = ValidateTuple(*model, key);
          EXPECT_TRUE(status.ok())
              << file << " " << test["name"].as<std::string>() << ": " << status.message();
          ++tuples;
        }
      }
    }
  }
  EXPECT_GT(tuples, 100);
}

}  // namespace
}  // namespace bulwark::policy::fga

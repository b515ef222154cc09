// OpenFGA models (schema 1.1): every model of the OpenFGA test data parses,
// the rewrite trees come out as written, and invalid models are refused with
// the line or relation and the reason.
#include "policy/fga_model.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>

namespace bulwark::policy::fga {
namespace {

TEST(FgaModelTest, EveryModelOfTheTestDataParses) {
  int models = 0;
  for (const char* file : {"consolidated_1_1_tests.yaml", "abac_tests.yaml"}) {
    const auto path = std::filesystem::path(BULWARK_TESTDATA_DIR) / "openfga" / file;
    const YAML::Node root = YAML::LoadFile(path.string());
    for (const YAML::Node& test : root["tests"]) {
      for (const YAML::Node& stage : test["stages"]) {
        if (!stage["model"]) continue;
        const std::string dsl = stage["model"].as<std::string>();
        auto model = Model::Parse(dsl);
        EXPECT_TRUE(model.has_value())
            << file << " " << test["name"].as<std::string>() << ": " << model.error().message();
        ++models;
      }
    }
  }
  EXPECT_GT(models, 90);
}

TEST(FgaModelTest, RewritesComeOutAsWritten) {
  auto model = Model::Parse(R"(model
  schema 1.1
type user
type group
  relations
    define member: [user, group#member]
type folder
  relations
    define viewer: [user, user:*, group#member with in_office]
type document
  relations
    define parent: [folder]  # the folder it is in
    define owner: [user]
    define editor: [user] or owner
    define blocked: [user]
    define viewer: (editor or viewer from parent) but not blocked
    define auditor: owner and editor

condition in_office(ip: ipaddress, cidrs: list<string>, limits: map<int>) {
  ip.in_cidr("10.0.0.0/8") &&
    cidrs.size() > 0
}
)");
  ASSERT_TRUE(model.has_value()) << model.error().message();
  const RelationDef* viewer = model->FindRelation("document", "viewer");
  ASSERT_NE(viewer, nullptr);
  ASSERT_EQ(viewer->rewrite.kind, Rewrite::Kind::kExclusion);
  const Rewrite& base = viewer->rewrite.children[0];
  ASSERT_EQ(base.kind, Rewrite::Kind::kUnion);
  EXPECT_EQ(base.children[0].kind, Rewrite::Kind::kComputed);
  EXPECT_EQ(base.children[0].relation, "editor");
  EXPECT_EQ(base.children[1].kind, Rewrite::Kind::kTupleToUserset);
  EXPECT_EQ(base.children[1].relation, "viewer");
  EXPECT_EQ(base.children[1].tupleset, "parent");
  EXPECT_EQ(viewer->rewrite.children[1].relation, "blocked");
  EXPECT_EQ(model->FindRelation("document", "auditor")->rewrite.kind, Rewrite::Kind::kIntersection);

  const RelationDef* folder_viewer = model->FindRelation("folder", "viewer");
  ASSERT_EQ(folder_viewer->directly_related.size(), 3u);
  EXPECT_TRUE(folder_viewer->directly_related[1].wildcard);
  EXPECT_EQ(folder_viewer->directly_related[2].relation, "member");
  EXPECT_EQ(folder_viewer->directly_related[2].condition, "in_office");
  EXPECT_EQ(model->FindRelation("document", "parent")->directly_related[0].type, "folder");

  const ConditionDef* condition = model->FindCondition("in_office");
  ASSERT_NE(condition, nullptr);
  ASSERT_EQ(condition->params.size(), 3u);
  EXPECT_EQ(condition->params[1].type, "list<string>");
  EXPECT_EQ(condition->params[2].type, "map<int>");
  EXPECT_EQ(condition->expression, "ip.in_cidr(\"10.0.0.0/8\") &&\n    cidrs.size() > 0");
}

TEST(FgaModelTest, InvalidModelsAreRefusedWithTheReason) {
  const std::string head = "model\n  schema 1.1\ntype user\n";
  struct Case {
    std::string dsl;
    std::string_view error;
  };
  const Case cases[] = {
      {"type user\n", "line 1: expected `model`"},
      {"model\n  schema 1.0\n", "only `schema 1.1`"},
      {head + "type user\n", "line 4: type `user` is defined twice"},
      {head + "type doc\n  relations\n    define viewer: [person]\n",
       "type `person` is not defined"},
      {head + "type doc\n  relations\n    define viewer: [user#member]\n",
       "relation `user#member` is not defined"},
      {head + "type doc\n  relations\n    define viewer: editor\n",
       "relation `editor` is not defined"},
      {head + "type doc\n  relations\n    define viewer: [user] or editor and owner\n",
       "mixing operators needs parentheses"},
      {head + "type doc\n  relations\n    define viewer: [user]\n    define viewer: [user]\n",
       "defined twice"},
      {head + "type doc\n  relations\n    define viewer: viewer\n", "no tuple can ever satisfy"},
      {head + "type doc\n  relations\n    define a: b\n    define b: a\n",
       "no tuple can ever satisfy"},
      {head + "type doc\n  relations\n    define parent: [doc]\n    define viewer: owner from "
              "parent\n",
       "no type that `parent` allows defines relation `owner`"},
      {head +
           "type doc\n  relations\n    define owner: [user]\n    define parent: [user] or owner\n"
           "    define viewer: owner from parent\n",
       "must be a directly assigned relation"},
      {head + "type doc\n  relations\n    define viewer: [user with cond]\n", "condition `cond`"},
      {head + "type doc\n  relations\n    define viewer: [user, user]\n", "listed twice"},
      {head + "type doc\n  relations\n    define viewer: [user:all]\n", "bad type"},
      {head + "condition c(x: integer) {\n  x < 1\n}\n", "bad parameter"},
      {head + "condition c(x: int) {\n  x < 1\n", "unterminated condition"},
      {head + "define viewer: [user]\n", "`define` outside"},
      {head + "type doc\n  relations\n    define viewer: " + std::string(40, '(') + "[user]" +
           std::string(40, ')') + "\n",
       "nested too deeply"},
  };
  for (const Case& c : cases) {
    auto model = Model::Parse(c.dsl);
    ASSERT_FALSE(model.has_value()) << c.dsl;
    EXPECT_NE(model.error().message().find(c.error), std::string::npos)
        << c.dsl << "\n-> " << model.error().message();
  }
}

}  // namespace
}  // namespace bulwark::policy::fga

// Cedar schemas: the text and JSON formats read to the same resolved
// schema; malformed schemas are refused with where and why; entities and
// requests are checked (and converted) against a schema.
#include "policy/cedar_schema.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "policy/cedar_entities.h"
#include "policy/cedar_value.h"

namespace bulwark::policy::cedar {
namespace {

constexpr std::string_view kText = R"(
// A photo-sharing application.
namespace App {
  type Address = { city: String, "zip code"?: Long };
  @doc("people")
  entity User in [Group] = {
    address: Address,
    color?: Color,
    nicknames: Set<String>,
    score: decimal,
  } tags String;
  entity Group;
  entity Color enum ["red", "blue"];
  entity Photo in Album { owner: User, private: Bool };
  entity Album;
  action view, "edit photo" in ["all"] appliesTo {
    principal: User,
    resource: [Photo, Album],
    context: { ip: ipaddr, when?: datetime },
  };
  action all;
}
)";

constexpr std::string_view kJson = R"({"App": {
  "commonTypes": {"Address": {"type": "Record", "attributes": {
    "city": {"type": "String"}, "zip code": {"type": "Long", "required": false}}}},
  "entityTypes": {
    "User": {"memberOfTypes": ["Group"], "shape": {"type": "Record", "attributes": {
      "address": {"type": "Address"},
      "color": {"type": "Entity", "name": "Color", "required": false},
      "nicknames": {"type": "Set", "element": {"type": "String"}},
      "score": {"type": "Extension", "name": "decimal"}}},
      "tags": {"type": "String"}},
    "Group": {},
    "Color": {"enum": ["red", "blue"]},
    "Photo": {"memberOfTypes": ["Album"], "shape": {"type": "Record", "attributes": {
      "owner": {"type": "Entity", "name": "User"}, "private": {"type": "Boolean"}}}},
    "Album": {}
  },
  "actions": {
    "view": {"memberOf": [{"id": "all"}], "appliesTo": {"principalTypes": ["User"],
      "resourceTypes": ["Photo", "Album"], "context": {"type": "Record", "attributes": {
        "ip": {"type": "Extension", "name": "ipaddr"},
        "when": {"type": "Extension", "name": "datetime", "required": false}}}}},
    "edit photo": {"memberOf": [{"id": "all", "type": "App::Action"}], "appliesTo": {
      "principalTypes": ["User"], "resourceTypes": ["Photo", "Album"], "context": {
        "type": "Record", "attributes": {
          "ip": {"type": "Extension", "name": "ipaddr"},
          "when": {"type": "Extension", "name": "datetime", "required": false}}}}},
    "all": {}
  }
}})";

void ExpectAppSchema(const Schema& schema) {
  const EntityTypeSchema* user = schema.FindEntityType("App::User");
  ASSERT_NE(user, nullptr);
  EXPECT_EQ(user->member_of, std::vector<std::string>{"App::Group"});
  EXPECT_EQ(TypeToString(Type::Record(user->attributes)),
            "{address: {city: String, zip code?: Long}, color?: App::Color, "
            "nicknames: Set<String>, score: decimal}");
  ASSERT_TRUE(user->tags.has_value());
  EXPECT_EQ(TypeToString(*user->tags), "String");
  const EntityTypeSchema* color = schema.FindEntityType("App::Color");
  ASSERT_NE(color, nullptr);
  ASSERT_TRUE(color->enum_ids.has_value());
  EXPECT_EQ(*color->enum_ids, (std::set<std::string>{"blue", "red"}));
  EXPECT_EQ(schema.FindEntityType("User"), nullptr);  // declared in App only

  const ActionSchema* view = schema.FindAction({"App::Action", "view"});
  ASSERT_NE(view, nullptr);
  EXPECT_EQ(view->principal_types, std::vector<std::string>{"App::User"});
  EXPECT_EQ(view->resource_types, (std::vector<std::string>{"App::Photo", "App::Album"}));
  EXPECT_EQ(TypeToString(view->context), "{ip: ipaddr, when?: datetime}");
  ASSERT_NE(schema.FindAction({"App::Action", "edit photo"}), nullptr);
  EXPECT_TRUE(schema.ActionIn({"App::Action", "edit photo"}, {"App::Action", "all"}));
  EXPECT_FALSE(schema.ActionIn({"App::Action", "all"}, {"App::Action", "view"}));
  EXPECT_TRUE(schema.IsActionType("App::Action"));
  EXPECT_FALSE(schema.IsActionType("Action"));
  EXPECT_TRUE(schema.MayBeIn("App::User", "App::Group"));
  EXPECT_TRUE(schema.MayBeIn("App::Photo", "App::Photo"));
  EXPECT_FALSE(schema.MayBeIn("App::Group", "App::User"));
}

TEST(CedarSchemaTest, TextFormat) {
  auto schema = Schema::Parse(kText);
  ASSERT_TRUE(schema.has_value()) << schema.error().message();
  ExpectAppSchema(*schema);
}

TEST(CedarSchemaTest, JsonFormatReadsToTheSameSchema) {
  auto schema = Schema::Parse(kJson);
  ASSERT_TRUE(schema.has_value()) << schema.error().message();
  ExpectAppSchema(*schema);
}

TEST(CedarSchemaTest, TypesResolveAcrossNamespaces) {
  auto schema = Schema::Parse(R"(
    namespace N { entity A; }
    namespace M { entity B in [N::A] = { a: N::A, n: __cedar::Long };
                  action act appliesTo { principal: B, resource: N::A }; })");
  ASSERT_TRUE(schema.has_value()) << schema.error().message();
  EXPECT_TRUE(schema->MayBeIn("M::B", "N::A"));
  EXPECT_EQ(TypeToString(Type::Record(schema->FindEntityType("M::B")->attributes)),
            "{a: N::A, n: Long}");
}

TEST(CedarSchemaTest, MalformedSchemasAreRefusedWithWhereAndWhy) {
  struct Case {
    std::string_view text;
    std::string_view error;
  };
  const Case cases[] = {
      {"entity A = { x: B };", "undeclared type `B`"},
      {"entity A;\nentity A;", "2:1: entity type `A` is declared twice"},
      {"entity A; action a in [b]; action b in [a];", "in itself"},
      {"entity A; action a appliesTo { principal: A };", "at least one principal type"},
      {"entity A; action a appliesTo { principal: [], resource: A };",
       "at least one principal type"},
      {"entity A; action a appliesTo { principal: A, resource: A, context: Long };",
       "must be a record"},
      {"type Long = String;", "shadows a built-in type"},
      {"entity A in [Nope];", "undeclared entity type `Nope`"},
      {"entity A { x: Long }", "expected `;`"},
      {"action a in [missing];", "undeclared action"},
      {"type T = T; entity A = { t: T };", "nest too deeply"},
      {"entity A = { x: Long, x: String };", "declared twice"},
      {R"({"": {"entityTypes": {"A": {"shape": {"type": "Nope"}}}, "actions": {}}})",
       "undeclared type `Nope`"},
      {R"({"": {"entityTypes": {}, "actions": {}, "extra": 1}})", "unknown field"},
      {R"({"": {"entityTypes": {}}})", "actions"},
      {"{ not json", "malformed schema JSON"},
  };
  for (const Case& c : cases) {
    auto schema = Schema::Parse(c.text);
    ASSERT_FALSE(schema.has_value()) << c.text;
    EXPECT_NE(schema.error().message().find(c.error), std::string::npos)
        << c.text << " -> " << schema.error().message();
  }
}

TEST(CedarSchemaTest, DeeplyNestedTypesAreBounded) {
  std::string text = "entity A = { x: ";
  for (int i = 0; i < 10000; ++i) text += "Set<";
  text += "Long";
  for (int i = 0; i < 10000; ++i) text += ">";
  text += " };";
  EXPECT_FALSE(Schema::Parse(text).has_value());
}

class CedarSchemaConformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto schema = Schema::Parse(kText);
    ASSERT_TRUE(schema.has_value()) << schema.error().message();
    schema_ = std::move(*schema);
  }
  Schema schema_;
};

TEST_F(CedarSchemaConformTest, RequestContextIsReadThroughTheSchema) {
  auto context =
      ValueFromJson(R"({"ip": "10.0.0.1", "when": {"fn": "datetime", "arg": "2024-01-01"}})");
  ASSERT_TRUE(context.has_value());
  auto conformed = ConformRequest(schema_, {"App::User", "alice"}, {"App::Action", "view"},
                                  {"App::Photo", "p"}, *context);
  ASSERT_TRUE(conformed.has_value()) << conformed.error().message();
  EXPECT_TRUE(conformed->as_record().at("ip").is(ValueType::kIpAddr));
  EXPECT_TRUE(conformed->as_record().at("when").is(ValueType::kDatetime));
}

TEST_F(CedarSchemaConformTest, RequestsThatDoNotFitAreRefused) {
  const Value ok = *ValueFromJson(R"({"ip": "10.0.0.1"})");
  struct Case {
    EntityUid principal, action, resource;
    std::string context;
    std::string_view error;
  };
  const Case cases[] = {
      {{"App::Group", "g"}, {"App::Action", "view"}, {"App::Photo", "p"}, "", "principal type"},
      {{"App::User", "a"}, {"App::Action", "view"}, {"App::User", "p"}, "", "resource type"},
      {{"App::User", "a"}, {"App::Action", "nope"}, {"App::Photo", "p"}, "", "not declared"},
      {{"App::User", "a"}, {"App::Action", "all"}, {"App::Photo", "p"}, "", "principal type"},
      {{"App::User", "a"},
       {"App::Action", "view"},
       {"App::Photo", "p"},
       R"({})",
       "required attribute `ip`"},
      {{"App::User", "a"},
       {"App::Action", "view"},
       {"App::Photo", "p"},
       R"({"ip": "10.0.0.1", "extra": 1})",
       "`extra` is not declared"},
      {{"App::User", "a"},
       {"App::Action", "view"},
       {"App::Photo", "p"},
       R"({"ip": 7})",
       "context.ip: expected ipaddr"},
      {{"App::User", "a"},
       {"App::Action", "view"},
       {"App::Photo", "p"},
       R"({"ip": "10.0.0"})",
       "context.ip"},
  };
  for (const Case& c : cases) {
    const Value context = c.context.empty() ? ok : *ValueFromJson(c.context);
    auto conformed = ConformRequest(schema_, c.principal, c.action, c.resource, context);
    ASSERT_FALSE(conformed.has_value()) << c.error;
    EXPECT_NE(conformed.error().message().find(c.error), std::string::npos)
        << conformed.error().message();
  }
}

TEST_F(CedarSchemaConformTest, EntitiesAreCheckedAndGainTheSchemasActions) {
  auto entities = Entities::FromJson(R"([
    {"uid": {"type": "App::User", "id": "alice"}, "parents": [{"type": "App::Group", "id": "g"}],
     "attrs": {"address": {"city": "Oslo"}, "nicknames": [], "score": "0.5",
               "color": {"type": "App::Color", "id": "red"}},
     "tags": {"team": "blue"}},
    {"uid": {"type": "App::Group", "id": "g"}, "attrs": {}, "parents": []}
  ])");
  ASSERT_TRUE(entities.has_value()) << entities.error().message();
  ASSERT_TRUE(ConformEntities(schema_, *entities).ok());
  EXPECT_TRUE(entities->Find({"App::User", "alice"})->attrs.at("score").is(ValueType::kDecimal));
  EXPECT_TRUE(entities->IsAncestor({"App::Action", "view"}, {"App::Action", "all"}));
}

TEST_F(CedarSchemaConformTest, EntitiesThatDoNotFitAreRefused) {
  const std::string_view user_attrs =
      R"("address": {"city": "Oslo"}, "nicknames": [], "score": "0.5")";
  struct Case {
    std::string json;
    std::string_view error;
  };
  const Case cases[] = {
      {R"([{"uid": {"type": "Nope", "id": "x"}, "attrs": {}, "parents": []}])", "not declared"},
      {fmt::format(R"([{{"uid": {{"type": "App::User", "id": "a"}}, "attrs": {{{}}},
         "parents": [{{"type": "App::Album", "id": "x"}}]}}])",
                   user_attrs),
       "may not have a parent of type App::Album"},
      {R"([{"uid": {"type": "App::User", "id": "a"}, "attrs": {"nicknames": []}, "parents": []}])",
       "required attribute"},
      {fmt::format(
           R"([{{"uid": {{"type": "App::User", "id": "a"}}, "attrs": {{{}, "nicknames": [1]}},
         "parents": []}}])",
           R"("address": {"city": "Oslo"}, "score": "0.5")"),
       "expected String"},
      {R"([{"uid": {"type": "App::Color", "id": "green"}, "attrs": {}, "parents": []}])",
       "not one of the ids"},
      {R"([{"uid": {"type": "App::Group", "id": "g"}, "attrs": {}, "parents": [], "tags": {"a": "b"}}])",
       "has no tags"},
      {R"([{"uid": {"type": "App::Action", "id": "nope"}, "attrs": {}, "parents": []}])",
       "action is not declared"},
  };
  for (const Case& c : cases) {
    auto entities = Entities::FromJson(c.json);
    ASSERT_TRUE(entities.has_value()) << c.json << entities.error().message();
    const Status status = ConformEntities(schema_, *entities);
    ASSERT_FALSE(status.ok()) << c.json;
    EXPECT_NE(status.message().find(c.error), std::string::npos) << status.message();
  }
}

}  // namespace
}  // namespace bulwark::policy::cedar

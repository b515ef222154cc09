// Cedar evaluation semantics and authorization: operators, errors that skip
// a policy (and are reported), forbid over permit, entity hierarchy, and the
// decimal and ipaddr extensions.
#include "policy/cedar_evaluator.h"

#include <gtest/gtest.h>

#include "policy/cedar_parser.h"

namespace bulwark::policy::cedar {
namespace {

constexpr std::string_view kEntities = R"([
  {"uid": {"type": "User", "id": "alice"},
   "attrs": {"age": 30, "dept": "eng", "manager": {"__entity": {"type": "User", "id": "bob"}},
             "tags": ["a", "b"], "profile": {"level": 3, "office": {"city": "Oslo"}},
             "clearance": 3},
   "parents": [{"type": "Group", "id": "eng"}],
   "tags": {"color": "blue"}},
  {"uid": {"type": "User", "id": "bob"}, "attrs": {"age": 50}, "parents": []},
  {"uid": {"type": "Group", "id": "eng"}, "attrs": {}, "parents": [{"type": "Group", "id": "all"}]},
  {"uid": {"type": "Group", "id": "all"}, "attrs": {}, "parents": []},
  {"uid": {"type": "Doc", "id": "d1"},
   "attrs": {"owner": {"type": "User", "id": "alice"}, "classification": 2},
   "parents": [{"type": "Folder", "id": "f"}]}
])";

class CedarEvaluatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto entities = Entities::FromJson(kEntities);
    ASSERT_TRUE(entities.has_value()) << entities.error().message();
    entities_ = std::move(*entities);
    auto context = ValueFromJson(
        R"({"ip": {"__extn": {"fn": "ip", "arg": "10.1.2.3"}}, "score": {"__extn": {"fn": "decimal", "arg": "0.75"}}, "n": 5})");
    ASSERT_TRUE(context.has_value());
    request_ = {{"User", "alice"}, {"Action", "read"}, {"Doc", "d1"}, *context};
  }

  Result<Value> Eval(std::string_view text) {
    auto expr = ParseExpression(text);
    EXPECT_TRUE(expr.has_value()) << text << ": " << expr.error().message();
    if (!expr) return Err(expr.error());
    return Evaluate(**expr, request_, entities_);
  }
  bool True(std::string_view text) {
    auto v = Eval(text);
    EXPECT_TRUE(v.has_value()) << text << ": " << v.error().message();
    return v && v->is(ValueType::kBool) && v->as_bool();
  }
  std::string Error(std::string_view text) {
    auto v = Eval(text);
    EXPECT_FALSE(v.has_value()) << text << " evaluated to " << v->ToString();
    return v ? "" : v.error().message();
  }

  Entities entities_;
  Request request_;
};

TEST_F(CedarEvaluatorTest, Operators) {
  EXPECT_TRUE(True("1 + 2 * 3 == 7"));
  EXPECT_TRUE(True("principal.age - 5 >= 25 && principal.age < 31"));
  EXPECT_TRUE(True("principal.dept == \"eng\" && principal.dept != \"ops\""));
  EXPECT_TRUE(True("principal.manager == User::\"bob\""));
  EXPECT_TRUE(True("principal.manager.age == 50"));
  EXPECT_TRUE(True("resource.owner == principal"));
  EXPECT_TRUE(True("[1, 2, 2] == [2, 1]"));
  EXPECT_TRUE(True("{a: 1, b: [true]} == {b: [true], a: 1}"));
  EXPECT_TRUE(True("1 != \"1\""));  // different types: unequal, not an error
  EXPECT_TRUE(True("if principal.age > 18 then \"adult\" == \"adult\" else false"));
  EXPECT_TRUE(True("!(1 == 2)"));
  EXPECT_TRUE(True("-(-3) == 3"));
  EXPECT_TRUE(True("context.n * 2 == 10"));
}

TEST_F(CedarEvaluatorTest, HierarchyAndTypes) {
  EXPECT_TRUE(True("principal in Group::\"eng\""));
  EXPECT_TRUE(True("principal in Group::\"all\""));  // transitively
  EXPECT_TRUE(True("principal in principal"));
  EXPECT_TRUE(True("principal in [User::\"zed\", Group::\"all\"]"));
  EXPECT_FALSE(True("User::\"bob\" in Group::\"eng\""));
  EXPECT_FALSE(True("User::\"ghost\" in Group::\"eng\""));  // unknown entity: only itself
  EXPECT_TRUE(True("principal is User && !(principal is Group)"));
  EXPECT_TRUE(True("principal is User in Group::\"all\""));
  EXPECT_TRUE(True("resource in Folder::\"f\""));
}

TEST_F(CedarEvaluatorTest, HasLikeAndSets) {
  EXPECT_TRUE(True("principal has age && !(principal has salary)"));
  EXPECT_TRUE(True("principal has profile.office.city"));
  EXPECT_FALSE(True("principal has profile.office.zip"));
  EXPECT_FALSE(True("User::\"ghost\" has age"));
  EXPECT_TRUE(True("context has n && !(context has m)"));
  EXPECT_TRUE(True("\"report-2024.pdf\" like \"report-*.pdf\""));
  EXPECT_TRUE(True("\"a*b\" like \"a\\*b\""));
  EXPECT_FALSE(True("\"axb\" like \"a\\*b\""));
  EXPECT_TRUE(True("\"\" like \"*\""));
  EXPECT_FALSE(True("\"abc\" like \"*d*\""));
  EXPECT_TRUE(True("\"aXbXb\" like \"a*b\""));  // the last literal ends the text
  EXPECT_TRUE(True("\"aab\" like \"a*ab\""));
  EXPECT_FALSE(True("\"ab\" like \"a*ab\""));  // the wildcard cannot reuse the prefix
  EXPECT_TRUE(True("\"xabyab\" like \"*ab*ab\""));
  EXPECT_FALSE(True("\"abx\" like \"ab\""));
  EXPECT_TRUE(True("\"ab\" like \"a**b\""));
  EXPECT_TRUE(True("principal.tags.contains(\"a\")"));
  EXPECT_TRUE(True("principal.tags.containsAll([\"a\", \"b\"])"));
  EXPECT_FALSE(True("principal.tags.containsAll([\"a\", \"c\"])"));
  EXPECT_TRUE(True("principal.tags.containsAny([\"c\", \"b\"])"));
  EXPECT_TRUE(True("[].isEmpty() && ![1].isEmpty()"));
  EXPECT_TRUE(True("principal.hasTag(\"color\") && principal.getTag(\"color\") == \"blue\""));
  EXPECT_FALSE(True("principal.hasTag(\"size\")"));
}

TEST_F(CedarEvaluatorTest, Extensions) {
  EXPECT_TRUE(True("context.ip.isInRange(ip(\"10.0.0.0/8\"))"));
  EXPECT_FALSE(True("context.ip.isInRange(ip(\"10.2.0.0/16\"))"));
  EXPECT_TRUE(True("context.ip.isIpv4() && !context.ip.isIpv6()"));
  EXPECT_TRUE(True("ip(\"127.0.0.1\").isLoopback() && ip(\"::1\").isLoopback()"));
  EXPECT_TRUE(True("ip(\"224.1.2.3\").isMulticast() && !ip(\"10.0.0.1\").isMulticast()"));
  EXPECT_FALSE(True("ip(\"10.0.0.1\").isInRange(ip(\"::/0\"))"));
  EXPECT_TRUE(True("ip(\"2001:db8::1\").isInRange(ip(\"2001:db8::/32\"))"));
  EXPECT_TRUE(True("context.score.greaterThan(decimal(\"0.5\"))"));
  EXPECT_TRUE(True("context.score.lessThanOrEqual(decimal(\"0.7500\"))"));
  EXPECT_TRUE(True("decimal(\"-1.5\").lessThan(decimal(\"1.0\"))"));
  EXPECT_TRUE(True("decimal(\"1.0\") == decimal(\"1.0000\")"));
  EXPECT_NE(Error("decimal(\"1.23456\")").find("invalid decimal"), std::string::npos);
  EXPECT_NE(Error("decimal(\"1\")").find("invalid decimal"), std::string::npos);
  EXPECT_NE(Error("decimal(\"922337203685477.5808\")").find("invalid decimal"), std::string::npos);
  EXPECT_TRUE(True("decimal(\"-922337203685477.5808\") == decimal(\"-922337203685477.5808\")"));
  EXPECT_NE(Error("ip(\"010.0.0.1\")").find("invalid ip"), std::string::npos);
  EXPECT_NE(Error("ip(\"10.0.0.1/33\")").find("invalid ip"), std::string::npos);
  EXPECT_NE(Error("ip(\"10.0.0.1/08\")").find("invalid ip"), std::string::npos);
}

TEST_F(CedarEvaluatorTest, DatetimeAndDuration) {
  // Each case was checked against the official engine (cedar-wasm 4.13.0).
  EXPECT_TRUE(True(R"(datetime("2024-01-01") < datetime("2024-01-02"))"));
  EXPECT_TRUE(True(R"(duration("1h") < duration("2h"))"));
  EXPECT_TRUE(True(R"(datetime("2024-01-01T00:00:00Z") == datetime("2024-01-01"))"));
  EXPECT_TRUE(True(R"(datetime("2024-01-01T01:00:00+0100") == datetime("2024-01-01"))"));
  EXPECT_TRUE(True(R"(datetime("2024-01-01T00:00:00-0000") == datetime("2024-01-01"))"));
  EXPECT_TRUE(True(
      R"(datetime("2024-01-01T00:00:00.001Z").offset(duration("-1ms")) == datetime("2024-01-01"))"));
  EXPECT_TRUE(True(R"(datetime("1969-12-31T23:00:00Z").toDate() == datetime("1969-12-31"))"));
  EXPECT_TRUE(True(R"(datetime("1969-12-31T23:00:00Z").toTime() == duration("23h"))"));
  EXPECT_TRUE(True(R"(duration("-90m").toHours() == -1)"));
  EXPECT_TRUE(True(R"(duration("1d2h3m4s5ms").toMilliseconds() == 93784005)"));
  EXPECT_TRUE(True(R"(duration("01h") == duration("1h") && duration("1s") == duration("1000ms"))"));
  EXPECT_TRUE(True(R"(datetime("0000-01-01") < datetime("2024-01-01"))"));
  EXPECT_TRUE(
      True(R"(datetime("2024-01-01").durationSince(datetime("2024-01-02")) == duration("-1d"))"));
  EXPECT_TRUE(True(R"(duration("9223372036854775807ms").toDays() > 0)"));
  EXPECT_TRUE(True(R"(duration("106751991167d") > duration("0ms"))"));
  for (const char* bad :
       {"2024-02-30", "2024-1-01", "2024-01-01T24:00:00Z", "2024-01-01T23:59:60Z",
        "2024-01-01T00:00:00.1Z", "2024-01-01T00:00:00+2400", "2024-01-01T00:00:00+1260",
        "2024-01-01T00:00:00z", "+2024-01-01", "2024-01-01T00:00Z", "2024-01-01 00:00:00Z"}) {
    EXPECT_NE(Error(std::string("datetime(\"") + bad + "\")").find("invalid datetime"),
              std::string::npos)
        << bad;
  }
  for (const char* bad : {"1h1d", "", "-", "106751991168d", "1x", "d"}) {
    EXPECT_NE(Error(std::string("duration(\"") + bad + "\")").find("invalid duration"),
              std::string::npos)
        << bad;
  }
  EXPECT_NE(Error(R"(datetime("2024-01-01") < duration("2h"))").find("type error"),
            std::string::npos);
  EXPECT_NE(Error(R"(decimal("1.0") < decimal("2.0"))").find("type error"), std::string::npos);
  EXPECT_NE(Error(R"(1 < datetime("2024-01-01"))").find("type error"), std::string::npos);
  EXPECT_NE(
      Error(R"(datetime("9999-12-31").offset(duration("9223372036854775807ms")))").find("overflow"),
      std::string::npos);
}

TEST_F(CedarEvaluatorTest, Errors) {
  EXPECT_NE(Error("1 + \"a\"").find("type error"), std::string::npos);
  EXPECT_NE(Error("9223372036854775807 + 1").find("overflow"), std::string::npos);
  EXPECT_NE(Error("-9223372036854775807 - 2").find("overflow"), std::string::npos);
  EXPECT_NE(Error("4611686018427387904 * 2").find("overflow"), std::string::npos);
  EXPECT_NE(Error("-(-9223372036854775808)").find("overflow"), std::string::npos);
  EXPECT_NE(Error("principal.salary").find("does not have the attribute"), std::string::npos);
  EXPECT_NE(Error("User::\"ghost\".age").find("does not exist"), std::string::npos);
  EXPECT_NE(Error("context.missing").find("does not have the attribute"), std::string::npos);
  EXPECT_NE(Error("1 && true").find("type error"), std::string::npos);
  EXPECT_NE(Error("if 1 then true else false").find("type error"), std::string::npos);
  EXPECT_NE(Error("1 in Group::\"eng\"").find("type error"), std::string::npos);
  EXPECT_NE(Error("principal in [1]").find("type error"), std::string::npos);
  EXPECT_NE(Error("1 < \"2\"").find("type error"), std::string::npos);
  EXPECT_NE(Error("\"a\".contains(1)").find("type error"), std::string::npos);
  // Short-circuit: the right side is never evaluated.
  EXPECT_FALSE(True("false && principal.salary > 0"));
  EXPECT_TRUE(True("true || principal.salary > 0"));
}

TEST_F(CedarEvaluatorTest, ForbidOverridesPermitAndErrorsAreSkippedAndReported) {
  auto policies = ParsePolicies(R"(
    permit (principal in Group::"eng", action == Action::"read", resource);
    @id("owner")
    permit (principal, action, resource) when { resource.owner == principal };
    permit (principal, action, resource) when { principal.salary > 10 };
    forbid (principal, action, resource) when { resource.classification > principal.clearance };
    forbid (principal, action == Action::"delete", resource);
    permit (principal == ?principal, action, resource);
  )");
  ASSERT_TRUE(policies.has_value()) << policies.error().message();
  Decision d = Authorize(*policies, request_, entities_);
  EXPECT_TRUE(d.allow);
  EXPECT_EQ(d.reasons, (std::vector<std::string>{"policy0", "owner"}));
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].policy_id, "policy2");

  request_.action = {"Action", "delete"};
  d = Authorize(*policies, request_, entities_);
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.reasons, (std::vector<std::string>{"policy4"}));

  // Bell-LaPadula: no read up.
  request_.action = {"Action", "read"};
  auto raised = Entities::FromJson(R"([
    {"uid": {"type": "User", "id": "alice"}, "attrs": {"clearance": 1}, "parents": []},
    {"uid": {"type": "Doc", "id": "d1"}, "attrs": {"owner": {"type": "User", "id": "alice"},
     "classification": 2}, "parents": []}])");
  ASSERT_TRUE(raised.has_value());
  d = Authorize(*policies, request_, *raised);
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.reasons, (std::vector<std::string>{"policy3"}));

  // Nothing applies: default deny, no reasons.
  request_.principal = {"User", "bob"};
  request_.resource = {"Doc", "other"};
  d = Authorize(*policies, request_, entities_);
  EXPECT_FALSE(d.allow);
  EXPECT_TRUE(d.reasons.empty());
}

TEST(CedarEntitiesTest, RefusesMalformedEntities) {
  EXPECT_FALSE(Entities::FromJson("{}").has_value());
  EXPECT_FALSE(Entities::FromJson("[{\"attrs\": {}}]").has_value());
  // As in Cedar, attrs and parents are required.
  EXPECT_FALSE(
      Entities::FromJson(R"([{"uid": {"type": "A", "id": "a"}, "parents": []}])").has_value());
  EXPECT_FALSE(
      Entities::FromJson(R"([{"uid": {"type": "A", "id": "a"}, "attrs": {}}])").has_value());
  EXPECT_TRUE(
      Entities::FromJson(R"([{"uid": {"type": "A", "id": "a"}, "attrs": {}, "parents": []}])")
          .has_value());
  EXPECT_FALSE(Entities::FromJson(R"([{"uid": {"type": "A", "id": "a"}, "attrs": {}, "parents": []},
                                      {"uid": {"type": "A", "id": "a"}, "attrs": {}, "parents": []}])")
                   .has_value());
  EXPECT_FALSE(Entities::FromJson(
                   R"([{"uid": {"type": "A", "id": "a"}, "attrs": {"x": 1.5}, "parents": []}])")
                   .has_value());
  EXPECT_FALSE(Entities::FromJson(
                   R"([{"uid": {"type": "A", "id": "a"}, "attrs": {"x": null}, "parents": []}])")
                   .has_value());
  EXPECT_FALSE(
      Entities::FromJson(
          R"([{"uid": {"type": "A", "id": "a"}, "attrs": {"x": {"__extn": {"fn": "decimal", "arg": "x"}}}, "parents": []}])")
          .has_value());
  // A cycle in the parents ends, and each is the other's ancestor.
  auto cycle = Entities::FromJson(R"([
    {"uid": {"type": "G", "id": "a"}, "attrs": {}, "parents": [{"type": "G", "id": "b"}]},
    {"uid": {"type": "G", "id": "b"}, "attrs": {}, "parents": [{"type": "G", "id": "a"}]}])");
  ASSERT_TRUE(cycle.has_value());
  EXPECT_TRUE(cycle->IsAncestor({"G", "a"}, {"G", "b"}));
  EXPECT_TRUE(cycle->IsAncestor({"G", "b"}, {"G", "a"}));
  // Deep JSON nesting is refused, not a crash.
  std::string deep = std::string(10000, '[') + std::string(10000, ']');
  EXPECT_FALSE(ValueFromJson(deep).has_value());
}

}  // namespace
}  // namespace bulwark::policy::cedar

namespace bulwark::policy::cedar {
namespace {

TEST(CedarTemplatesTest, LinksFillSlotsAndRefuseMismatches) {
  auto parsed = ParsePolicies(R"(
    permit (principal, action == Action::"list", resource);
    @id("share")
    permit (principal == ?principal, action, resource in ?resource);
  )");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  auto linked = LinkTemplates(
      *parsed, {{"share", "alice-f", EntityUid{"User", "alice"}, EntityUid{"Folder", "f"}}});
  ASSERT_TRUE(linked.has_value()) << linked.error().message();
  ASSERT_EQ(linked->size(), 2u);  // the static policy and the link; not the template
  auto entities = Entities::FromJson(
      R"([{"uid": {"type": "Doc", "id": "d"}, "attrs": {}, "parents": [{"type": "Folder", "id": "f"}]}])");
  ASSERT_TRUE(entities.has_value());
  Request request{{"User", "alice"}, {"Action", "read"}, {"Doc", "d"}};
  Decision d = Authorize(*linked, request, *entities);
  EXPECT_TRUE(d.allow);
  EXPECT_EQ(d.reasons, (std::vector<std::string>{"alice-f"}));
  request.principal = {"User", "bob"};
  EXPECT_FALSE(Authorize(*linked, request, *entities).allow);
  // An unlinked template decides nothing.
  request.principal = {"User", "alice"};
  EXPECT_FALSE(Authorize(*parsed, request, *entities).allow);

  EXPECT_FALSE(LinkTemplates(*parsed, {{"nope", "x", EntityUid{"User", "a"}, EntityUid{"F", "f"}}})
                   .has_value());
  EXPECT_FALSE(  // a static policy is not a template
      LinkTemplates(*parsed, {{"policy0", "x", EntityUid{"User", "a"}, std::nullopt}}).has_value());
  EXPECT_FALSE(  // the template needs ?resource
      LinkTemplates(*parsed, {{"share", "x", EntityUid{"User", "a"}, std::nullopt}}).has_value());
  EXPECT_FALSE(  // the id is taken
      LinkTemplates(*parsed, {{"share", "policy0", EntityUid{"User", "a"}, EntityUid{"F", "f"}}})
          .has_value());
}

// A chain of 300 groups: every group above a user is its ancestor, no other
// entity is (the hash search must find each of the 300, and must not take a
// near miss, same id and another type or the reverse, for one).
TEST(CedarEntitiesTest, AncestorsAreFoundByHashAndNearMissesAreNot) {
  std::string json =
      R"([{"uid":{"type":"User","id":"alice"},"attrs":{},"parents":[{"type":"Group","id":"g0"}]})";
  for (int i = 0; i < 300; ++i) {
    json +=
        R"(,{"uid":{"type":"Group","id":"g)" + std::to_string(i) + R"("},"attrs":{},"parents":[)";
    if (i + 1 < 300) json += R"({"type":"Group","id":"g)" + std::to_string(i + 1) + R"("})";
    json += "]}";
  }
  json += "]";
  auto entities = Entities::FromJson(json);
  ASSERT_TRUE(entities.has_value()) << entities.error().message();
  const EntityUid alice{"User", "alice"};
  for (int i = 0; i < 300; ++i) {
    const std::string id = "g" + std::to_string(i);
    EXPECT_TRUE(entities->IsAncestor(alice, {"Group", id})) << id;
    EXPECT_FALSE(entities->IsAncestor(alice, {"Groups", id})) << id;
    EXPECT_FALSE(entities->IsAncestor(alice, {"Group", id + "x"})) << id;
    EXPECT_FALSE(entities->IsAncestor({"Group", id}, {"Group", id})) << "not its own ancestor";
  }
  EXPECT_FALSE(entities->IsAncestor(alice, {"Group", "g300"}));
  EXPECT_FALSE(entities->IsAncestor({"Group", "g299"}, {"Group", "g0"}));

  // An Entity put together by hand, never sealed, still answers right.
  Entity loose;
  loose.ancestors = {{"Group", "a"}, {"Group", "b"}};
  EXPECT_TRUE(loose.HasAncestor({"Group", "b"}));
  EXPECT_FALSE(loose.HasAncestor({"Group", "c"}));
  loose.SealAncestors();
  EXPECT_TRUE(loose.HasAncestor({"Group", "a"}));
  EXPECT_FALSE(loose.HasAncestor({"Team", "a"}));
}

}  // namespace
}  // namespace bulwark::policy::cedar

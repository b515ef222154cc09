// The Cedar validator: well-typed policies pass; each kind of mistake the
// strict validator catches is reported against the policy and the place in
// its text. (tests/e2e/cedar_validate_differential.mjs compares thousands of
// random policies with the official validator.)
#include "policy/cedar_validator.h"

#include <gtest/gtest.h>

#include "policy/cedar_parser.h"

namespace bulwark::policy::cedar {
namespace {

constexpr std::string_view kSchema = R"(
entity Group;
entity User in [Group] = { age: Long, nick?: String, manager: User, address: { city: String, zip?: Long } };
entity Doc = { owner: User, level: Long, labels: Set<String> } tags Long;
action read, write appliesTo { principal: User, resource: Doc, context: { ip: ipaddr, mfa?: Bool } };
action manage appliesTo { principal: User, resource: Group };
)";

class CedarValidatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto schema = Schema::Parse(kSchema);
    ASSERT_TRUE(schema.has_value()) << schema.error().message();
    schema_ = std::move(*schema);
  }

  ValidationResult Validate(std::string_view text) {
    auto policies = ParsePolicies(text);
    EXPECT_TRUE(policies.has_value()) << policies.error().message();
    if (!policies) return {};
    return ValidatePolicies(schema_, *policies);
  }

  Schema schema_;
};

TEST_F(CedarValidatorTest, WellTypedPoliciesPass) {
  const std::string_view valid[] = {
      R"(permit(principal, action == Action::"read", resource) when { resource.owner == principal };)",
      R"(permit(principal in Group::"admins", action, resource);)",
      R"(permit(principal, action, resource is Doc) when { principal.age >= resource.level };)",
      R"(permit(principal, action, resource) when { principal has nick && principal.nick like "a*" };)",
      R"(permit(principal, action, resource) when { principal.address has zip && principal.address.zip > 1000 };)",
      R"(permit(principal, action in [Action::"read", Action::"write"], resource)
         when { context.ip.isInRange(ip("10.0.0.0/8")) && context has mfa && context.mfa };)",
      // Only checked where the action is read or write: no `ip` in manage's context.
      R"(permit(principal, action, resource) when { action != Action::"manage" && context.ip.isLoopback() };)",
      R"(permit(principal, action, resource) when { resource.hasTag("x") && resource.getTag("x") > 1 };)",
      R"(permit(principal, action, resource) when { (if principal has nick then principal.nick else "x") == "a" };)",
      R"(permit(principal == ?principal, action, resource in ?resource);)",
      R"(forbid(principal, action, resource) unless { principal.manager.manager.age > 18 };)",
  };
  for (std::string_view text : valid) {
    const ValidationResult result = Validate(text);
    EXPECT_TRUE(result.ok()) << text << "\n"
                             << (result.errors.empty() ? "" : result.errors[0].message);
  }
}

TEST_F(CedarValidatorTest, MistakesAreReportedWithPolicyAndPlace) {
  struct Case {
    std::string_view text;
    std::string_view error;
  };
  const Case cases[] = {
      {"permit(principal, action, resource) when { principal.nick == \"a\" };",
       "optional attribute `nick`"},
      {"permit(principal, action, resource) when { principal.name == \"a\" };",
       "attribute `name` on entity type `User` not found"},
      {"permit(principal, action, resource) when { context.mfa };", "optional attribute `mfa`"},
      {"permit(principal, action, resource) when { context.ip.isIpv4() };",
       "attribute `ip` in context for Action::\"manage\" not found"},
      {"permit(principal, action, resource) when { principal.age == \"old\" };",
       "the types Long and String are not compatible"},
      {"permit(principal, action, resource) when { principal.age };", "expected Bool but saw Long"},
      {"permit(principal, action, resource) when { principal.age + \"1\" > 2 };",
       "expected Long but saw String"},
      {"permit(principal, action, resource) when { [] == [] };", "empty set literals"},
      {"permit(principal, action, resource) when { ip(\"10.0.0\").isIpv4() };",
       "not a valid ipaddr literal"},
      {"permit(principal, action, resource is Doc) when { ip(resource.owner.nick).isIpv4() };",
       "non-literal"},
      {"permit(principal == Usr::\"a\", action, resource);", "unrecognized entity type `Usr`"},
      {"permit(principal, action == Action::\"delete\", resource);",
       "unrecognized action `Action::\"delete\"`"},
      {"permit(principal, action, resource) when { resource.labels.contains(1) };",
       "the types String and Long are not compatible"},
      {"permit(principal, action, resource) when { [1, \"a\"].contains(1) };", "not compatible"},
      {"permit(principal, action, resource) when { resource.getTag(\"x\") > 1 };",
       "safety of access to tag"},
      {"permit(principal, action, resource) when { decimal(\"1.0\") < decimal(\"2.0\") };",
       "expected datetime, or duration, or Long but saw decimal"},
      {"permit(principal, action, resource) when { 1 in principal };", "expected entity"},
      {"permit(principal, action, resource) when { !(principal has nick) || principal.nick == \"\" "
       "};",
       "optional attribute `nick`"},
  };
  for (const Case& c : cases) {
    const ValidationResult result = Validate(c.text);
    ASSERT_FALSE(result.ok()) << c.text;
    EXPECT_EQ(result.errors[0].policy_id, "policy0");
    EXPECT_EQ(result.errors[0].location.line, 1u);
    bool found = false;
    for (const ValidationIssue& e : result.errors) {
      found = found || e.message.find(c.error) != std::string::npos;
    }
    EXPECT_TRUE(found) << c.text << " -> " << result.errors[0].message;
  }
}

TEST_F(CedarValidatorTest, ErrorsPointAtTheAttributeRead) {
  const ValidationResult result = Validate(
      "permit(principal, action, resource)\nwhen {\n  principal.age > 1 &&\n  principal.nick == "
      "\"a\"\n};");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].location.line, 4u);
  EXPECT_EQ(result.errors[0].location.column, 13u);  // the attribute read
}

TEST_F(CedarValidatorTest, PoliciesThatCanNeverApplyWarnButPass) {
  const ValidationResult no_action =
      Validate(R"(permit(principal, action == Action::"manage", resource is Doc);)");
  EXPECT_TRUE(no_action.ok());
  ASSERT_FALSE(no_action.warnings.empty());
  EXPECT_NE(no_action.warnings[0].message.find("unable to find an applicable action"),
            std::string::npos);
  const ValidationResult impossible =
      Validate(R"(permit(principal, action, resource) when { principal in Doc::"d" };)");
  EXPECT_TRUE(impossible.ok());
  ASSERT_EQ(impossible.warnings.size(), 1u);
  EXPECT_NE(impossible.warnings[0].message.find("impossible"), std::string::npos);
}

}  // namespace
}  // namespace bulwark::policy::cedar

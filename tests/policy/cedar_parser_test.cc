// The Cedar parser: every policy file of the shared Cedar test data parses;
// each scope and expression form lands in the tree it should; and malformed,
// deeply nested or out-of-range text is refused with a line and column.
#include "policy/cedar_parser.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace bulwark::policy::cedar {
namespace {

namespace fs = std::filesystem;

std::string TestDataDir() {
  const char* env = std::getenv("BULWARK_TESTDATA");
  return env != nullptr ? env : BULWARK_TESTDATA_DIR;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(CedarParserTest, ParsesEveryPolicyFileOfTheTestData) {
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(TestDataDir() + "/cedar")) {
    if (entry.path().extension() != ".cedar") continue;
    ++files;
    auto policies = ParsePolicies(ReadFile(entry.path()));
    ASSERT_TRUE(policies.has_value()) << entry.path() << ": " << policies.error().message();
    EXPECT_FALSE(policies->empty()) << entry.path();
  }
  EXPECT_GT(files, 10);
}

TEST(CedarParserTest, ScopeForms) {
  auto policies = ParsePolicies(R"(
    @id("owner-reads")
    @advice
    permit (principal == User::"alice", action in [Action::"read", Action::"list"],
            resource is Photos::Photo in Album::"trip")
    when { true } unless { false };
    forbid (principal is User, action == Action::"delete", resource);
    permit (principal in ?principal, action, resource == ?resource);
  )");
  ASSERT_TRUE(policies.has_value()) << policies.error().message();
  ASSERT_EQ(policies->size(), 3u);
  const Policy& p0 = (*policies)[0];
  EXPECT_EQ(p0.id, "owner-reads");
  ASSERT_EQ(p0.annotations.size(), 2u);
  EXPECT_EQ(p0.annotations[1].first, "advice");
  EXPECT_EQ(p0.annotations[1].second, "");
  EXPECT_EQ(p0.effect, Effect::kPermit);
  EXPECT_EQ(p0.principal.op, ScopeConstraint::Op::kEq);
  EXPECT_EQ(p0.principal.entities[0], (EntityUid{"User", "alice"}));
  EXPECT_TRUE(p0.action.action_list);
  EXPECT_EQ(p0.action.entities.size(), 2u);
  EXPECT_EQ(p0.resource.op, ScopeConstraint::Op::kIsIn);
  EXPECT_EQ(p0.resource.entity_type, "Photos::Photo");
  EXPECT_EQ(p0.resource.entities[0], (EntityUid{"Album", "trip"}));
  ASSERT_EQ(p0.conditions.size(), 2u);
  EXPECT_FALSE(p0.conditions[1].when);
  const Policy& p1 = (*policies)[1];
  EXPECT_EQ(p1.id, "policy1");
  EXPECT_EQ(p1.effect, Effect::kForbid);
  EXPECT_EQ(p1.principal.op, ScopeConstraint::Op::kIs);
  EXPECT_EQ(p1.resource.op, ScopeConstraint::Op::kAll);
  const Policy& p2 = (*policies)[2];
  EXPECT_TRUE(p2.is_template());
  EXPECT_TRUE(p2.principal.slot);
  EXPECT_TRUE(p2.resource.slot);
}

TEST(CedarParserTest, OperatorPrecedenceAndForms) {
  auto e = ParseExpression("a || b && c");
  // Identifiers other than the four variables are unknown.
  ASSERT_FALSE(e.has_value());
  e = ParseExpression(R"(principal.age + 2 * 3 >= 10 || !context.flag && resource has owner)");
  ASSERT_TRUE(e.has_value()) << e.error().message();
  EXPECT_EQ((*e)->kind, ExprKind::kOr);
  const Expr& ge = *(*e)->args[0];
  EXPECT_EQ(ge.kind, ExprKind::kBinary);
  EXPECT_EQ(ge.op, BinaryOp::kGreaterEq);
  const Expr& plus = *ge.args[0];
  EXPECT_EQ(plus.op, BinaryOp::kAdd);
  EXPECT_EQ(plus.args[1]->op, BinaryOp::kMul);
  const Expr& conj = *(*e)->args[1];
  EXPECT_EQ(conj.kind, ExprKind::kAnd);
  EXPECT_EQ(conj.args[0]->kind, ExprKind::kNot);
  EXPECT_EQ(conj.args[1]->kind, ExprKind::kHas);

  e = ParseExpression(R"(if context.x then [1, -2, "s"] else {a: 1, "b c": ip("10.0.0.1")})");
  ASSERT_TRUE(e.has_value()) << e.error().message();
  EXPECT_EQ((*e)->kind, ExprKind::kIfThenElse);
  EXPECT_EQ((*e)->args[1]->kind, ExprKind::kSet);
  EXPECT_EQ((*e)->args[1]->args[1]->integer, -2);
  EXPECT_EQ((*e)->args[2]->kind, ExprKind::kRecord);
  EXPECT_EQ((*e)->args[2]->record[1].first, "b c");
  EXPECT_EQ((*e)->args[2]->record[1].second->kind, ExprKind::kFunctionCall);

  e = ParseExpression(R"(resource.tags.containsAny(["a"]) && principal["x y"] like "a*b\*c")");
  ASSERT_TRUE(e.has_value()) << e.error().message();
  const Expr& call = *(*e)->args[0];
  EXPECT_EQ(call.kind, ExprKind::kMethodCall);
  EXPECT_EQ(call.text, "containsAny");
  ASSERT_EQ(call.args.size(), 2u);
  const Expr& like = *(*e)->args[1];
  EXPECT_EQ(like.kind, ExprKind::kLike);
  ASSERT_EQ(like.pattern.size(), 3u);
  EXPECT_EQ(like.pattern[0].text, "a");
  EXPECT_TRUE(like.pattern[1].wildcard);
  EXPECT_EQ(like.pattern[2].text, "b*c");
  EXPECT_EQ(like.args[0]->text, "x y");

  e = ParseExpression(R"(principal is Ns::User in Group::"g" && context has a.b.c)");
  ASSERT_TRUE(e.has_value()) << e.error().message();
  EXPECT_EQ((*e)->args[0]->kind, ExprKind::kIs);
  EXPECT_EQ((*e)->args[0]->text, "Ns::User");
  EXPECT_EQ((*e)->args[0]->args.size(), 2u);
  EXPECT_EQ((*e)->args[1]->path, (std::vector<std::string>{"a", "b", "c"}));

  e = ParseExpression(R"("caf\u{e9}\n\"q\"")");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ((*e)->text, "caf\xc3\xa9\n\"q\"");
}

TEST(CedarParserTest, IntegerRange) {
  auto min = ParseExpression("-9223372036854775808");
  ASSERT_TRUE(min.has_value());
  EXPECT_EQ((*min)->integer, INT64_MIN);
  EXPECT_FALSE(ParseExpression("9223372036854775808").has_value());
  EXPECT_FALSE(ParseExpression("-9223372036854775809").has_value());
  auto neg = ParseExpression("--1");
  ASSERT_TRUE(neg.has_value());
  EXPECT_EQ((*neg)->kind, ExprKind::kNegate);
  EXPECT_EQ((*neg)->args[0]->integer, -1);
}

TEST(CedarParserTest, ErrorsPointAtLineAndColumn) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"permit (principal, action, resource)", "1:37: expected ';', found the end of the input"},
      {"permit (principal, action, resource)\nwhen { principal.x == }",
       "2:23: expected an expression, found '}'"},
      {"permit (principal, action, resource) when { 1 < 2 < 3 };", "1:51: expected '}', found '<'"},
      {"allow (principal, action, resource);", "1:1: expected 'permit' or 'forbid', found 'allow'"},
      {"permit (resource, action, principal);", "1:9: expected 'principal', found 'resource'"},
      {"permit (principal == ?resource, action, resource);",
       "1:22: expected the slot ?principal here, found ?resource"},
      {"permit (principal, action is Action, resource);",
       "1:27: 'is' is not allowed on the action"},
      {"permit (principal, action, resource) when { foo };", "1:45: unknown identifier 'foo'"},
      {"permit (principal, action, resource) when { foo(1) };", "1:45: unknown function 'foo'"},
      {"permit (principal, action, resource) when { ip(\"a\", \"b\") };",
       "1:45: ip takes 1 argument(s), not 2"},
      {"permit (principal, action, resource) when { context.foo() };",
       "1:53: unknown method 'foo'"},
      {"permit (principal, action, resource) when { [1].contains(1, 2) };",
       "1:49: contains takes 1 argument(s), not 2"},
      {"permit (principal, action, resource) when { !-1 };", "1:46: '!' and '-' cannot be mixed"},
      {"permit (principal, action, resource) when { \"a\\q\" };", "1:45: invalid escape \\q"},
      {"permit (principal, action, resource) when { !!!!!true };",
       "1:49: more than four unary operators"},
      {"permit (principal, action, resource) when { {a: 1, a: 2} };",
       "1:52: duplicate record key \"a\""},
      {"@id(\"x\") permit (principal, action, resource);\n@id(\"x\") forbid (principal, action, "
       "resource);",
       "2:1: duplicate policy id \"x\""},
      {"@a @a permit (principal, action, resource);", "1:4: duplicate annotation @a"},
      {"permit (principal, action, resource) when { principal.if };",
       "1:55: 'if' is reserved and cannot be an attribute or method name"},
      {"permit (principal, action, resource) when { \"unterminated };",
       "1:45: unterminated string"},
      {"permit (principal, action, resource) when { # };", "1:45: unexpected character '#'"},
  };
  for (const Case& c : cases) {
    auto result = ParsePolicies(c.text);
    ASSERT_FALSE(result.has_value()) << c.text;
    EXPECT_EQ(result.error().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(result.error().message(), c.error) << c.text;
  }
}

TEST(CedarParserTest, TextThatIsNotUtf8IsRefusedWhereItBreaks) {
  auto policies =
      ParsePolicies("permit (principal, action, resource)\nwhen { \"\xc3\xa9\xedx\" };");
  ASSERT_FALSE(policies.has_value());
  EXPECT_EQ(policies.error().message(), "2:10: invalid UTF-8");
  EXPECT_FALSE(ParsePolicies("permit (principal, action, resource); // \xff").has_value());
  EXPECT_TRUE(
      ParsePolicies("permit (principal, action, resource) when { \"caf\xc3\xa9\" == \"x\" };")
          .has_value());
}

TEST(CedarParserTest, HostileNestingIsRefusedNotACrash) {
  const std::string parens = std::string(100000, '(') + "1" + std::string(100000, ')');
  auto deep = ParseExpression(parens);
  ASSERT_FALSE(deep.has_value());
  EXPECT_NE(deep.error().message().find("nested deeper"), std::string::npos);

  std::string chain = "1";
  for (int i = 0; i < 100000; ++i) chain += " + 1";
  auto tall = ParseExpression(chain);
  ASSERT_FALSE(tall.has_value());
  EXPECT_NE(tall.error().message().find("deeper than"), std::string::npos);

  std::string sets = std::string(50000, '[') + std::string(50000, ']');
  EXPECT_FALSE(ParseExpression(sets).has_value());

  // Within the bounds, fine.
  std::string ok = "1";
  for (int i = 0; i < 200; ++i) ok += " + 1";
  EXPECT_TRUE(ParseExpression(ok).has_value());
}

}  // namespace
}  // namespace bulwark::policy::cedar

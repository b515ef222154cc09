// The syntax tree of Cedar policies (cedarpolicy.com), as the parser
// produces it: policies with their annotations, scope and conditions, and
// expressions as plain tree nodes. Later stages (validator, compiler) read it;
// nothing here evaluates.
#ifndef BULWARK_POLICY_CEDAR_AST_H_
#define BULWARK_POLICY_CEDAR_AST_H_

#include <compare>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace bulwark::policy::cedar {

// A place in the policy text, both 1-based.
struct SourceLocation {
  uint32_t line = 1;
  uint32_t column = 1;
};

// Equality of two strings with no call to memcmp: entity types and ids are
// short, and a decision compares dozens of them.
inline bool SameText(const std::string& a, const std::string& b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  const auto word = [](const char* p) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) {
      if (word(x + i) != word(y + i)) return false;
    }
    return word(x + n - 8) == word(y + n - 8);  // overlaps the word before
  }
  for (size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return false;
  }
  return true;
}

// An entity reference: `Namespace::Type::"id"`. `type` joins the path with
// "::"; `id` is the unescaped string.
struct EntityUid {
  std::string type;
  std::string id;
  auto operator<=>(const EntityUid&) const = default;
  // Ids first: they differ sooner than types.
  friend bool operator==(const EntityUid& a, const EntityUid& b) {
    return SameText(a.id, b.id) && SameText(a.type, b.type);
  }
};

// Cedar's text of an entity reference: Type::"id" (the id as stored, not
// escaped), for messages and audit records.
std::string ToString(const EntityUid& uid);

// One element of a `like` pattern: literal text or the `*` wildcard.
struct PatternElement {
  bool wildcard = false;
  std::string text;  // when !wildcard
  bool operator==(const PatternElement&) const = default;
};

enum class ExprKind {
  kBool,          // boolean
  kLong,          // integer
  kString,        // text
  kEntity,        // uid
  kVariable,      // variable
  kSlot,          // text: "?principal" or "?resource"
  kNot,           // args[0]
  kNegate,        // args[0]
  kBinary,        // op, args[0], args[1]
  kAnd,           // args[0] && args[1]
  kOr,            // args[0] || args[1]
  kIfThenElse,    // args[0..2]
  kHas,           // args[0] has path (one or more attribute names)
  kLike,          // args[0] like pattern
  kIs,            // args[0] is text; args[1] (optional) the `in` operand
  kGetAttribute,  // args[0].text (or args[0]["text"])
  kMethodCall,    // args[0].text(args[1..])
  kFunctionCall,  // text(args...): an extension function such as ip or decimal
  kSet,           // [args...]
  kRecord,        // {record...}
};

enum class Variable { kPrincipal, kAction, kResource, kContext };

enum class BinaryOp { kEq, kNotEq, kLess, kLessEq, kGreater, kGreaterEq, kIn, kAdd, kSub, kMul };

struct Expr {
  ExprKind kind = ExprKind::kBool;
  SourceLocation location;
  bool boolean = false;
  int64_t integer = 0;
  std::string text;  // string literal, slot, attribute, method or function name, `is` type
  EntityUid uid;
  Variable variable = Variable::kPrincipal;
  BinaryOp op = BinaryOp::kEq;
  std::vector<std::string> path;        // kHas
  std::vector<PatternElement> pattern;  // kLike
  std::vector<std::unique_ptr<Expr>> args;
  std::vector<std::pair<std::string, std::unique_ptr<Expr>>> record;  // kRecord, in source order
  // The longest path from here to a leaf, counting this node. The parser
  // bounds it, so walking a tree recursively cannot exhaust the stack.
  uint32_t height = 1;
};

using ExprPtr = std::unique_ptr<Expr>;

// A canonical text of an expression's structure (not its source location):
// equal exactly for structurally equal expressions. The validator keys the
// attributes `has` proved by it; the policy set shares equal conditions by it.
std::string ExprKey(const Expr& e);

// A scope constraint on principal or resource (`principal`, `principal ==
// E`, `principal in E`, `principal is T`, `principal is T in E`), or on the
// action (`action`, `action == E`, `action in E`, `action in [E, ...]`).
struct ScopeConstraint {
  enum class Op { kAll, kEq, kIn, kIs, kIsIn };
  Op op = Op::kAll;
  std::string entity_type;          // kIs, kIsIn
  std::vector<EntityUid> entities;  // one, or the list of `action in [...]`
  // EntityUidHash of each of `entities`, filled by PolicySet (empty: not
  // filled; computed when needed).
  std::vector<size_t> entity_hashes;
  bool action_list = false;  // `action in [...]` (even with one element)
  bool slot = false;         // the entity is the template's ?principal or ?resource
};

struct Condition {
  bool when = true;  // false: unless
  // Shared (and immutable) so that policies linked from one template share
  // their conditions.
  std::shared_ptr<const Expr> expr;
};

enum class Effect { kPermit, kForbid };

struct Policy {
  std::string id;  // @id("...") if annotated, else "policy<N>" by position
  SourceLocation location;
  std::vector<std::pair<std::string, std::string>> annotations;  // in source order
  Effect effect = Effect::kPermit;
  ScopeConstraint principal;
  ScopeConstraint action;
  ScopeConstraint resource;
  std::vector<Condition> conditions;
  // True if the scope uses ?principal or ?resource: a template, which
  // applies only once linked.
  bool is_template() const { return principal.slot || resource.slot; }
};

}  // namespace bulwark::policy::cedar

#endif  // BULWARK_POLICY_CEDAR_AST_H_

// Authorization models in the OpenFGA modeling language (schema 1.1), the
// relationship model Zanzibar-style engines share: types with relations,
// each relation a rewrite over direct assignments ([user, user:*,
// group#member, user with cond]), other relations of the object
// (`editor`), relations of related objects (`viewer from parent`), and
// `or`, `and`, `but not`; plus conditions (CEL expressions over typed
// parameters) that tuples can carry.
//
//   auto model = fga::Model::Parse(dsl);
//   if (!model) ... model.error().message() is "line N: reason"
//
// Parsing also validates: every type and relation named exists, a tupleset
// (`Y` of `X from Y`) is a directly assignable relation whose types define
// `X` (at least one of them), conditions used exist, and every relation can
// be satisfied by some tuple (a relation defined only through itself cannot).
#ifndef BULWARK_POLICY_FGA_MODEL_H_
#define BULWARK_POLICY_FGA_MODEL_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "policy/cel.h"

namespace bulwark::policy::fga {

// One entry of a direct assignment: `user`, `user:*`, `group#member`,
// optionally `with <condition>`.
struct TypeRestriction {
  std::string type;
  std::string relation;  // "member" of group#member; "" otherwise
  bool wildcard = false;
  std::string condition;  // "" if none
  bool operator==(const TypeRestriction&) const = default;
};

struct Rewrite {
  enum class Kind {
    kDirect,          // [types]
    kComputed,        // another relation of the same object
    kTupleToUserset,  // `relation` from `tupleset`
    kUnion,           // children, any
    kIntersection,    // children, all
    kExclusion,       // children[0] but not children[1]
  };
  Kind kind = Kind::kDirect;
  std::vector<TypeRestriction> direct;  // kDirect
  std::string relation;                 // kComputed, kTupleToUserset
  std::string tupleset;                 // kTupleToUserset
  std::vector<Rewrite> children;
};

struct RelationDef {
  std::string name;
  Rewrite rewrite;
  // The direct assignments anywhere in the rewrite: the tuples this
  // relation accepts.
  std::vector<TypeRestriction> directly_related;
};

struct TypeDef {
  std::string name;
  std::vector<RelationDef> relations;  // in model order
  const RelationDef* Find(std::string_view relation) const;
};

struct ConditionParam {
  std::string name;
  std::string type;  // as written: int, uint, double, bool, string, duration, timestamp,
                     // ipaddress, any, list<T>, map<T>
};

struct ConditionDef {
  std::string name;
  std::vector<ConditionParam> params;
  std::string expression;                       // the CEL text between the braces
  std::shared_ptr<const cel::Program> program;  // compiled; reads only params
};

// Type, relation and condition names: 1 to 50 characters, none of them
// whitespace, ':', '#', '@', brackets, parentheses, braces or ','.
bool IsName(std::string_view s);

// True if one of `restrictions` admits a tuple user of `type` (a wildcard,
// or a userset's `relation`, or a plain object) carrying `condition`.
bool AllowedBy(const std::vector<TypeRestriction>& restrictions, std::string_view type,
               bool wildcard, std::string_view relation, std::string_view condition);

class Model {
 public:
  // Parses and validates. kInvalidArgument "line N: reason" on the first
  // error; nothing is returned then.
  static Result<Model> Parse(std::string_view dsl);

  const TypeDef* FindType(std::string_view type) const;
  const RelationDef* FindRelation(std::string_view type, std::string_view relation) const;
  const ConditionDef* FindCondition(std::string_view name) const;
  const std::vector<TypeDef>& types() const { return types_; }
  const std::vector<ConditionDef>& conditions() const { return conditions_; }

 private:
  Status Validate() const;

  std::vector<TypeDef> types_;
  std::vector<ConditionDef> conditions_;
  std::map<std::string, size_t, std::less<>> type_index_;
  std::map<std::string, size_t, std::less<>> condition_index_;
};

}  // namespace bulwark::policy::fga

#endif  // BULWARK_POLICY_FGA_MODEL_H_

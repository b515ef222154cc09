// Cedar schemas: the entity types (attributes, parents, tags, enumerated
// ids) and actions (groups, the principal and resource types they apply to,
// their context) of an application, read from Cedar's schema text format or
// its JSON format. The validator (cedar_validator.h) type-checks policies
// against a schema; this file also checks entities and requests against it.
//
//   auto schema = cedar::Schema::Parse(text);   // text or JSON, by content
//   if (!schema) ... schema.error().message() names the line or declaration
#ifndef BULWARK_POLICY_CEDAR_SCHEMA_H_
#define BULWARK_POLICY_CEDAR_SCHEMA_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "policy/cedar_ast.h"

namespace bulwark::policy::cedar {

class Entities;
class Value;

// The types of Cedar's type system. kTrue and kFalse are the validator's
// singleton boolean types (a schema never declares them); kNever is the
// element type of a set known to be empty.
enum class TypeKind {
  kNever,
  kBool,
  kTrue,
  kFalse,
  kLong,
  kString,
  kEntity,
  kSet,
  kRecord,
  kExtension,
};

struct Attribute;
using AttributeMap = std::map<std::string, Attribute, std::less<>>;

struct Type {
  TypeKind kind = TypeKind::kNever;
  // kEntity: the entity type ("" for any entity type: a template slot).
  // kExtension: decimal, ipaddr, datetime or duration.
  std::string name;
  std::shared_ptr<const Type> element;             // kSet
  std::shared_ptr<const AttributeMap> attributes;  // kRecord (closed: no other attributes)

  static Type Of(TypeKind kind) { return Type{kind, {}, nullptr, nullptr}; }
  static Type Entity(std::string name) { return Type{TypeKind::kEntity, std::move(name), {}, {}}; }
  static Type Extension(std::string name) {
    return Type{TypeKind::kExtension, std::move(name), {}, {}};
  }
  static Type Set(Type element);
  static Type Record(AttributeMap attributes);

  bool is_boolean() const {
    return kind == TypeKind::kBool || kind == TypeKind::kTrue || kind == TypeKind::kFalse;
  }
  const AttributeMap& record() const;  // kRecord only
};

struct Attribute {
  Type type;
  bool required = true;
};

// Cedar-like text of a type for messages: Bool, Long, User, Set<String>,
// {name: String, age?: Long}, ipaddr.
std::string TypeToString(const Type& type);

// The least upper bound of two types in strict mode, or nullopt if they have
// none (different entity types, records with different attributes, ...).
std::optional<Type> LeastUpperBound(const Type& a, const Type& b);

struct EntityTypeSchema {
  std::vector<std::string> member_of;  // the types its parents may have
  AttributeMap attributes;
  std::optional<Type> tags;                       // the type of its tags, if it may have any
  std::optional<std::set<std::string>> enum_ids;  // the only ids it may have, if enumerated
};

struct ActionSchema {
  std::vector<EntityUid> member_of;  // the action groups it is in
  std::vector<std::string> principal_types;
  std::vector<std::string> resource_types;
  Type context = Type::Record({});
};

// An immutable, resolved schema: every type reference points at a declared
// entity type, common types are expanded, and the entity-type and action
// hierarchies are closed transitively. Thread-safe to read.
class Schema {
 public:
  // Parses JSON if `text` starts (after whitespace) with '{', else the Cedar
  // schema text format. kInvalidArgument naming the line and column (text)
  // or the declaration (JSON) on the first error; an undeclared type, a
  // declaration made twice or a cycle of action groups is an error.
  static Result<Schema> Parse(std::string_view text);
  static Result<Schema> FromText(std::string_view text);
  static Result<Schema> FromJson(std::string_view json);

  const EntityTypeSchema* FindEntityType(std::string_view name) const;
  const ActionSchema* FindAction(const EntityUid& action) const;
  // True if `type` is the type of declared actions (`Action`, `NS::Action`).
  bool IsActionType(std::string_view type) const;
  // True if an entity of type `descendant` may be `in` an entity of type
  // `ancestor`: the same type, or reachable through memberOf.
  bool MayBeIn(std::string_view descendant, std::string_view ancestor) const;
  // True if `action` is `group` or in it, transitively.
  bool ActionIn(const EntityUid& action, const EntityUid& group) const;
  // The groups `action` is in, transitively (empty for an undeclared one).
  const std::set<EntityUid>& ActionAncestors(const EntityUid& action) const;

  const std::map<std::string, EntityTypeSchema, std::less<>>& entity_types() const {
    return entity_types_;
  }
  const std::map<EntityUid, ActionSchema>& actions() const { return actions_; }

 private:
  friend class SchemaBuilder;
  Status Close();

  std::map<std::string, EntityTypeSchema, std::less<>> entity_types_;
  std::map<EntityUid, ActionSchema> actions_;
  std::set<std::string, std::less<>> action_types_;
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> type_ancestors_;
  std::map<EntityUid, std::set<EntityUid>> action_ancestors_;
};

// `value` as a value of `type` under `schema`, as Cedar's schema-based
// parsing reads JSON: a string where an extension type is expected is that
// type's literal ("10.0.0.1" for an ipaddr), {"fn", "arg"} an extension
// call, {"type", "id"} a record where a record is expected. Records must have
// every required attribute and no undeclared one; entities the named type
// and an id the type allows. kInvalidArgument naming `where` and the
// mismatch.
Result<Value> ConformValue(const Schema& schema, const Value& value, const Type& type,
                           std::string_view where);

// The request's context conformed to its action's context type, if the
// request fits the schema: a declared action that applies to the principal's
// and the resource's types.
Result<Value> ConformRequest(const Schema& schema, const EntityUid& principal,
                             const EntityUid& action, const EntityUid& resource,
                             const Value& context);

// Checks every entity against the schema (a declared type or action, an
// allowed id, attributes and tags of the declared types, parents of the
// types its type may be a member of), converts attribute and tag values as
// ConformValue does, and adds the schema's actions (with their groups as
// ancestors) that `entities` lacks. On error `entities` may be half
// converted: callers discard it.
Status ConformEntities(const Schema& schema, Entities& entities);

}  // namespace bulwark::policy::cedar

#endif  // BULWARK_POLICY_CEDAR_SCHEMA_H_

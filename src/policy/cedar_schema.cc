#include "policy/cedar_schema.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <utility>

#include "policy/cedar_entities.h"
#include "policy/cedar_lexer.h"
#include "policy/cedar_value.h"

namespace bulwark::policy::cedar {

namespace {

namespace json = boost::json;

constexpr int kMaxTypeDepth = 64;  // nesting of sets and records, and of common types in each other

constexpr std::string_view kExtensionTypes[] = {"ipaddr", "decimal", "datetime", "duration"};

bool IsExtensionName(std::string_view name) {
  for (std::string_view e : kExtensionTypes) {
    if (name == e) return true;
  }
  return false;
}

std::string Qualify(std::string_view ns, std::string_view name) {
  return ns.empty() ? std::string(name) : fmt::format("{}::{}", ns, name);
}

std::string ActionType(std::string_view ns) { return Qualify(ns, "Action"); }

}  // namespace

Type Type::Set(Type element) {
  return Type{TypeKind::kSet, {}, std::make_shared<const Type>(std::move(element)), nullptr};
}

Type Type::Record(AttributeMap attributes) {
  return Type{
      TypeKind::kRecord, {}, nullptr, std::make_shared<const AttributeMap>(std::move(attributes))};
}

const AttributeMap& Type::record() const {
  static const AttributeMap kEmpty;
  return attributes ? *attributes : kEmpty;
}

std::string TypeToString(const Type& type) {
  switch (type.kind) {
    case TypeKind::kNever:
      return "Never";
    case TypeKind::kBool:
      return "Bool";
    case TypeKind::kTrue:
      return "True";
    case TypeKind::kFalse:
      return "False";
    case TypeKind::kLong:
      return "Long";
    case TypeKind::kString:
      return "String";
    case TypeKind::kEntity:
      return type.name.empty() ? "(any entity)" : type.name;
    case TypeKind::kExtension:
      return type.name;
    case TypeKind::kSet:
      return fmt::format("Set<{}>", TypeToString(*type.element));
    case TypeKind::kRecord: {
      std::string out = "{";
      for (const auto& [name, attribute] : type.record()) {
        if (out.size() > 1) out += ", ";
        out += fmt::format("{}{}: {}", name, attribute.required ? "" : "?",
                           TypeToString(attribute.type));
      }
      return out + "}";
    }
  }
  return "?";
}

std::optional<Type> LeastUpperBound(const Type& a, const Type& b) {
  if (a.kind == TypeKind::kNever) return b;
  if (b.kind == TypeKind::kNever) return a;
  if (a.is_boolean() && b.is_boolean()) return a.kind == b.kind ? a : Type::Of(TypeKind::kBool);
  if (a.kind != b.kind) return std::nullopt;
  switch (a.kind) {
    case TypeKind::kLong:
    case TypeKind::kString:
      return a;
    case TypeKind::kEntity:
    case TypeKind::kExtension:
      if (a.name == b.name) return a;
      return std::nullopt;
    case TypeKind::kSet: {
      auto element = LeastUpperBound(*a.element, *b.element);
      if (!element) return std::nullopt;
      return Type::Set(std::move(*element));
    }
    case TypeKind::kRecord: {
      const AttributeMap& x = a.record();
      const AttributeMap& y = b.record();
      if (x.size() != y.size()) return std::nullopt;
      AttributeMap out;
      for (const auto& [name, attribute] : x) {
        auto it = y.find(name);
        if (it == y.end() || it->second.required != attribute.required) return std::nullopt;
        auto type = LeastUpperBound(attribute.type, it->second.type);
        if (!type) return std::nullopt;
        out.emplace(name, Attribute{std::move(*type), attribute.required});
      }
      return Type::Record(std::move(out));
    }
    default:
      return std::nullopt;
  }
}

// --- Declarations as written, before names are resolved ---------------------

namespace schema_internal {

struct RawType;
struct RawAttribute {
  std::string name;
  std::shared_ptr<RawType> type;
  bool required = true;
};

struct RawType {
  enum class Kind { kName, kSet, kRecord } kind = Kind::kName;
  // How a kName is looked up: any declared name or built-in, only an entity
  // type, or only an extension type (JSON's "Entity" and "Extension").
  enum class Lookup { kAny, kEntity, kExtension } lookup = Lookup::kAny;
  std::string name;
  std::shared_ptr<RawType> element;
  std::vector<RawAttribute> attributes;
};

struct RawEntityType {
  std::string ns;
  std::string name;  // qualified
  std::vector<std::string> member_of;
  std::shared_ptr<RawType> shape;  // a record, or null
  std::shared_ptr<RawType> tags;
  std::optional<std::set<std::string>> enum_ids;
  std::string where;
};

struct RawActionRef {
  std::optional<std::string> type;  // as written, or the action type of the namespace
  std::string id;
};

struct RawAction {
  std::string ns;
  std::string id;
  std::vector<RawActionRef> member_of;
  bool applies = false;
  std::vector<std::string> principal_types;
  std::vector<std::string> resource_types;
  std::shared_ptr<RawType> context;
  std::string where;
};

struct RawCommonType {
  std::string ns;
  std::string name;  // qualified
  std::shared_ptr<RawType> type;
  std::string where;
};

struct RawSchema {
  std::vector<RawEntityType> entity_types;
  std::vector<RawAction> actions;
  std::vector<RawCommonType> common_types;
};

}  // namespace schema_internal

using namespace schema_internal;  // NOLINT(google-build-using-namespace): this file's own helpers

// Resolves a RawSchema into a Schema.
class SchemaBuilder {
 public:
  explicit SchemaBuilder(const RawSchema& raw) : raw_(raw) {}

  Result<Schema> Build() {
    for (const RawCommonType& c : raw_.common_types) {
      if (IsExtensionName(c.name) || c.name == "Long" || c.name == "String" || c.name == "Bool" ||
          c.name == "Boolean" || c.name == "Set" || c.name == "Record" || c.name == "Entity" ||
          c.name == "Extension") {
        return Err(Fail(c.where, fmt::format("common type `{}` shadows a built-in type", c.name)));
      }
      if (!common_.emplace(c.name, &c).second) {
        return Err(Fail(c.where, fmt::format("common type `{}` is declared twice", c.name)));
      }
    }
    for (const RawEntityType& e : raw_.entity_types) {
      if (common_.contains(e.name)) {
        return Err(
            Fail(e.where,
                 fmt::format("`{}` is declared as both a common type and an entity type", e.name)));
      }
      if (!schema_.entity_types_.emplace(e.name, EntityTypeSchema{}).second) {
        return Err(Fail(e.where, fmt::format("entity type `{}` is declared twice", e.name)));
      }
    }
    for (const RawEntityType& e : raw_.entity_types) {
      EntityTypeSchema& out = schema_.entity_types_.at(e.name);
      for (const std::string& parent : e.member_of) {
        BULWARK_ASSIGN_OR_RETURN(std::string type, EntityTypeName(parent, e.ns, e.where));
        out.member_of.push_back(std::move(type));
      }
      if (e.shape) {
        BULWARK_ASSIGN_OR_RETURN(Type shape, Resolve(*e.shape, e.ns, e.where, 0));
        if (shape.kind != TypeKind::kRecord) {
          return Err(Fail(e.where, fmt::format("the attributes of `{}` must be a record", e.name)));
        }
        out.attributes = shape.record();
      }
      if (e.tags) {
        BULWARK_ASSIGN_OR_RETURN(Type tags, Resolve(*e.tags, e.ns, e.where, 0));
        out.tags = std::move(tags);
      }
      out.enum_ids = e.enum_ids;
      if (out.enum_ids && out.enum_ids->empty()) {
        return Err(Fail(e.where, fmt::format("enumerated entity type `{}` has no ids", e.name)));
      }
    }
    for (const RawAction& a : raw_.actions) {
      EntityUid uid{ActionType(a.ns), a.id};
      if (schema_.entity_types_.contains(uid.type)) {
        return Err(Fail(a.where, fmt::format("`{}` names actions, not an entity type", uid.type)));
      }
      if (schema_.actions_.contains(uid)) {
        return Err(Fail(a.where, fmt::format("action `{}` is declared twice", ToString(uid))));
      }
      schema_.action_types_.insert(uid.type);
      schema_.actions_.emplace(uid, ActionSchema{});
    }
    for (const RawAction& a : raw_.actions) {
      ActionSchema& out = schema_.actions_.at(EntityUid{ActionType(a.ns), a.id});
      for (const RawActionRef& ref : a.member_of) {
        EntityUid group{ref.type ? QualifyActionType(*ref.type, a.ns) : ActionType(a.ns), ref.id};
        if (!schema_.actions_.contains(group)) {
          return Err(Fail(a.where, fmt::format("action `{}` is in undeclared action `{}`", a.id,
                                               ToString(group))));
        }
        out.member_of.push_back(std::move(group));
      }
      if (!a.applies) continue;
      for (const std::string& p : a.principal_types) {
        BULWARK_ASSIGN_OR_RETURN(std::string type, EntityTypeName(p, a.ns, a.where));
        out.principal_types.push_back(std::move(type));
      }
      for (const std::string& r : a.resource_types) {
        BULWARK_ASSIGN_OR_RETURN(std::string type, EntityTypeName(r, a.ns, a.where));
        out.resource_types.push_back(std::move(type));
      }
      if (a.context) {
        BULWARK_ASSIGN_OR_RETURN(Type context, Resolve(*a.context, a.ns, a.where, 0));
        if (context.kind != TypeKind::kRecord) {
          return Err(
              Fail(a.where, fmt::format("the context of action `{}` must be a record", a.id)));
        }
        out.context = std::move(context);
      }
    }
    BULWARK_RETURN_IF_ERROR(schema_.Close());
    return std::move(schema_);
  }

 private:
  static Status Fail(std::string_view where, std::string_view what) {
    return InvalidArgumentError(fmt::format("{}: {}", where, what));
  }

  // `Action` written inside namespace NS means NS::Action.
  std::string QualifyActionType(const std::string& type, std::string_view ns) const {
    if (type == "Action" && !ns.empty()) return ActionType(ns);
    return type;
  }

  bool IsEntityType(std::string_view name) const {
    return schema_.entity_types_.find(name) != schema_.entity_types_.end();
  }

  Result<std::string> EntityTypeName(const std::string& name, std::string_view ns,
                                     std::string_view where) const {
    if (name.find("::") == std::string::npos && !ns.empty()) {
      std::string qualified = Qualify(ns, name);
      if (IsEntityType(qualified)) return qualified;
    }
    if (IsEntityType(name)) return name;
    return Err(Fail(where, fmt::format("undeclared entity type `{}`", name)));
  }

  Result<Type> Resolve(const RawType& raw, std::string_view ns, std::string_view where, int depth) {
    if (depth > kMaxTypeDepth)
      return Err(Fail(where, "types nest too deeply (or refer to themselves)"));
    switch (raw.kind) {
      case RawType::Kind::kSet: {
        BULWARK_ASSIGN_OR_RETURN(Type element, Resolve(*raw.element, ns, where, depth + 1));
        return Type::Set(std::move(element));
      }
      case RawType::Kind::kRecord: {
        AttributeMap attributes;
        for (const RawAttribute& a : raw.attributes) {
          BULWARK_ASSIGN_OR_RETURN(Type type, Resolve(*a.type, ns, where, depth + 1));
          if (!attributes.emplace(a.name, Attribute{std::move(type), a.required}).second) {
            return Err(Fail(where, fmt::format("attribute `{}` is declared twice", a.name)));
          }
        }
        return Type::Record(std::move(attributes));
      }
      case RawType::Kind::kName:
        break;
    }
    const std::string& name = raw.name;
    if (raw.lookup == RawType::Lookup::kExtension) {
      if (IsExtensionName(name)) return Type::Extension(name);
      return Err(Fail(where, fmt::format("unknown extension type `{}`", name)));
    }
    if (raw.lookup == RawType::Lookup::kEntity) {
      BULWARK_ASSIGN_OR_RETURN(std::string type, EntityTypeName(name, ns, where));
      return Type::Entity(std::move(type));
    }
    if (name.starts_with("__cedar::")) return Builtin(name.substr(9), where);
    std::vector<std::string> candidates;
    if (name.find("::") == std::string::npos && !ns.empty())
      candidates.push_back(Qualify(ns, name));
    candidates.push_back(name);
    for (const std::string& candidate : candidates) {
      if (auto it = common_.find(candidate); it != common_.end()) {
        return Resolve(*it->second->type, it->second->ns, where, depth + 1);
      }
      if (IsEntityType(candidate)) return Type::Entity(candidate);
    }
    return Builtin(name, where);
  }

  static Result<Type> Builtin(std::string_view name, std::string_view where) {
    if (name == "Long") return Type::Of(TypeKind::kLong);
    if (name == "String") return Type::Of(TypeKind::kString);
    if (name == "Bool" || name == "Boolean") return Type::Of(TypeKind::kBool);
    if (IsExtensionName(name)) return Type::Extension(std::string(name));
    return Err(Fail(where, fmt::format("undeclared type `{}`", name)));
  }

  const RawSchema& raw_;
  std::map<std::string, const RawCommonType*, std::less<>> common_;
  Schema schema_;
};

Status Schema::Close() {
  for (const auto& [name, type] : entity_types_) {
    std::set<std::string, std::less<>>& ancestors = type_ancestors_[name];
    std::vector<std::string> stack = type.member_of;
    while (!stack.empty()) {
      std::string next = std::move(stack.back());
      stack.pop_back();
      if (!ancestors.insert(next).second) continue;
      const EntityTypeSchema& parent = entity_types_.at(next);
      stack.insert(stack.end(), parent.member_of.begin(), parent.member_of.end());
    }
  }
  for (const auto& [uid, action] : actions_) {
    std::set<EntityUid>& ancestors = action_ancestors_[uid];
    std::vector<EntityUid> stack = action.member_of;
    while (!stack.empty()) {
      EntityUid next = std::move(stack.back());
      stack.pop_back();
      if (next == uid) {
        return InvalidArgumentError(
            fmt::format("action `{}` is in itself through its action groups", ToString(uid)));
      }
      if (!ancestors.insert(next).second) continue;
      const ActionSchema& parent = actions_.at(next);
      stack.insert(stack.end(), parent.member_of.begin(), parent.member_of.end());
    }
  }
  return OkStatus();
}

const EntityTypeSchema* Schema::FindEntityType(std::string_view name) const {
  auto it = entity_types_.find(name);
  return it == entity_types_.end() ? nullptr : &it->second;
}

const ActionSchema* Schema::FindAction(const EntityUid& action) const {
  auto it = actions_.find(action);
  return it == actions_.end() ? nullptr : &it->second;
}

bool Schema::IsActionType(std::string_view type) const { return action_types_.contains(type); }

bool Schema::MayBeIn(std::string_view descendant, std::string_view ancestor) const {
  if (descendant == ancestor) return true;
  auto it = type_ancestors_.find(descendant);
  return it != type_ancestors_.end() && it->second.contains(ancestor);
}

const std::set<EntityUid>& Schema::ActionAncestors(const EntityUid& action) const {
  static const std::set<EntityUid> kNone;
  auto it = action_ancestors_.find(action);
  return it == action_ancestors_.end() ? kNone : it->second;
}

bool Schema::ActionIn(const EntityUid& action, const EntityUid& group) const {
  if (action == group) return true;
  auto it = action_ancestors_.find(action);
  return it != action_ancestors_.end() && it->second.contains(group);
}

// --- The Cedar schema text format -------------------------------------------

namespace {

class TextParser {
 public:
  explicit TextParser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<RawSchema> Parse() {
    while (!AtEnd()) {
      BULWARK_RETURN_IF_ERROR(SkipAnnotations());
      if (IsWord("namespace")) {
        Next();
        BULWARK_ASSIGN_OR_RETURN(std::string ns, Path());
        BULWARK_RETURN_IF_ERROR(Expect("{"));
        while (!IsPunct("}")) {
          if (AtEnd()) return Err(Error("expected `}` to close the namespace"));
          BULWARK_RETURN_IF_ERROR(SkipAnnotations());
          BULWARK_RETURN_IF_ERROR(Declaration(ns));
        }
        Next();
      } else {
        BULWARK_RETURN_IF_ERROR(Declaration(""));
      }
    }
    return std::move(out_);
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& Next() {
    const Token& t = Peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  bool AtEnd() const { return Peek().kind == TokenKind::kEnd; }
  bool IsPunct(std::string_view p) const {
    return Peek().kind == TokenKind::kPunct && Peek().text == p;
  }
  bool IsWord(std::string_view w) const {
    return Peek().kind == TokenKind::kIdentifier && Peek().text == w;
  }
  std::string Where() const {
    return fmt::format("{}:{}", Peek().location.line, Peek().location.column);
  }
  Status Error(std::string_view what) const {
    const Token& t = Peek();
    const std::string saw =
        t.kind == TokenKind::kEnd ? "end of input" : fmt::format("`{}`", t.text);
    return InvalidArgumentError(fmt::format("{}: {} (saw {})", Where(), what, saw));
  }
  Status Expect(std::string_view p) {
    if (!IsPunct(p)) return Error(fmt::format("expected `{}`", p));
    Next();
    return OkStatus();
  }

  Status SkipAnnotations() {
    while (IsPunct("@")) {
      Next();
      if (Peek().kind != TokenKind::kIdentifier) return Error("expected an annotation name");
      Next();
      if (IsPunct("(")) {
        Next();
        if (Peek().kind != TokenKind::kString) return Error("expected an annotation value");
        Next();
        BULWARK_RETURN_IF_ERROR(Expect(")"));
      }
    }
    return OkStatus();
  }

  Result<std::string> Ident() {
    if (Peek().kind != TokenKind::kIdentifier) return Err(Error("expected a name"));
    return std::string(Next().text);
  }

  // A::B::C
  Result<std::string> Path() {
    BULWARK_ASSIGN_OR_RETURN(std::string path, Ident());
    while (IsPunct("::") && Peek(1).kind == TokenKind::kIdentifier) {
      Next();
      path += "::";
      path += Next().text;
    }
    return path;
  }

  // An identifier or a string literal (attribute and action names).
  Result<std::string> Name() {
    if (Peek().kind == TokenKind::kString) return Unescape(Next().text);
    return Ident();
  }

  Result<std::vector<std::string>> Names() {
    std::vector<std::string> names;
    do {
      if (!names.empty()) Next();
      BULWARK_ASSIGN_OR_RETURN(std::string name, Name());
      names.push_back(std::move(name));
    } while (IsPunct(","));
    return names;
  }

  // Path | [Path, ...]
  Result<std::vector<std::string>> TypeList() {
    std::vector<std::string> out;
    if (!IsPunct("[")) {
      BULWARK_ASSIGN_OR_RETURN(std::string path, Path());
      out.push_back(std::move(path));
      return out;
    }
    Next();
    while (!IsPunct("]")) {
      BULWARK_ASSIGN_OR_RETURN(std::string path, Path());
      out.push_back(std::move(path));
      if (!IsPunct(",")) break;
      Next();
    }
    BULWARK_RETURN_IF_ERROR(Expect("]"));
    return out;
  }

  Result<RawActionRef> ActionRef() {
    if (Peek().kind == TokenKind::kString) {
      BULWARK_ASSIGN_OR_RETURN(std::string id, Unescape(Next().text));
      return RawActionRef{std::nullopt, std::move(id)};
    }
    BULWARK_ASSIGN_OR_RETURN(std::string path, Path());
    if (IsPunct("::") && Peek(1).kind == TokenKind::kString) {
      Next();
      BULWARK_ASSIGN_OR_RETURN(std::string id, Unescape(Next().text));
      return RawActionRef{std::move(path), std::move(id)};
    }
    if (path.find("::") != std::string::npos) return Err(Error("expected an action name"));
    return RawActionRef{std::nullopt, std::move(path)};
  }

  Result<std::shared_ptr<RawType>> TypeExpr(int depth) {
    if (depth > kMaxTypeDepth) return Err(Error("types nest too deeply"));
    auto type = std::make_shared<RawType>();
    if (IsPunct("{")) {
      BULWARK_RETURN_IF_ERROR(RecordType(*type, depth));
      return type;
    }
    if (IsWord("Set") && Peek(1).kind == TokenKind::kPunct && Peek(1).text == "<") {
      Next();
      Next();
      type->kind = RawType::Kind::kSet;
      BULWARK_ASSIGN_OR_RETURN(type->element, TypeExpr(depth + 1));
      BULWARK_RETURN_IF_ERROR(Expect(">"));
      return type;
    }
    BULWARK_ASSIGN_OR_RETURN(type->name, Path());
    return type;
  }

  Status RecordType(RawType& type, int depth) {
    type.kind = RawType::Kind::kRecord;
    BULWARK_RETURN_IF_ERROR(Expect("{"));
    while (!IsPunct("}")) {
      BULWARK_RETURN_IF_ERROR(SkipAnnotations());
      RawAttribute attribute;
      BULWARK_ASSIGN_OR_RETURN(attribute.name, Name());
      if (Peek().kind == TokenKind::kSlot && Peek().text == "?") {
        Next();
        attribute.required = false;
      }
      BULWARK_RETURN_IF_ERROR(Expect(":"));
      BULWARK_ASSIGN_OR_RETURN(attribute.type, TypeExpr(depth + 1));
      type.attributes.push_back(std::move(attribute));
      if (!IsPunct(",")) break;
      Next();
    }
    return Expect("}");
  }

  Status Declaration(const std::string& ns) {
    const std::string where = Where();
    if (IsWord("entity")) return Entity(ns, where);
    if (IsWord("action")) return Action(ns, where);
    if (IsWord("type")) {
      Next();
      BULWARK_ASSIGN_OR_RETURN(std::string name, Ident());
      BULWARK_RETURN_IF_ERROR(Expect("="));
      BULWARK_ASSIGN_OR_RETURN(auto type, TypeExpr(0));
      out_.common_types.push_back({ns, Qualify(ns, name), std::move(type), where});
      return Expect(";");
    }
    return Error("expected `entity`, `action`, `type` or `namespace`");
  }

  Status Entity(const std::string& ns, const std::string& where) {
    Next();
    std::vector<std::string> names;
    do {
      if (!names.empty()) Next();
      BULWARK_ASSIGN_OR_RETURN(std::string name, Ident());
      names.push_back(std::move(name));
    } while (IsPunct(","));
    RawEntityType entity;
    entity.ns = ns;
    entity.where = where;
    if (IsWord("enum")) {
      Next();
      BULWARK_RETURN_IF_ERROR(Expect("["));
      entity.enum_ids.emplace();
      while (Peek().kind == TokenKind::kString) {
        BULWARK_ASSIGN_OR_RETURN(std::string id, Unescape(Next().text));
        entity.enum_ids->insert(std::move(id));
        if (!IsPunct(",")) break;
        Next();
      }
      BULWARK_RETURN_IF_ERROR(Expect("]"));
    } else {
      if (IsWord("in")) {
        Next();
        BULWARK_ASSIGN_OR_RETURN(entity.member_of, TypeList());
      }
      if (IsPunct("=")) Next();
      if (IsPunct("{")) {
        entity.shape = std::make_shared<RawType>();
        BULWARK_RETURN_IF_ERROR(RecordType(*entity.shape, 0));
      }
      if (IsWord("tags")) {
        Next();
        BULWARK_ASSIGN_OR_RETURN(entity.tags, TypeExpr(0));
      }
    }
    BULWARK_RETURN_IF_ERROR(Expect(";"));
    for (std::string& name : names) {
      RawEntityType e = entity;
      e.name = Qualify(ns, name);
      out_.entity_types.push_back(std::move(e));
    }
    return OkStatus();
  }

  Status Action(const std::string& ns, const std::string& where) {
    Next();
    BULWARK_ASSIGN_OR_RETURN(std::vector<std::string> names, Names());
    RawAction action;
    action.ns = ns;
    action.where = where;
    if (IsWord("in")) {
      Next();
      if (IsPunct("[")) {
        Next();
        while (!IsPunct("]")) {
          BULWARK_ASSIGN_OR_RETURN(RawActionRef ref, ActionRef());
          action.member_of.push_back(std::move(ref));
          if (!IsPunct(",")) break;
          Next();
        }
        BULWARK_RETURN_IF_ERROR(Expect("]"));
      } else {
        BULWARK_ASSIGN_OR_RETURN(RawActionRef ref, ActionRef());
        action.member_of.push_back(std::move(ref));
      }
    }
    if (IsWord("appliesTo")) {
      Next();
      action.applies = true;
      BULWARK_RETURN_IF_ERROR(Expect("{"));
      bool seen_principal = false, seen_resource = false, seen_context = false;
      while (!IsPunct("}")) {
        BULWARK_ASSIGN_OR_RETURN(std::string key, Ident());
        BULWARK_RETURN_IF_ERROR(Expect(":"));
        bool* seen = key == "principal"  ? &seen_principal
                     : key == "resource" ? &seen_resource
                     : key == "context"  ? &seen_context
                                         : nullptr;
        if (seen == nullptr) return Error("expected `principal`, `resource` or `context`");
        if (*seen) return Error(fmt::format("`{}` appears twice in appliesTo", key));
        *seen = true;
        if (key == "principal") {
          BULWARK_ASSIGN_OR_RETURN(action.principal_types, TypeList());
        } else if (key == "resource") {
          BULWARK_ASSIGN_OR_RETURN(action.resource_types, TypeList());
        } else {
          BULWARK_ASSIGN_OR_RETURN(action.context, TypeExpr(0));
        }
        if (!IsPunct(",")) break;
        Next();
      }
      BULWARK_RETURN_IF_ERROR(Expect("}"));
      if (!seen_principal || !seen_resource || action.principal_types.empty() ||
          action.resource_types.empty()) {
        return InvalidArgumentError(fmt::format(
            "{}: appliesTo must name at least one principal type and one resource type", where));
      }
    }
    BULWARK_RETURN_IF_ERROR(Expect(";"));
    for (std::string& name : names) {
      RawAction a = action;
      a.id = std::move(name);
      out_.actions.push_back(std::move(a));
    }
    return OkStatus();
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  RawSchema out_;
};

// --- The Cedar schema JSON format -------------------------------------------

class JsonReader {
 public:
  Result<RawSchema> Read(const json::value& root) {
    const json::object* namespaces = root.if_object();
    if (namespaces == nullptr)
      return Err(Fail("schema", "a JSON schema is an object of namespaces"));
    for (const auto& [ns_key, ns_value] : *namespaces) {
      const std::string ns(ns_key);
      const std::string where = ns.empty() ? "namespace \"\"" : fmt::format("namespace {}", ns);
      const json::object* body = ns_value.if_object();
      if (body == nullptr) return Err(Fail(where, "must be an object"));
      for (const auto& [key, value] : *body) {
        if (key != "entityTypes" && key != "actions" && key != "commonTypes" &&
            key != "annotations") {
          return Err(Fail(where, fmt::format("unknown field \"{}\"", std::string_view(key))));
        }
      }
      if (const json::value* common = body->if_contains("commonTypes")) {
        if (!common->is_object()) return Err(Fail(where, "commonTypes must be an object"));
        for (const auto& [name, type] : common->get_object()) {
          const std::string at = fmt::format("common type {}", std::string_view(name));
          BULWARK_ASSIGN_OR_RETURN(auto raw, TypeOf(type, at, 0));
          out_.common_types.push_back({ns, Qualify(ns, name), std::move(raw), at});
        }
      }
      const json::value* entities = body->if_contains("entityTypes");
      if (entities == nullptr || !entities->is_object()) {
        return Err(Fail(where, "needs an entityTypes object"));
      }
      for (const auto& [name, decl] : entities->get_object()) {
        BULWARK_RETURN_IF_ERROR(EntityType(ns, name, decl));
      }
      const json::value* actions = body->if_contains("actions");
      if (actions == nullptr || !actions->is_object())
        return Err(Fail(where, "needs an actions object"));
      for (const auto& [name, decl] : actions->get_object()) {
        BULWARK_RETURN_IF_ERROR(ActionDecl(ns, name, decl));
      }
    }
    return std::move(out_);
  }

 private:
  static Status Fail(std::string_view where, std::string_view what) {
    return InvalidArgumentError(fmt::format("{}: {}", where, what));
  }

  static Result<std::vector<std::string>> Strings(const json::value* v, std::string_view where,
                                                  std::string_view field) {
    std::vector<std::string> out;
    if (v == nullptr) return out;
    if (!v->is_array()) return Err(Fail(where, fmt::format("{} must be an array", field)));
    for (const json::value& s : v->get_array()) {
      if (!s.is_string()) return Err(Fail(where, fmt::format("{} must hold strings", field)));
      out.emplace_back(s.get_string());
    }
    return out;
  }

  Status EntityType(const std::string& ns, std::string_view name, const json::value& decl) {
    const std::string where = fmt::format("entity type {}", name);
    const json::object* o = decl.if_object();
    if (o == nullptr) return Fail(where, "must be an object");
    RawEntityType entity;
    entity.ns = ns;
    entity.name = Qualify(ns, name);
    entity.where = where;
    BULWARK_ASSIGN_OR_RETURN(entity.member_of,
                             Strings(o->if_contains("memberOfTypes"), where, "memberOfTypes"));
    if (const json::value* shape = o->if_contains("shape")) {
      BULWARK_ASSIGN_OR_RETURN(entity.shape, TypeOf(*shape, where, 0));
    }
    if (const json::value* tags = o->if_contains("tags")) {
      BULWARK_ASSIGN_OR_RETURN(entity.tags, TypeOf(*tags, where, 0));
    }
    if (const json::value* ids = o->if_contains("enum")) {
      BULWARK_ASSIGN_OR_RETURN(auto list, Strings(ids, where, "enum"));
      entity.enum_ids.emplace(list.begin(), list.end());
    }
    out_.entity_types.push_back(std::move(entity));
    return OkStatus();
  }

  Status ActionDecl(const std::string& ns, std::string_view name, const json::value& decl) {
    const std::string where = fmt::format("action {}", name);
    const json::object* o = decl.if_object();
    if (o == nullptr) return Fail(where, "must be an object");
    RawAction action;
    action.ns = ns;
    action.id = name;
    action.where = where;
    if (const json::value* groups = o->if_contains("memberOf")) {
      if (!groups->is_array()) return Fail(where, "memberOf must be an array");
      for (const json::value& g : groups->get_array()) {
        const json::object* ref = g.if_object();
        if (ref == nullptr || !ref->contains("id") || !ref->at("id").is_string()) {
          return Fail(where, "a memberOf entry needs a string \"id\"");
        }
        RawActionRef r{std::nullopt, std::string(ref->at("id").get_string())};
        if (const json::value* type = ref->if_contains("type")) {
          if (!type->is_string()) return Fail(where, "a memberOf \"type\" must be a string");
          r.type = std::string(type->get_string());
        }
        action.member_of.push_back(std::move(r));
      }
    }
    if (const json::value* applies = o->if_contains("appliesTo"); applies && !applies->is_null()) {
      const json::object* a = applies->if_object();
      if (a == nullptr) return Fail(where, "appliesTo must be an object");
      action.applies = true;
      BULWARK_ASSIGN_OR_RETURN(action.principal_types,
                               Strings(a->if_contains("principalTypes"), where, "principalTypes"));
      BULWARK_ASSIGN_OR_RETURN(action.resource_types,
                               Strings(a->if_contains("resourceTypes"), where, "resourceTypes"));
      if (const json::value* context = a->if_contains("context")) {
        BULWARK_ASSIGN_OR_RETURN(action.context, TypeOf(*context, where, 0));
      }
    }
    out_.actions.push_back(std::move(action));
    return OkStatus();
  }

  Result<std::shared_ptr<RawType>> TypeOf(const json::value& v, std::string_view where, int depth) {
    if (depth > kMaxTypeDepth) return Err(Fail(where, "types nest too deeply"));
    const json::object* o = v.if_object();
    if (o == nullptr || !o->contains("type") || !o->at("type").is_string()) {
      return Err(Fail(where, "a type needs a string \"type\""));
    }
    const std::string_view kind = o->at("type").get_string();
    auto type = std::make_shared<RawType>();
    auto name_field = [&]() -> Result<std::string> {
      const json::value* name = o->if_contains("name");
      if (name == nullptr || !name->is_string()) {
        return Err(Fail(where, fmt::format("a {} type needs a string \"name\"", kind)));
      }
      return std::string(name->get_string());
    };
    if (kind == "Set") {
      const json::value* element = o->if_contains("element");
      if (element == nullptr) return Err(Fail(where, "a Set type needs an \"element\""));
      type->kind = RawType::Kind::kSet;
      BULWARK_ASSIGN_OR_RETURN(type->element, TypeOf(*element, where, depth + 1));
    } else if (kind == "Record") {
      type->kind = RawType::Kind::kRecord;
      if (const json::value* extra = o->if_contains("additionalAttributes");
          extra && extra->is_bool() && extra->get_bool()) {
        return Err(Fail(where, "records with additionalAttributes are not supported"));
      }
      const json::value* attributes = o->if_contains("attributes");
      if (attributes != nullptr) {
        if (!attributes->is_object()) return Err(Fail(where, "attributes must be an object"));
        for (const auto& [name, attr] : attributes->get_object()) {
          RawAttribute a;
          a.name = name;
          BULWARK_ASSIGN_OR_RETURN(a.type, TypeOf(attr, where, depth + 1));
          if (const json::value* required = attr.as_object().if_contains("required")) {
            if (!required->is_bool()) return Err(Fail(where, "\"required\" must be a boolean"));
            a.required = required->get_bool();
          }
          type->attributes.push_back(std::move(a));
        }
      }
    } else if (kind == "Entity") {
      type->lookup = RawType::Lookup::kEntity;
      BULWARK_ASSIGN_OR_RETURN(type->name, name_field());
    } else if (kind == "Extension") {
      type->lookup = RawType::Lookup::kExtension;
      BULWARK_ASSIGN_OR_RETURN(type->name, name_field());
    } else if (kind == "EntityOrCommon") {
      BULWARK_ASSIGN_OR_RETURN(type->name, name_field());
    } else {
      type->name = kind;  // Long, String, Boolean or a common type
    }
    return type;
  }

  RawSchema out_;
};

}  // namespace

Result<Schema> Schema::FromText(std::string_view text) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(text));
  TextParser parser(std::move(tokens));
  BULWARK_ASSIGN_OR_RETURN(RawSchema raw, parser.Parse());
  return SchemaBuilder(raw).Build();
}

Result<Schema> Schema::FromJson(std::string_view text) {
  json::error_code ec;
  json::parse_options options;
  options.max_depth = 2 * kMaxTypeDepth + 8;
  json::value root = json::parse(text, ec, {}, options);
  if (ec) return Err(InvalidArgumentError("malformed schema JSON: " + ec.message()));
  JsonReader reader;
  BULWARK_ASSIGN_OR_RETURN(RawSchema raw, reader.Read(root));
  return SchemaBuilder(raw).Build();
}

Result<Schema> Schema::Parse(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '{') return FromJson(text);
  return FromText(text);
}

// --- Entities and requests against a schema ---------------------------------

namespace {

bool ValueHasType(const Value& value, TypeKind kind, std::string_view extension) {
  switch (kind) {
    case TypeKind::kBool:
    case TypeKind::kTrue:
    case TypeKind::kFalse:
      return value.is(ValueType::kBool);
    case TypeKind::kLong:
      return value.is(ValueType::kLong);
    case TypeKind::kString:
      return value.is(ValueType::kString);
    case TypeKind::kExtension:
      return (extension == "decimal" && value.is(ValueType::kDecimal)) ||
             (extension == "ipaddr" && value.is(ValueType::kIpAddr)) ||
             (extension == "datetime" && value.is(ValueType::kDatetime)) ||
             (extension == "duration" && value.is(ValueType::kDuration));
    default:
      return false;
  }
}

Status CheckEnumId(const Schema& schema, const EntityUid& uid, std::string_view where) {
  const EntityTypeSchema* type = schema.FindEntityType(uid.type);
  if (type != nullptr && type->enum_ids && !type->enum_ids->contains(uid.id)) {
    return InvalidArgumentError(fmt::format(
        "{}: `{}` is not one of the ids of enumerated entity type {}", where, uid.id, uid.type));
  }
  return OkStatus();
}

}  // namespace

Result<Value> ConformValue(const Schema& schema, const Value& value, const Type& type,
                           std::string_view where) {
  auto mismatch = [&] {
    return Err(InvalidArgumentError(fmt::format("{}: expected {}, got a value of type {}", where,
                                                TypeToString(type), TypeName(value.type()))));
  };
  switch (type.kind) {
    case TypeKind::kEntity:
      if (!value.is(ValueType::kEntity)) return mismatch();
      if (!type.name.empty() && value.as_entity().type != type.name) {
        return Err(InvalidArgumentError(fmt::format("{}: expected {}, got an entity of type {}",
                                                    where, type.name, value.as_entity().type)));
      }
      BULWARK_RETURN_IF_ERROR(CheckEnumId(schema, value.as_entity(), where));
      return value;
    case TypeKind::kSet: {
      if (!value.is(ValueType::kSet)) return mismatch();
      ValueSet elements;
      elements.reserve(value.as_set().size());
      for (const Value& element : value.as_set()) {
        BULWARK_ASSIGN_OR_RETURN(Value e, ConformValue(schema, element, *type.element, where));
        elements.push_back(std::move(e));
      }
      return Value::Set(std::move(elements));
    }
    case TypeKind::kRecord: {
      ValueRecord fields;
      if (value.is(ValueType::kEntity)) {  // {"type", "id"} read as an entity reference
        fields.emplace("type", Value::String(value.as_entity().type));
        fields.emplace("id", Value::String(value.as_entity().id));
      } else if (value.is(ValueType::kRecord)) {
        fields = value.as_record();
      } else {
        return mismatch();
      }
      for (auto& [name, field] : fields) {
        auto it = type.record().find(name);
        if (it == type.record().end()) {
          return Err(InvalidArgumentError(
              fmt::format("{}: attribute `{}` is not declared in the schema", where, name)));
        }
        BULWARK_ASSIGN_OR_RETURN(
            field, ConformValue(schema, field, it->second.type, fmt::format("{}.{}", where, name)));
      }
      for (const auto& [name, attribute] : type.record()) {
        if (attribute.required && !fields.contains(name)) {
          return Err(InvalidArgumentError(
              fmt::format("{}: required attribute `{}` is missing", where, name)));
        }
      }
      return Value::Record(std::move(fields));
    }
    case TypeKind::kExtension: {
      if (ValueHasType(value, type.kind, type.name)) return value;
      std::string_view arg;
      if (value.is(ValueType::kString)) {
        arg = value.as_string();
      } else if (value.is(ValueType::kRecord) && value.as_record().size() == 2) {
        const ValueRecord& r = value.as_record();
        auto fn = r.find("fn");
        auto a = r.find("arg");
        if (fn == r.end() || a == r.end() || !fn->second.is(ValueType::kString) ||
            !a->second.is(ValueType::kString)) {
          return mismatch();
        }
        const std::string& f = fn->second.as_string();
        if (f != type.name && !(f == "ip" && type.name == "ipaddr")) return mismatch();
        arg = a->second.as_string();
      } else {
        return mismatch();
      }
      auto bad = [&](const Status& s) {
        return Err(InvalidArgumentError(fmt::format("{}: {}", where, s.message())));
      };
      if (type.name == "decimal") {
        auto d = ParseDecimal(arg);
        return d ? Result<Value>(Value::OfDecimal(*d)) : bad(d.error());
      }
      if (type.name == "ipaddr") {
        auto ip = ParseIpAddr(arg);
        return ip ? Result<Value>(Value::OfIp(*ip)) : bad(ip.error());
      }
      if (type.name == "datetime") {
        auto d = ParseDatetime(arg);
        return d ? Result<Value>(Value::OfDatetime(*d)) : bad(d.error());
      }
      auto d = ParseDuration(arg);
      return d ? Result<Value>(Value::OfDuration(*d)) : bad(d.error());
    }
    default:
      if (!ValueHasType(value, type.kind, type.name)) return mismatch();
      return value;
  }
}

Result<Value> ConformRequest(const Schema& schema, const EntityUid& principal,
                             const EntityUid& action, const EntityUid& resource,
                             const Value& context) {
  const ActionSchema* applies = schema.FindAction(action);
  if (applies == nullptr) {
    return Err(InvalidArgumentError(
        fmt::format("request's action {} is not declared in the schema", ToString(action))));
  }
  auto allowed = [](const std::vector<std::string>& types, const std::string& type) {
    return std::find(types.begin(), types.end(), type) != types.end();
  };
  if (!allowed(applies->principal_types, principal.type)) {
    return Err(InvalidArgumentError(fmt::format("principal type {} is not valid for action {}",
                                                principal.type, ToString(action))));
  }
  if (!allowed(applies->resource_types, resource.type)) {
    return Err(InvalidArgumentError(fmt::format("resource type {} is not valid for action {}",
                                                resource.type, ToString(action))));
  }
  BULWARK_RETURN_IF_ERROR(CheckEnumId(schema, principal, "principal"));
  BULWARK_RETURN_IF_ERROR(CheckEnumId(schema, resource, "resource"));
  return ConformValue(schema, context, applies->context, "context");
}

Status ConformEntities(const Schema& schema, Entities& entities) {
  for (auto& [uid, entity] : entities.entities_) {
    const std::string where = ToString(uid);
    if (schema.IsActionType(uid.type)) {
      if (schema.FindAction(uid) == nullptr) {
        return InvalidArgumentError(fmt::format("{}: action is not declared in the schema", where));
      }
      continue;
    }
    const EntityTypeSchema* type = schema.FindEntityType(uid.type);
    if (type == nullptr) {
      return InvalidArgumentError(
          fmt::format("{}: entity type {} is not declared in the schema", where, uid.type));
    }
    BULWARK_RETURN_IF_ERROR(CheckEnumId(schema, uid, where));
    BULWARK_ASSIGN_OR_RETURN(Value attrs, ConformValue(schema, Value::Record(entity.attrs),
                                                       Type::Record(type->attributes), where));
    entity.attrs = attrs.as_record();
    for (const EntityUid& parent : entity.parents) {
      if (std::find(type->member_of.begin(), type->member_of.end(), parent.type) ==
          type->member_of.end()) {
        return InvalidArgumentError(fmt::format("{}: may not have a parent of type {} ({})", where,
                                                parent.type, ToString(parent)));
      }
    }
    if (!entity.tags.empty() && !type->tags) {
      return InvalidArgumentError(fmt::format("{}: entity type {} has no tags", where, uid.type));
    }
    for (auto& [key, value] : entity.tags) {
      BULWARK_ASSIGN_OR_RETURN(
          value, ConformValue(schema, value, *type->tags, fmt::format("{} tag `{}`", where, key)));
    }
  }
  for (const auto& [uid, action] : schema.actions()) {
    if (entities.entities_.contains(uid)) continue;
    Entity entity;
    entity.uid = uid;
    entity.parents = action.member_of;
    const std::set<EntityUid>& ancestors = schema.ActionAncestors(uid);
    entity.ancestors.assign(ancestors.begin(), ancestors.end());
    entities.entities_.emplace(uid, std::move(entity));
  }
  entities.BuildTable();
  return OkStatus();
}

}  // namespace bulwark::policy::cedar

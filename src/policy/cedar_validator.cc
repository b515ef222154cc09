#include "policy/cedar_validator.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "policy/cedar_value.h"

namespace bulwark::policy::cedar {

namespace {

// Facts an expression proves when it evaluates to true: that an attribute
// (or tag) of an expression is present. Keys are canonical expression text.
using Capabilities = std::set<std::string, std::less<>>;

Capabilities Union(Capabilities a, const Capabilities& b) {
  a.insert(b.begin(), b.end());
  return a;
}

Capabilities Intersection(const Capabilities& a, const Capabilities& b) {
  Capabilities out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}

struct Typed {
  Type type;
  Capabilities caps;
};

std::string Key(const Expr& e) { return ExprKey(e); }

std::string AttributeCap(std::string_view key, std::string_view attribute) {
  return fmt::format("{}.{}:{}", key, attribute.size(), attribute);
}

Type Bool() { return Type::Of(TypeKind::kBool); }
Type True() { return Type::Of(TypeKind::kTrue); }
Type False() { return Type::Of(TypeKind::kFalse); }
Type Singleton(bool b) { return b ? True() : False(); }

// One request environment: the principal and resource types and the action.
struct Environment {
  const std::string* principal;
  const EntityUid* action;
  const std::string* resource;
  const Type* context;
};

struct Issue {
  SourceLocation location;
  std::string message;
};

class Checker {
 public:
  Checker(const Schema& schema, const Environment& env, std::vector<Issue>& errors)
      : schema_(schema), env_(env), errors_(errors) {}

  std::optional<Typed> Check(const Expr& e, const Capabilities& caps) {
    switch (e.kind) {
      case ExprKind::kBool:
        return Typed{Singleton(e.boolean), {}};
      case ExprKind::kLong:
        return Typed{Type::Of(TypeKind::kLong), {}};
      case ExprKind::kString:
        return Typed{Type::Of(TypeKind::kString), {}};
      case ExprKind::kEntity:
        return Typed{Type::Entity(e.uid.type), {}};
      case ExprKind::kSlot:
        return Typed{Type::Entity(""), {}};
      case ExprKind::kVariable:
        switch (e.variable) {
          case Variable::kPrincipal:
            return Typed{Type::Entity(*env_.principal), {}};
          case Variable::kAction:
            return Typed{Type::Entity(env_.action->type), {}};
          case Variable::kResource:
            return Typed{Type::Entity(*env_.resource), {}};
          case Variable::kContext:
            return Typed{*env_.context, {}};
        }
        break;
      case ExprKind::kNot: {
        auto operand = CheckBoolean(*e.args[0], caps);
        if (!operand) return std::nullopt;
        const TypeKind k = operand->type.kind;
        return Typed{k == TypeKind::kTrue ? False() : k == TypeKind::kFalse ? True() : Bool(), {}};
      }
      case ExprKind::kNegate:
        if (!CheckKind(*e.args[0], caps, TypeKind::kLong)) return std::nullopt;
        return Typed{Type::Of(TypeKind::kLong), {}};
      case ExprKind::kAnd:
        return And(e, caps);
      case ExprKind::kOr:
        return Or(e, caps);
      case ExprKind::kIfThenElse:
        return IfThenElse(e, caps);
      case ExprKind::kBinary:
        return Binary(e, caps);
      case ExprKind::kHas:
        return Has(e, caps);
      case ExprKind::kGetAttribute:
        return GetAttribute(e, caps);
      case ExprKind::kLike:
        if (!CheckKind(*e.args[0], caps, TypeKind::kString)) return std::nullopt;
        return Typed{Bool(), {}};
      case ExprKind::kIs:
        return Is(e, caps);
      case ExprKind::kSet:
        return SetLiteral(e, caps);
      case ExprKind::kRecord: {
        AttributeMap attributes;
        for (const auto& [name, value] : e.record) {
          auto t = Check(*value, caps);
          if (!t) return std::nullopt;
          attributes[name] = Attribute{std::move(t->type), true};
        }
        return Typed{Type::Record(std::move(attributes)), {}};
      }
      case ExprKind::kFunctionCall:
        return Function(e);
      case ExprKind::kMethodCall:
        return Method(e, caps);
    }
    return Fail(e, "unsupported expression");
  }

  std::optional<Typed> CheckBoolean(const Expr& e, const Capabilities& caps) {
    auto t = Check(e, caps);
    if (!t) return std::nullopt;
    if (!t->type.is_boolean()) return Unexpected(e, "Bool", t->type);
    return t;
  }

 private:
  std::optional<Typed> Fail(const Expr& e, std::string message) {
    errors_.push_back({e.location, std::move(message)});
    return std::nullopt;
  }

  std::optional<Typed> Unexpected(const Expr& e, std::string_view expected, const Type& saw) {
    return Fail(
        e, fmt::format("unexpected type: expected {} but saw {}", expected, TypeToString(saw)));
  }

  std::optional<Typed> Incompatible(const Expr& e, const Type& a, const Type& b) {
    return Fail(
        e, fmt::format("the types {} and {} are not compatible", TypeToString(a), TypeToString(b)));
  }

  std::optional<Typed> CheckKind(const Expr& e, const Capabilities& caps, TypeKind kind,
                                 std::string_view extension = {}) {
    auto t = Check(e, caps);
    if (!t) return std::nullopt;
    if (t->type.kind != kind || (kind == TypeKind::kExtension && t->type.name != extension)) {
      const Type expected =
          kind == TypeKind::kExtension ? Type::Extension(std::string(extension)) : Type::Of(kind);
      return Unexpected(e, TypeToString(expected), t->type);
    }
    return t;
  }

  std::optional<Typed> And(const Expr& e, const Capabilities& caps) {
    auto left = CheckBoolean(*e.args[0], caps);
    if (!left) return std::nullopt;
    if (left->type.kind == TypeKind::kFalse) return Typed{False(), {}};
    auto right = CheckBoolean(*e.args[1], Union(caps, left->caps));
    if (!right) return std::nullopt;
    if (right->type.kind == TypeKind::kFalse) return Typed{False(), {}};
    Type type = right->type.kind == TypeKind::kTrue ? left->type : Bool();
    return Typed{std::move(type), Union(left->caps, right->caps)};
  }

  std::optional<Typed> Or(const Expr& e, const Capabilities& caps) {
    auto left = CheckBoolean(*e.args[0], caps);
    if (!left) return std::nullopt;
    if (left->type.kind == TypeKind::kTrue) return left;
    auto right = CheckBoolean(*e.args[1], caps);
    if (!right) return std::nullopt;
    if (left->type.kind == TypeKind::kFalse) return right;
    if (right->type.kind == TypeKind::kFalse) return left;
    const TypeKind kind = right->type.kind == TypeKind::kTrue ? TypeKind::kTrue : TypeKind::kBool;
    return Typed{Type::Of(kind), Intersection(left->caps, right->caps)};
  }

  std::optional<Typed> IfThenElse(const Expr& e, const Capabilities& caps) {
    auto condition = CheckBoolean(*e.args[0], caps);
    if (!condition) return std::nullopt;
    if (condition->type.kind == TypeKind::kTrue) {
      auto then = Check(*e.args[1], Union(caps, condition->caps));
      if (!then) return std::nullopt;
      return Typed{std::move(then->type), Union(condition->caps, then->caps)};
    }
    if (condition->type.kind == TypeKind::kFalse) return Check(*e.args[2], caps);
    auto then = Check(*e.args[1], Union(caps, condition->caps));
    auto otherwise = Check(*e.args[2], caps);
    if (!then || !otherwise) return std::nullopt;
    auto type = LeastUpperBound(then->type, otherwise->type);
    if (!type) return Incompatible(e, then->type, otherwise->type);
    return Typed{std::move(*type),
                 Intersection(Union(condition->caps, then->caps), otherwise->caps)};
  }

  // The value of `e` if it is a literal (the action variable counts: its
  // value is known in each environment).
  std::optional<Value> Literal(const Expr& e) const {
    switch (e.kind) {
      case ExprKind::kBool:
        return Value::Bool(e.boolean);
      case ExprKind::kLong:
        return Value::Long(e.integer);
      case ExprKind::kString:
        return Value::String(e.text);
      case ExprKind::kEntity:
        return Value::Entity(e.uid);
      case ExprKind::kVariable:
        if (e.variable == Variable::kAction) return Value::Entity(*env_.action);
        return std::nullopt;
      default:
        return std::nullopt;
    }
  }

  // The action `e` names, if it is a declared action's literal or the
  // action variable.
  std::optional<EntityUid> ActionLiteral(const Expr& e) const {
    auto v = Literal(e);
    if (!v || !v->is(ValueType::kEntity) || schema_.FindAction(v->as_entity()) == nullptr) {
      return std::nullopt;
    }
    return v->as_entity();
  }

  std::optional<Typed> Binary(const Expr& e, const Capabilities& caps) {
    const Expr& a = *e.args[0];
    const Expr& b = *e.args[1];
    switch (e.op) {
      case BinaryOp::kEq:
      case BinaryOp::kNotEq: {
        auto left = Check(a, caps);
        auto right = Check(b, caps);
        if (!left || !right) return std::nullopt;
        const bool negate = e.op == BinaryOp::kNotEq;
        auto x = Literal(a);
        auto y = Literal(b);
        if (x && y) return Typed{Singleton((*x == *y) != negate), {}};
        if (LeastUpperBound(left->type, right->type)) return Typed{Bool(), {}};
        if (left->type.kind == TypeKind::kEntity && right->type.kind == TypeKind::kEntity) {
          return Typed{Singleton(negate), {}};
        }
        return Incompatible(e, left->type, right->type);
      }
      case BinaryOp::kLess:
      case BinaryOp::kLessEq:
      case BinaryOp::kGreater:
      case BinaryOp::kGreaterEq: {
        auto left = Check(a, caps);
        if (!left) return std::nullopt;
        const Type& t = left->type;
        if (t.kind != TypeKind::kLong &&
            !(t.kind == TypeKind::kExtension && (t.name == "datetime" || t.name == "duration"))) {
          return Unexpected(a, "datetime, or duration, or Long", t);
        }
        if (!CheckKind(b, caps, t.kind, t.name)) return std::nullopt;
        return Typed{Bool(), {}};
      }
      case BinaryOp::kAdd:
      case BinaryOp::kSub:
      case BinaryOp::kMul:
        if (!CheckKind(a, caps, TypeKind::kLong) || !CheckKind(b, caps, TypeKind::kLong)) {
          return std::nullopt;
        }
        return Typed{Type::Of(TypeKind::kLong), {}};
      case BinaryOp::kIn:
        return In(e, caps);
    }
    return Fail(e, "unsupported operator");
  }

  // `a in b`: an entity in an entity or a set of entities.
  std::optional<Typed> In(const Expr& e, const Capabilities& caps) {
    const Expr& a = *e.args[0];
    const Expr& b = *e.args[1];
    auto left = Check(a, caps);
    if (!left) return std::nullopt;
    if (left->type.kind != TypeKind::kEntity) return Unexpected(a, "entity", left->type);
    auto right = Check(b, caps);
    if (!right) return std::nullopt;
    const Type* target = &right->type;
    if (target->kind == TypeKind::kSet) target = target->element.get();
    if (target->kind == TypeKind::kNever) return Typed{False(), {}};
    if (target->kind != TypeKind::kEntity) {
      return Unexpected(b, "entity or set of entities", right->type);
    }
    // Both sides known actions: decided by the schema's action groups.
    if (auto action = ActionLiteral(a)) {
      std::vector<const Expr*> groups;
      if (b.kind == ExprKind::kSet) {
        for (const ExprPtr& g : b.args) groups.push_back(g.get());
      } else {
        groups.push_back(&b);
      }
      bool all_literal = true, any = false;
      for (const Expr* g : groups) {
        auto v = Literal(*g);
        if (!v || !v->is(ValueType::kEntity)) {
          all_literal = false;
          break;
        }
        any = any || schema_.ActionIn(*action, v->as_entity());
      }
      if (all_literal) return Typed{Singleton(any), {}};
    }
    if (left->type.name.empty() || target->name.empty() ||
        schema_.MayBeIn(left->type.name, target->name)) {
      return Typed{Bool(), {}};
    }
    return Typed{False(), {}};
  }

  std::optional<Typed> Is(const Expr& e, const Capabilities& caps) {
    auto operand = Check(*e.args[0], caps);
    if (!operand) return std::nullopt;
    if (operand->type.kind != TypeKind::kEntity) {
      return Unexpected(*e.args[0], "entity", operand->type);
    }
    if (!operand->type.name.empty() && operand->type.name != e.text) return Typed{False(), {}};
    const Type is = operand->type.name.empty() ? Bool() : True();
    if (e.args.size() < 2) return Typed{is, {}};
    auto in = In(e, caps);  // args[0] in args[1]
    if (!in) return std::nullopt;
    if (in->type.kind == TypeKind::kFalse) return in;
    return Typed{in->type.kind == TypeKind::kTrue ? is : Bool(), {}};
  }

  // Whether `type` (of the expression with key `key`) has `attribute`:
  // True, False or Bool; and the attribute's type if it is declared.
  struct Lookup {
    Type result;
    const Attribute* attribute = nullptr;
  };

  std::optional<Lookup> LookupAttribute(const Expr& at, const Type& type, std::string_view key,
                                        std::string_view attribute, const Capabilities& caps) {
    const bool proven = caps.contains(AttributeCap(key, attribute));
    if (type.kind == TypeKind::kRecord) {
      auto it = type.record().find(attribute);
      if (it == type.record().end()) return Lookup{False(), nullptr};
      return Lookup{it->second.required || proven ? True() : Bool(), &it->second};
    }
    if (type.kind == TypeKind::kEntity) {
      const EntityTypeSchema* entity = schema_.FindEntityType(type.name);
      if (type.name.empty()) return Lookup{Bool(), nullptr};
      if (entity == nullptr) return Lookup{False(), nullptr};
      auto it = entity->attributes.find(attribute);
      if (it == entity->attributes.end()) return Lookup{False(), nullptr};
      // An entity's required attribute is there only if the entity is.
      return Lookup{proven ? True() : Bool(), &it->second};
    }
    Unexpected(at, "entity or record", type);
    return std::nullopt;
  }

  std::optional<Typed> Has(const Expr& e, const Capabilities& caps) {
    auto operand = Check(*e.args[0], caps);
    if (!operand) return std::nullopt;
    std::string key = Key(*e.args[0]);
    Type type = operand->type;
    Capabilities proven;
    TypeKind result = TypeKind::kTrue;
    for (size_t i = 0; i < e.path.size(); ++i) {
      const std::string& attribute = e.path[i];
      auto lookup = LookupAttribute(*e.args[0], type, key, attribute, Union(caps, proven));
      if (!lookup) return std::nullopt;
      if (lookup->result.kind == TypeKind::kFalse) return Typed{False(), {}};
      if (lookup->result.kind == TypeKind::kBool) result = TypeKind::kBool;
      proven.insert(AttributeCap(key, attribute));
      if (i + 1 < e.path.size()) {
        if (lookup->attribute == nullptr) {  // the attribute of an unknown entity type
          result = TypeKind::kBool;
          break;
        }
        type = lookup->attribute->type;
        key = AttributeCap(key, attribute);
      }
    }
    return Typed{Type::Of(result), std::move(proven)};
  }

  std::string Describe(const Type& type) const {
    if (type.kind == TypeKind::kEntity) return fmt::format("on entity type `{}`", type.name);
    if (&type == env_.context ||
        (env_.context->attributes && type.attributes == env_.context->attributes)) {
      return fmt::format("in context for {}", ToString(*env_.action));
    }
    return fmt::format("on record type {}", TypeToString(type));
  }

  std::optional<Typed> GetAttribute(const Expr& e, const Capabilities& caps) {
    auto operand = Check(*e.args[0], caps);
    if (!operand) return std::nullopt;
    const std::string key = Key(*e.args[0]);
    auto lookup = LookupAttribute(*e.args[0], operand->type, key, e.text, caps);
    if (!lookup) return std::nullopt;
    if (lookup->attribute == nullptr) {
      return Fail(e, fmt::format("attribute `{}` {} not found", e.text, Describe(operand->type)));
    }
    const bool safe = lookup->result.kind == TypeKind::kTrue ||
                      (operand->type.kind == TypeKind::kEntity && lookup->attribute->required);
    if (!safe) {
      return Fail(e,
                  fmt::format("unable to guarantee safety of access to optional attribute `{}` {}",
                              e.text, Describe(operand->type)));
    }
    return Typed{lookup->attribute->type, {}};
  }

  std::optional<Typed> SetLiteral(const Expr& e, const Capabilities& caps) {
    if (e.args.empty()) return Fail(e, "empty set literals are forbidden in policies");
    std::optional<Type> element;
    for (const ExprPtr& arg : e.args) {
      auto t = Check(*arg, caps);
      if (!t) return std::nullopt;
      if (!element) {
        element = std::move(t->type);
        continue;
      }
      auto lub = LeastUpperBound(*element, t->type);
      if (!lub) return Incompatible(e, *element, t->type);
      element = std::move(*lub);
    }
    return Typed{Type::Set(std::move(*element)), {}};
  }

  std::optional<Typed> Function(const Expr& e) {
    static constexpr std::pair<std::string_view, std::string_view> kConstructors[] = {
        {"ip", "ipaddr"},
        {"decimal", "decimal"},
        {"datetime", "datetime"},
        {"duration", "duration"}};
    for (const auto& [function, type] : kConstructors) {
      if (e.text != function) continue;
      const Expr& arg = *e.args[0];
      if (arg.kind != ExprKind::kString) {
        return Fail(e, "extension constructors may not be called with non-literal expressions");
      }
      bool valid = false;
      if (function == "ip") valid = ParseIpAddr(arg.text).has_value();
      if (function == "decimal") valid = ParseDecimal(arg.text).has_value();
      if (function == "datetime") valid = ParseDatetime(arg.text).has_value();
      if (function == "duration") valid = ParseDuration(arg.text).has_value();
      if (!valid) {
        return Fail(e, fmt::format("error during extension function argument validation: \"{}\" "
                                   "is not a valid {} literal",
                                   arg.text, type));
      }
      return Typed{Type::Extension(std::string(type)), {}};
    }
    return Fail(e, fmt::format("undefined extension function `{}`", e.text));
  }

  std::optional<Typed> Method(const Expr& e, const Capabilities& caps) {
    const std::string& m = e.text;
    const Expr& receiver = *e.args[0];
    if (m == "contains" || m == "containsAll" || m == "containsAny" || m == "isEmpty") {
      auto set = Check(receiver, caps);
      if (!set) return std::nullopt;
      if (set->type.kind != TypeKind::kSet) return Unexpected(receiver, "Set", set->type);
      if (m == "isEmpty") return Typed{Bool(), {}};
      auto arg = Check(*e.args[1], caps);
      if (!arg) return std::nullopt;
      Type element = arg->type;
      if (m != "contains") {
        if (arg->type.kind != TypeKind::kSet) return Unexpected(*e.args[1], "Set", arg->type);
        element = *arg->type.element;
      }
      if (!LeastUpperBound(*set->type.element, element)) {
        return Incompatible(e, *set->type.element, element);
      }
      return Typed{Bool(), {}};
    }
    if (m == "hasTag" || m == "getTag") return Tag(e, caps);
    struct Signature {
      std::string_view method, receiver, argument, result;
    };
    // Extension methods: receiver type, argument type ("" for none), result.
    static constexpr Signature kMethods[] = {
        {"lessThan", "decimal", "decimal", "Bool"},
        {"lessThanOrEqual", "decimal", "decimal", "Bool"},
        {"greaterThan", "decimal", "decimal", "Bool"},
        {"greaterThanOrEqual", "decimal", "decimal", "Bool"},
        {"isIpv4", "ipaddr", "", "Bool"},
        {"isIpv6", "ipaddr", "", "Bool"},
        {"isLoopback", "ipaddr", "", "Bool"},
        {"isMulticast", "ipaddr", "", "Bool"},
        {"isInRange", "ipaddr", "ipaddr", "Bool"},
        {"offset", "datetime", "duration", "datetime"},
        {"durationSince", "datetime", "datetime", "duration"},
        {"toDate", "datetime", "", "datetime"},
        {"toTime", "datetime", "", "duration"},
        {"toMilliseconds", "duration", "", "Long"},
        {"toSeconds", "duration", "", "Long"},
        {"toMinutes", "duration", "", "Long"},
        {"toHours", "duration", "", "Long"},
        {"toDays", "duration", "", "Long"},
    };
    for (const Signature& s : kMethods) {
      if (m != s.method) continue;
      if (!CheckKind(receiver, caps, TypeKind::kExtension, s.receiver)) return std::nullopt;
      if (!s.argument.empty() && !CheckKind(*e.args[1], caps, TypeKind::kExtension, s.argument)) {
        return std::nullopt;
      }
      if (s.result == "Bool") return Typed{Bool(), {}};
      if (s.result == "Long") return Typed{Type::Of(TypeKind::kLong), {}};
      return Typed{Type::Extension(std::string(s.result)), {}};
    }
    return Fail(e, fmt::format("undefined method `{}`", m));
  }

  std::optional<Typed> Tag(const Expr& e, const Capabilities& caps) {
    const Expr& receiver = *e.args[0];
    auto entity = Check(receiver, caps);
    if (!entity) return std::nullopt;
    if (entity->type.kind != TypeKind::kEntity) return Unexpected(receiver, "entity", entity->type);
    if (!CheckKind(*e.args[1], caps, TypeKind::kString)) return std::nullopt;
    const std::string cap = fmt::format("{}#{}", Key(receiver), Key(*e.args[1]));
    const EntityTypeSchema* type = schema_.FindEntityType(entity->type.name);
    const bool may_have_tags = entity->type.name.empty() || (type != nullptr && type->tags);
    const bool proven = caps.contains(cap);
    if (e.text == "hasTag") {
      if (!may_have_tags) return Typed{False(), {}};
      return Typed{proven ? True() : Bool(), {cap}};
    }
    if (!may_have_tags || !proven) {
      return Fail(
          e, fmt::format("unable to guarantee safety of access to tag `{}` on entity type `{}`",
                         e.args[1]->kind == ExprKind::kString ? e.args[1]->text : "?",
                         entity->type.name));
    }
    if (type == nullptr) return Fail(e, "tag access on an entity of unknown type");
    return Typed{*type->tags, {}};
  }

  const Schema& schema_;
  const Environment& env_;
  std::vector<Issue>& errors_;
};

// Entity types and actions the policy names must exist.
void CheckNames(const Schema& schema, const Expr& e, std::vector<Issue>& errors);

void CheckUid(const Schema& schema, const EntityUid& uid, SourceLocation at,
              std::vector<Issue>& errors) {
  if (schema.IsActionType(uid.type)) {
    if (schema.FindAction(uid) == nullptr) {
      errors.push_back({at, fmt::format("unrecognized action `{}`", ToString(uid))});
    }
    return;
  }
  const EntityTypeSchema* type = schema.FindEntityType(uid.type);
  if (type == nullptr) {
    errors.push_back({at, fmt::format("unrecognized entity type `{}`", uid.type)});
  } else if (type->enum_ids && !type->enum_ids->contains(uid.id)) {
    errors.push_back({at, fmt::format("entity `{}` is not one of the ids of enumerated type `{}`",
                                      ToString(uid), uid.type)});
  }
}

void CheckTypeName(const Schema& schema, const std::string& type, SourceLocation at,
                   std::vector<Issue>& errors) {
  if (schema.FindEntityType(type) == nullptr && !schema.IsActionType(type)) {
    errors.push_back({at, fmt::format("unrecognized entity type `{}`", type)});
  }
}

void CheckNames(const Schema& schema, const Expr& e, std::vector<Issue>& errors) {
  if (e.kind == ExprKind::kEntity) CheckUid(schema, e.uid, e.location, errors);
  if (e.kind == ExprKind::kIs) CheckTypeName(schema, e.text, e.location, errors);
  for (const ExprPtr& arg : e.args) CheckNames(schema, *arg, errors);
  for (const auto& [name, value] : e.record) CheckNames(schema, *value, errors);
}

void CheckScopeNames(const Schema& schema, const ScopeConstraint& scope, SourceLocation at,
                     std::vector<Issue>& errors) {
  if (scope.op == ScopeConstraint::Op::kIs || scope.op == ScopeConstraint::Op::kIsIn) {
    CheckTypeName(schema, scope.entity_type, at, errors);
  }
  if (!scope.slot) {
    for (const EntityUid& uid : scope.entities) CheckUid(schema, uid, at, errors);
  }
}

// The type of a principal or resource scope constraint for a variable of
// type `type`.
TypeKind ScopeType(const Schema& schema, const ScopeConstraint& scope, const std::string& type) {
  using Op = ScopeConstraint::Op;
  const bool is_ok = scope.entity_type == type;
  auto in = [&] {
    if (scope.slot) return TypeKind::kBool;
    return schema.MayBeIn(type, scope.entities[0].type) ? TypeKind::kBool : TypeKind::kFalse;
  };
  switch (scope.op) {
    case Op::kAll:
      return TypeKind::kTrue;
    case Op::kEq:
      if (scope.slot) return TypeKind::kBool;
      return scope.entities[0].type == type ? TypeKind::kBool : TypeKind::kFalse;
    case Op::kIn:
      return in();
    case Op::kIs:
      return is_ok ? TypeKind::kTrue : TypeKind::kFalse;
    case Op::kIsIn:
      return is_ok ? in() : TypeKind::kFalse;
  }
  return TypeKind::kFalse;
}

bool ActionScopeMatches(const Schema& schema, const ScopeConstraint& scope,
                        const EntityUid& action) {
  using Op = ScopeConstraint::Op;
  if (scope.op == Op::kAll) return true;
  if (scope.op == Op::kEq) return scope.entities[0] == action;
  return std::any_of(scope.entities.begin(), scope.entities.end(),
                     [&](const EntityUid& group) { return schema.ActionIn(action, group); });
}

void ValidatePolicy(const Schema& schema, const Policy& policy, ValidationResult& result) {
  std::vector<Issue> errors;
  CheckScopeNames(schema, policy.principal, policy.location, errors);
  CheckScopeNames(schema, policy.action, policy.location, errors);
  CheckScopeNames(schema, policy.resource, policy.location, errors);
  for (const Condition& c : policy.conditions) CheckNames(schema, *c.expr, errors);

  bool applicable = false;
  bool possible = false;
  for (const auto& [action, applies] : schema.actions()) {
    if (!ActionScopeMatches(schema, policy.action, action)) continue;
    for (const std::string& principal : applies.principal_types) {
      const TypeKind p = ScopeType(schema, policy.principal, principal);
      if (p == TypeKind::kFalse) continue;
      for (const std::string& resource : applies.resource_types) {
        const TypeKind r = ScopeType(schema, policy.resource, resource);
        if (r == TypeKind::kFalse) continue;
        applicable = true;
        const Environment env{&principal, &action, &resource, &applies.context};
        Checker checker(schema, env, errors);
        Capabilities caps;
        bool is_false = false;
        bool failed = false;
        for (const Condition& c : policy.conditions) {
          auto t = checker.CheckBoolean(*c.expr, caps);
          if (!t) {
            failed = true;
            break;
          }
          TypeKind k = t->type.kind;
          if (!c.when)
            k = k == TypeKind::kTrue    ? TypeKind::kFalse
                : k == TypeKind::kFalse ? TypeKind::kTrue
                                        : k;
          if (k == TypeKind::kFalse) {
            is_false = true;
            break;
          }
          if (c.when) caps = Union(caps, t->caps);
        }
        if (!failed && !is_false) possible = true;
      }
    }
  }
  std::set<std::pair<std::string, std::pair<uint32_t, uint32_t>>> seen;
  for (Issue& issue : errors) {
    if (!seen.insert({issue.message, {issue.location.line, issue.location.column}}).second)
      continue;
    result.errors.push_back({policy.id, issue.location, std::move(issue.message)});
  }
  if (!applicable) {
    result.warnings.push_back({policy.id, policy.location,
                               "unable to find an applicable action given the policy scope "
                               "constraints"});
  }
  if (!possible && errors.empty()) {
    result.warnings.push_back({policy.id, policy.location,
                               "policy is impossible: the policy expression evaluates to false "
                               "for all valid requests"});
  }
}

}  // namespace

ValidationResult ValidatePolicies(const Schema& schema, std::span<const Policy> policies) {
  ValidationResult result;
  for (const Policy& policy : policies) ValidatePolicy(schema, policy, result);
  return result;
}

}  // namespace bulwark::policy::cedar

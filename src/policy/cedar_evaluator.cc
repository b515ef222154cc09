#include "policy/cedar_evaluator.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace bulwark::policy::cedar {

namespace {

Status Fail(std::string message) { return InvalidArgumentError(std::move(message)); }

Status TypeError(std::string_view expected, const Value& got) {
  return Fail(fmt::format("type error: expected {}, got {}", expected, TypeName(got.type())));
}

class Evaluator {
 public:
  explicit Evaluator(EntityLookup& lookup) : request_(lookup.request()), entities_(lookup) {}

  Result<Value> Eval(const Expr& x) {
    switch (x.kind) {
      case ExprKind::kBool:
        return Value::Bool(x.boolean);
      case ExprKind::kLong:
        return Value::Long(x.integer);
      case ExprKind::kString:
        return Value::String(x.text);
      case ExprKind::kEntity:
        return Value::Entity(x.uid);
      case ExprKind::kVariable:
        return VariableValue(x.variable);
      case ExprKind::kSlot:
        return Err(Fail(fmt::format("unlinked slot {}", x.text)));
      case ExprKind::kNot: {
        BULWARK_ASSIGN_OR_RETURN(bool b, Bool(*x.args[0]));
        return Value::Bool(!b);
      }
      case ExprKind::kNegate: {
        BULWARK_ASSIGN_OR_RETURN(int64_t i, Long(*x.args[0]));
        if (i == INT64_MIN) return Err(Fail("integer overflow"));
        return Value::Long(-i);
      }
      case ExprKind::kAnd:
      case ExprKind::kOr: {
        BULWARK_ASSIGN_OR_RETURN(bool left, Bool(*x.args[0]));
        if (left == (x.kind == ExprKind::kOr)) return Value::Bool(left);
        BULWARK_ASSIGN_OR_RETURN(bool right, Bool(*x.args[1]));
        return Value::Bool(right);
      }
      case ExprKind::kIfThenElse: {
        BULWARK_ASSIGN_OR_RETURN(bool c, Bool(*x.args[0]));
        return Eval(*x.args[c ? 1 : 2]);
      }
      case ExprKind::kBinary:
        return EvalBinary(x);
      case ExprKind::kHas:
        return EvalHas(x);
      case ExprKind::kLike: {
        BULWARK_ASSIGN_OR_RETURN(Value v, Eval(*x.args[0]));
        if (!v.is(ValueType::kString)) return Err(TypeError("string", v));
        return Value::Bool(MatchesPattern(v.as_string(), x.pattern));
      }
      case ExprKind::kIs: {
        BULWARK_ASSIGN_OR_RETURN(Value v, Eval(*x.args[0]));
        if (!v.is(ValueType::kEntity)) return Err(TypeError("entity", v));
        if (v.as_entity().type != x.text) return Value::Bool(false);
        if (x.args.size() == 1) return Value::Bool(true);
        BULWARK_ASSIGN_OR_RETURN(Value in, Eval(*x.args[1]));
        return In(v, in);
      }
      case ExprKind::kGetAttribute: {
        Value scratch;
        BULWARK_ASSIGN_OR_RETURN(const Value* v, EvalRef(x, scratch));
        return *v;
      }
      case ExprKind::kMethodCall:
        return EvalMethod(x);
      case ExprKind::kFunctionCall:
        return EvalFunction(x);
      case ExprKind::kSet: {
        ValueSet elements;
        elements.reserve(x.args.size());
        for (const ExprPtr& arg : x.args) {
          BULWARK_ASSIGN_OR_RETURN(Value v, Eval(*arg));
          elements.push_back(std::move(v));
        }
        return Value::Set(std::move(elements));
      }
      case ExprKind::kRecord: {
        ValueRecord fields;
        for (const auto& [key, arg] : x.record) {
          BULWARK_ASSIGN_OR_RETURN(Value v, Eval(*arg));
          fields.emplace(key, std::move(v));
        }
        return Value::Record(std::move(fields));
      }
    }
    return Err(Fail("unknown expression"));
  }

 private:
  Result<bool> Bool(const Expr& x) {
    BULWARK_ASSIGN_OR_RETURN(Value v, Eval(x));
    if (!v.is(ValueType::kBool)) return Err(TypeError("bool", v));
    return v.as_bool();
  }
  Result<int64_t> Long(const Expr& x) {
    BULWARK_ASSIGN_OR_RETURN(Value v, Eval(x));
    if (!v.is(ValueType::kLong)) return Err(TypeError("long", v));
    return v.as_long();
  }

  Result<Value> EvalBinary(const Expr& x) {
    Value scratch_a, scratch_b;
    BULWARK_ASSIGN_OR_RETURN(const Value* pa, EvalRef(*x.args[0], scratch_a));
    BULWARK_ASSIGN_OR_RETURN(const Value* pb, EvalRef(*x.args[1], scratch_b));
    const Value& a = *pa;
    const Value& b = *pb;
    switch (x.op) {
      case BinaryOp::kEq:
        return Value::Bool(a == b);
      case BinaryOp::kNotEq:
        return Value::Bool(a != b);
      case BinaryOp::kIn:
        return In(a, b);
      default:
        break;
    }
    const bool ordering = x.op == BinaryOp::kLess || x.op == BinaryOp::kLessEq ||
                          x.op == BinaryOp::kGreater || x.op == BinaryOp::kGreaterEq;
    if (ordering && (a.is(ValueType::kDatetime) || a.is(ValueType::kDuration))) {
      // datetime and duration order like longs, each against its own type.
      if (!b.is(a.type())) return Err(TypeError(TypeName(a.type()), b));
      return Compare(x.op, a <=> b);
    }
    if (!a.is(ValueType::kLong)) return Err(TypeError("long", a));
    if (!b.is(ValueType::kLong)) return Err(TypeError("long", b));
    const int64_t l = a.as_long(), r = b.as_long();
    if (ordering) return Compare(x.op, l <=> r);
    int64_t out = 0;
    switch (x.op) {
      case BinaryOp::kAdd:
        if (__builtin_add_overflow(l, r, &out)) return Err(Fail("integer overflow"));
        return Value::Long(out);
      case BinaryOp::kSub:
        if (__builtin_sub_overflow(l, r, &out)) return Err(Fail("integer overflow"));
        return Value::Long(out);
      case BinaryOp::kMul:
        if (__builtin_mul_overflow(l, r, &out)) return Err(Fail("integer overflow"));
        return Value::Long(out);
      default:
        break;
    }
    return Err(Fail("unknown operator"));
  }

  static Value Compare(BinaryOp op, std::strong_ordering order) {
    switch (op) {
      case BinaryOp::kLess:
        return Value::Bool(order < 0);
      case BinaryOp::kLessEq:
        return Value::Bool(order <= 0);
      case BinaryOp::kGreater:
        return Value::Bool(order > 0);
      default:
        return Value::Bool(order >= 0);
    }
  }

  // `a in b`: b an entity or a set of entities; true for a itself or an ancestor.
  Result<Value> In(const Value& a, const Value& b) {
    if (!a.is(ValueType::kEntity)) return Err(TypeError("entity", a));
    const EntityUid& uid = a.as_entity();
    auto in_one = [&](const EntityUid& target) {
      return uid == target || entities_.IsAncestor(uid, target);
    };
    if (b.is(ValueType::kEntity)) return Value::Bool(in_one(b.as_entity()));
    if (!b.is(ValueType::kSet)) return Err(TypeError("entity or set of entities", b));
    bool found = false;
    for (const Value& element : b.as_set()) {
      if (!element.is(ValueType::kEntity)) return Err(TypeError("entity", element));
      found = found || in_one(element.as_entity());
    }
    return Value::Bool(found);
  }

  Result<Value> EvalHas(const Expr& x) {
    Value scratch;
    BULWARK_ASSIGN_OR_RETURN(const Value* v, EvalRef(*x.args[0], scratch));
    for (const std::string& name : x.path) {
      const ValueRecord* fields = nullptr;
      if (v->is(ValueType::kEntity)) {
        const Entity* entity = entities_.Find(v->as_entity());
        if (entity == nullptr) return Value::Bool(false);
        fields = &entity->attrs;
      } else if (v->is(ValueType::kRecord)) {
        fields = &v->as_record();
      } else {
        return Err(TypeError("entity or record", *v));
      }
      auto it = fields->find(name);
      if (it == fields->end()) return Value::Bool(false);
      v = &it->second;  // lives in the entity store or in *scratch's record
    }
    return Value::Bool(true);
  }

  // The attribute `name` of an entity or record, where it is stored.
  Result<const Value*> AttributeRef(const Value& v, const std::string& name) {
    if (v.is(ValueType::kEntity)) {
      const Entity* entity = entities_.Find(v.as_entity());
      if (entity == nullptr) {
        return Err(Fail(fmt::format("entity {} does not exist", ToString(v.as_entity()))));
      }
      auto it = entity->attrs.find(name);
      if (it == entity->attrs.end()) {
        return Err(Fail(
            fmt::format("{} does not have the attribute \"{}\"", ToString(v.as_entity()), name)));
      }
      return &it->second;
    }
    if (!v.is(ValueType::kRecord)) return Err(TypeError("entity or record", v));
    auto it = v.as_record().find(name);
    if (it == v.as_record().end()) {
      return Err(Fail(fmt::format("record does not have the attribute \"{}\"", name)));
    }
    return &it->second;
  }

  // The value of `x`, without a copy when it already lives somewhere that
  // outlasts this evaluation (the context, an entity's attribute, or an
  // attribute of either); else evaluated into `scratch`.
  const Value& VariableValue(Variable v) {
    if (v == Variable::kContext) return request_.context;
    const int i = v == Variable::kPrincipal ? 0 : v == Variable::kAction ? 1 : 2;
    if (!variables_[i]) {
      variables_[i] = Value::Entity(i == 0   ? request_.principal
                                    : i == 1 ? request_.action
                                             : request_.resource);
    }
    return *variables_[i];
  }

  Result<const Value*> EvalRef(const Expr& x, Value& scratch) {
    if (x.kind == ExprKind::kVariable) return &VariableValue(x.variable);
    if (x.kind == ExprKind::kGetAttribute) {
      Value base_scratch;
      BULWARK_ASSIGN_OR_RETURN(const Value* base, EvalRef(*x.args[0], base_scratch));
      BULWARK_ASSIGN_OR_RETURN(const Value* attribute, AttributeRef(*base, x.text));
      // An entity's attributes live in the entity store; a record's live in
      // the record, which must not be a temporary of this frame.
      if (base == &base_scratch && base->is(ValueType::kRecord)) {
        scratch = *attribute;
        return &scratch;
      }
      return attribute;
    }
    BULWARK_ASSIGN_OR_RETURN(scratch, Eval(x));
    return &scratch;
  }

  Result<Value> EvalMethod(const Expr& x) {
    // The receiver and at most one argument (the parser checks each
    // method's arity), evaluated without copies where possible.
    if (x.args.empty() || x.args.size() > 2) return Err(Fail("bad method call"));
    Value scratch[2];
    struct {
      const Value* p[2] = {nullptr, nullptr};
      size_t n = 0;
      const Value& operator[](size_t i) const { return *p[i]; }
      size_t size() const { return n; }
    } args;
    for (size_t i = 0; i < x.args.size(); ++i) {
      BULWARK_ASSIGN_OR_RETURN(args.p[i], EvalRef(*x.args[i], scratch[i]));
    }
    args.n = x.args.size();
    const Value& self = args[0];
    const std::string& name = x.text;
    auto arity = [&](size_t n) -> Status {
      if (args.size() != n + 1) {
        return Fail(fmt::format("{} takes {} argument(s), got {}", name, n, args.size() - 1));
      }
      return OkStatus();
    };
    if (name == "contains" || name == "containsAll" || name == "containsAny" || name == "isEmpty") {
      if (!self.is(ValueType::kSet)) return Err(TypeError("set", self));
      const ValueSet& set = self.as_set();
      if (name == "isEmpty") {
        BULWARK_RETURN_IF_ERROR(arity(0));
        return Value::Bool(set.empty());
      }
      BULWARK_RETURN_IF_ERROR(arity(1));
      if (name == "contains") {
        return Value::Bool(std::binary_search(set.begin(), set.end(), args[1]));
      }
      if (!args[1].is(ValueType::kSet)) return Err(TypeError("set", args[1]));
      const ValueSet& other = args[1].as_set();
      auto in_self = [&](const Value& v) { return std::binary_search(set.begin(), set.end(), v); };
      if (name == "containsAll")
        return Value::Bool(std::all_of(other.begin(), other.end(), in_self));
      return Value::Bool(std::any_of(other.begin(), other.end(), in_self));
    }
    if (name == "lessThan" || name == "lessThanOrEqual" || name == "greaterThan" ||
        name == "greaterThanOrEqual") {
      BULWARK_RETURN_IF_ERROR(arity(1));
      if (!self.is(ValueType::kDecimal)) return Err(TypeError("decimal", self));
      if (!args[1].is(ValueType::kDecimal)) return Err(TypeError("decimal", args[1]));
      const auto l = self.as_decimal().scaled, r = args[1].as_decimal().scaled;
      if (name == "lessThan") return Value::Bool(l < r);
      if (name == "lessThanOrEqual") return Value::Bool(l <= r);
      if (name == "greaterThan") return Value::Bool(l > r);
      return Value::Bool(l >= r);
    }
    if (name == "isIpv4" || name == "isIpv6" || name == "isLoopback" || name == "isMulticast" ||
        name == "isInRange") {
      if (!self.is(ValueType::kIpAddr)) return Err(TypeError("ipaddr", self));
      const IpAddr& ip = self.as_ip();
      if (name == "isInRange") {
        BULWARK_RETURN_IF_ERROR(arity(1));
        if (!args[1].is(ValueType::kIpAddr)) return Err(TypeError("ipaddr", args[1]));
        return Value::Bool(IpInRange(ip, args[1].as_ip()));
      }
      BULWARK_RETURN_IF_ERROR(arity(0));
      if (name == "isIpv4") return Value::Bool(ip.v4);
      if (name == "isIpv6") return Value::Bool(!ip.v4);
      if (name == "isLoopback") return Value::Bool(IpIsLoopback(ip));
      return Value::Bool(IpIsMulticast(ip));
    }
    if (name == "offset" || name == "durationSince" || name == "toDate" || name == "toTime") {
      if (!self.is(ValueType::kDatetime)) return Err(TypeError("datetime", self));
      const int64_t ms = self.as_datetime().ms;
      constexpr int64_t kDay = 86'400'000;
      if (name == "toDate" || name == "toTime") {
        BULWARK_RETURN_IF_ERROR(arity(0));
        const int64_t into_day = ((ms % kDay) + kDay) % kDay;  // floor, also before 1970
        if (name == "toTime") return Value::OfDuration({into_day});
        return Value::OfDatetime({ms - into_day});
      }
      BULWARK_RETURN_IF_ERROR(arity(1));
      int64_t out = 0;
      if (name == "offset") {
        if (!args[1].is(ValueType::kDuration)) return Err(TypeError("duration", args[1]));
        if (__builtin_add_overflow(ms, args[1].as_duration().ms, &out)) {
          return Err(Fail("datetime overflow"));
        }
        return Value::OfDatetime({out});
      }
      if (!args[1].is(ValueType::kDatetime)) return Err(TypeError("datetime", args[1]));
      if (__builtin_sub_overflow(ms, args[1].as_datetime().ms, &out)) {
        return Err(Fail("duration overflow"));
      }
      return Value::OfDuration({out});
    }
    if (name == "toMilliseconds" || name == "toSeconds" || name == "toMinutes" ||
        name == "toHours" || name == "toDays") {
      BULWARK_RETURN_IF_ERROR(arity(0));
      if (!self.is(ValueType::kDuration)) return Err(TypeError("duration", self));
      const int64_t unit = name == "toMilliseconds" ? 1
                           : name == "toSeconds"    ? 1'000
                           : name == "toMinutes"    ? 60'000
                           : name == "toHours"      ? 3'600'000
                                                    : 86'400'000;
      return Value::Long(self.as_duration().ms / unit);  // truncates toward zero
    }
    if (name == "getTag" || name == "hasTag") {
      BULWARK_RETURN_IF_ERROR(arity(1));
      if (!self.is(ValueType::kEntity)) return Err(TypeError("entity", self));
      if (!args[1].is(ValueType::kString)) return Err(TypeError("string", args[1]));
      const Entity* entity = entities_.Find(self.as_entity());
      const ValueRecord* tags = entity == nullptr ? nullptr : &entity->tags;
      auto it = tags == nullptr ? ValueRecord::const_iterator{} : tags->find(args[1].as_string());
      const bool found = tags != nullptr && it != tags->end();
      if (name == "hasTag") return Value::Bool(found);
      if (entity == nullptr) {
        return Err(Fail(fmt::format("entity {} does not exist", ToString(self.as_entity()))));
      }
      if (!found) {
        return Err(Fail(fmt::format("{} does not have the tag \"{}\"", ToString(self.as_entity()),
                                    args[1].as_string())));
      }
      return it->second;
    }
    return Err(Fail(fmt::format("unknown method {}", name)));
  }

  Result<Value> EvalFunction(const Expr& x) {
    if (x.args.size() != 1) {
      return Err(Fail(fmt::format("{} takes 1 argument, got {}", x.text, x.args.size())));
    }
    BULWARK_ASSIGN_OR_RETURN(Value arg, Eval(*x.args[0]));
    if (!arg.is(ValueType::kString)) return Err(TypeError("string", arg));
    if (x.text == "ip") {
      BULWARK_ASSIGN_OR_RETURN(IpAddr ip, ParseIpAddr(arg.as_string()));
      return Value::OfIp(ip);
    }
    if (x.text == "datetime") {
      BULWARK_ASSIGN_OR_RETURN(Datetime d, ParseDatetime(arg.as_string()));
      return Value::OfDatetime(d);
    }
    if (x.text == "duration") {
      BULWARK_ASSIGN_OR_RETURN(Duration d, ParseDuration(arg.as_string()));
      return Value::OfDuration(d);
    }
    if (x.text != "decimal") {
      return Err(Fail(fmt::format("unknown extension function {}", x.text)));
    }
    BULWARK_ASSIGN_OR_RETURN(Decimal d, ParseDecimal(arg.as_string()));
    return Value::OfDecimal(d);
  }

  const Request& request_;
  EntityLookup& entities_;
  // principal, action and resource as values, made on first use: most
  // expressions read them, and a decision evaluates many expressions.
  std::optional<Value> variables_[3];
};

bool InScope(const ScopeConstraint& scope, const EntityUid& uid, EntityLookup& entities) {
  const bool hashed = scope.entity_hashes.size() == scope.entities.size();
  auto in_at = [&](size_t i) {
    const EntityUid& target = scope.entities[i];
    if (uid == target) return true;
    return hashed ? entities.IsAncestor(uid, target, scope.entity_hashes[i])
                  : entities.IsAncestor(uid, target);
  };
  switch (scope.op) {
    case ScopeConstraint::Op::kAll:
      return true;
    case ScopeConstraint::Op::kEq:
      return !scope.entities.empty() && uid == scope.entities[0];
    case ScopeConstraint::Op::kIn:
      for (size_t i = 0; i < scope.entities.size(); ++i) {
        if (in_at(i)) return true;
      }
      return false;
    case ScopeConstraint::Op::kIs:
      return SameText(uid.type, scope.entity_type);
    case ScopeConstraint::Op::kIsIn:
      return SameText(uid.type, scope.entity_type) && !scope.entities.empty() && in_at(0);
  }
  return false;
}

}  // namespace

Result<Value> Evaluate(const Expr& expr, const Request& request, const Entities& entities) {
  EntityLookup lookup(request, entities);
  return Evaluator(lookup).Eval(expr);
}

const Entity* EntityLookup::Find(const EntityUid& uid) {
  // Compare ids first: they differ sooner than types.
  auto same = [](const EntityUid& a, const EntityUid& b) { return &a == &b || a == b; };
  if (same(uid, request_.principal)) return Cached(0, request_.principal);
  if (same(uid, request_.resource)) return Cached(1, request_.resource);
  if (same(uid, request_.action)) return Cached(2, request_.action);
  return entities_.Find(uid);
}

bool MatchesPattern(std::string_view text, const std::vector<PatternElement>& pattern) {
  // Literals between wildcards, left to right: a literal right after a
  // wildcard may start anywhere (the leftmost match leaves the most room for
  // the rest), except the last one of a pattern that does not end in a
  // wildcard, which must end the text. No allocation.
  size_t pos = 0;
  bool after_wildcard = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const PatternElement& e = pattern[i];
    if (e.wildcard) {
      after_wildcard = true;
      continue;
    }
    const std::string_view literal = e.text;
    if (!after_wildcard) {
      if (text.substr(pos, literal.size()) != literal) return false;
      pos += literal.size();
    } else if (i + 1 == pattern.size()) {
      return text.size() - pos >= literal.size() && text.ends_with(literal);
    } else {
      const size_t found = text.find(literal, pos);
      if (found == std::string_view::npos) return false;
      pos = found + literal.size();
    }
    after_wildcard = false;
  }
  return after_wildcard || pos == text.size();
}

namespace {

Status FillSlot(ScopeConstraint& scope, const std::optional<EntityUid>& value,
                std::string_view slot, const std::string& link) {
  if (scope.slot != value.has_value()) {
    return InvalidArgumentError(fmt::format("link {}: the template {} {}", link,
                                            scope.slot ? "needs a value for" : "has no slot",
                                            slot));
  }
  if (scope.slot) {
    scope.slot = false;
    scope.entities = {*value};
  }
  return OkStatus();
}

Policy CopyPolicy(const Policy& p) {
  Policy copy;
  copy.id = p.id;
  copy.location = p.location;
  copy.annotations = p.annotations;
  copy.effect = p.effect;
  copy.principal = p.principal;
  copy.action = p.action;
  copy.resource = p.resource;
  for (const Condition& c : p.conditions) copy.conditions.push_back({c.when, c.expr});
  return copy;
}

}  // namespace

Result<std::vector<Policy>> LinkTemplates(const std::vector<Policy>& parsed,
                                          const std::vector<TemplateLink>& links) {
  std::vector<Policy> out;
  std::set<std::string, std::less<>> ids;
  for (const Policy& p : parsed) {
    ids.insert(p.id);
    if (!p.is_template()) out.push_back(CopyPolicy(p));
  }
  for (const TemplateLink& link : links) {
    auto it = std::find_if(parsed.begin(), parsed.end(),
                           [&](const Policy& p) { return p.id == link.template_id; });
    if (it == parsed.end() || !it->is_template()) {
      return Err(InvalidArgumentError(
          fmt::format("link {}: no template \"{}\"", link.new_id, link.template_id)));
    }
    if (!ids.insert(link.new_id).second) {
      return Err(InvalidArgumentError(
          fmt::format("link {}: the policy id is already taken", link.new_id)));
    }
    Policy linked = CopyPolicy(*it);
    linked.id = link.new_id;
    BULWARK_RETURN_IF_ERROR(FillSlot(linked.principal, link.principal, "?principal", link.new_id));
    BULWARK_RETURN_IF_ERROR(FillSlot(linked.resource, link.resource, "?resource", link.new_id));
    out.push_back(std::move(linked));
  }
  return out;
}

void AuthorizeInto(const std::vector<const Policy*>& candidates, EntityLookup& entities,
                   Decision& decision) {
  const Request& request = entities.request();
  std::vector<std::string> permits, forbids;
  Evaluator evaluator(entities);
  for (const Policy* policy : candidates) {
    if (policy->is_template()) continue;
    if (!InScope(policy->principal, request.principal, entities) ||
        !InScope(policy->action, request.action, entities) ||
        !InScope(policy->resource, request.resource, entities)) {
      continue;
    }
    bool satisfied = true;
    for (const Condition& condition : policy->conditions) {
      Result<Value> v = evaluator.Eval(*condition.expr);
      if (v && !v->is(ValueType::kBool)) v = Err(TypeError("bool", *v));
      if (!v) {
        decision.errors.push_back({policy->id, v.error().message()});
        satisfied = false;
        break;
      }
      if (v->as_bool() != condition.when) {
        satisfied = false;
        break;
      }
    }
    if (!satisfied) continue;
    (policy->effect == Effect::kPermit ? permits : forbids).push_back(policy->id);
  }
  if (!forbids.empty()) {
    decision.reasons = std::move(forbids);
  } else if (!permits.empty()) {
    decision.allow = true;
    decision.reasons = std::move(permits);
  }
}

Decision Authorize(const std::vector<Policy>& policies, const Request& request,
                   const Entities& entities) {
  std::vector<const Policy*> all;
  all.reserve(policies.size());
  for (const Policy& p : policies) all.push_back(&p);
  Decision decision;
  EntityLookup lookup(request, entities);
  AuthorizeInto(all, lookup, decision);
  return decision;
}

}  // namespace bulwark::policy::cedar

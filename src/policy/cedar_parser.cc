#include "policy/cedar_parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "policy/cedar_lexer.h"

namespace bulwark::policy::cedar {

namespace {

constexpr std::string_view kReserved[] = {"true", "false", "if",   "then", "else",
                                          "in",   "is",    "like", "has"};

bool IsReserved(std::string_view name) {
  return std::find(std::begin(kReserved), std::end(kReserved), name) != std::end(kReserved) ||
         name.starts_with("__cedar");
}

// The methods and extension functions Cedar defines, with their argument
// counts (a method's receiver not counted). Anything else is a syntax error.
constexpr std::pair<std::string_view, size_t> kMethods[] = {
    {"contains", 1},      {"containsAll", 1},
    {"containsAny", 1},   {"isEmpty", 0},
    {"getTag", 1},        {"hasTag", 1},
    {"lessThan", 1},      {"lessThanOrEqual", 1},
    {"greaterThan", 1},   {"greaterThanOrEqual", 1},
    {"isIpv4", 0},        {"isIpv6", 0},
    {"isLoopback", 0},    {"isMulticast", 0},
    {"isInRange", 1},     {"offset", 1},
    {"durationSince", 1}, {"toDate", 0},
    {"toTime", 0},        {"toMilliseconds", 0},
    {"toSeconds", 0},     {"toMinutes", 0},
    {"toHours", 0},       {"toDays", 0},
};
constexpr std::pair<std::string_view, size_t> kFunctions[] = {
    {"ip", 1}, {"decimal", 1}, {"datetime", 1}, {"duration", 1}};

template <size_t N>
std::optional<size_t> ArityOf(const std::pair<std::string_view, size_t> (&table)[N],
                              std::string_view name) {
  for (const auto& [n, arity] : table) {
    if (n == name) return arity;
  }
  return std::nullopt;
}

std::optional<Variable> VariableNamed(std::string_view name) {
  if (name == "principal") return Variable::kPrincipal;
  if (name == "action") return Variable::kAction;
  if (name == "resource") return Variable::kResource;
  if (name == "context") return Variable::kContext;
  return std::nullopt;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<std::vector<Policy>> Policies() {
    std::vector<Policy> policies;
    std::set<std::string, std::less<>> ids;
    while (!AtEnd()) {
      BULWARK_ASSIGN_OR_RETURN(Policy policy, ParsePolicy());
      if (policy.id.empty()) policy.id = fmt::format("policy{}", policies.size());
      if (!ids.insert(policy.id).second) {
        return Err(ErrorAt(policy.location, fmt::format("duplicate policy id \"{}\"", policy.id)));
      }
      policies.push_back(std::move(policy));
    }
    return policies;
  }

  Result<ExprPtr> StandaloneExpression() {
    BULWARK_ASSIGN_OR_RETURN(ExprPtr expr, ParseExpr());
    if (!AtEnd()) return Err(Unexpected("the end of the expression"));
    return expr;
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  bool AtEnd() const { return Peek().kind == TokenKind::kEnd; }
  bool IsPunct(std::string_view p, size_t ahead = 0) const {
    return Peek(ahead).kind == TokenKind::kPunct && Peek(ahead).text == p;
  }
  bool IsWord(std::string_view w, size_t ahead = 0) const {
    return Peek(ahead).kind == TokenKind::kIdentifier && Peek(ahead).text == w;
  }
  const Token& Next() {
    const Token& t = Peek();
    if (!AtEnd()) ++pos_;
    return t;
  }
  bool TakePunct(std::string_view p) {
    if (!IsPunct(p)) return false;
    ++pos_;
    return true;
  }
  bool TakeWord(std::string_view w) {
    if (!IsWord(w)) return false;
    ++pos_;
    return true;
  }

  static Status ErrorAt(SourceLocation at, std::string_view what) {
    return InvalidArgumentError(fmt::format("{}:{}: {}", at.line, at.column, what));
  }
  Status Unexpected(std::string_view expected) const {
    const Token& t = Peek();
    std::string found = t.kind == TokenKind::kEnd      ? "the end of the input"
                        : t.kind == TokenKind::kString ? fmt::format("\"{}\"", t.text)
                                                       : fmt::format("'{}'", t.text);
    return ErrorAt(t.location, fmt::format("expected {}, found {}", expected, found));
  }
  Status ExpectPunct(std::string_view p) {
    if (TakePunct(p)) return OkStatus();
    return Unexpected(fmt::format("'{}'", p));
  }

  Result<std::string> Identifier(std::string_view what) {
    const Token& t = Peek();
    if (t.kind != TokenKind::kIdentifier) return Err(Unexpected(what));
    if (IsReserved(t.text)) {
      return Err(
          ErrorAt(t.location, fmt::format("'{}' is reserved and cannot be {}", t.text, what)));
    }
    ++pos_;
    return std::string(t.text);
  }

  Result<std::string> StringLiteral(std::string_view what) {
    const Token& t = Peek();
    if (t.kind != TokenKind::kString) return Err(Unexpected(what));
    ++pos_;
    auto value = Unescape(t.text);
    if (!value) return Err(ErrorAt(t.location, value.error().message()));
    return std::move(*value);
  }

  Result<Policy> ParsePolicy() {
    Policy policy;
    policy.location = Peek().location;
    while (IsPunct("@")) {
      const SourceLocation at = Next().location;
      BULWARK_ASSIGN_OR_RETURN(std::string key, AnnotationKey());
      std::string value;
      if (TakePunct("(")) {
        BULWARK_ASSIGN_OR_RETURN(value, StringLiteral("an annotation value"));
        BULWARK_RETURN_IF_ERROR(ExpectPunct(")"));
      }
      for (const auto& [k, v] : policy.annotations) {
        if (k == key) return Err(ErrorAt(at, fmt::format("duplicate annotation @{}", key)));
      }
      if (key == "id") policy.id = value;
      policy.annotations.emplace_back(std::move(key), std::move(value));
    }
    if (TakeWord("permit")) {
      policy.effect = Effect::kPermit;
    } else if (TakeWord("forbid")) {
      policy.effect = Effect::kForbid;
    } else {
      return Err(Unexpected("'permit' or 'forbid'"));
    }
    BULWARK_RETURN_IF_ERROR(ExpectPunct("("));
    BULWARK_ASSIGN_OR_RETURN(policy.principal, ParseScope("principal", "?principal"));
    BULWARK_RETURN_IF_ERROR(ExpectPunct(","));
    BULWARK_ASSIGN_OR_RETURN(policy.action, ParseActionScope());
    BULWARK_RETURN_IF_ERROR(ExpectPunct(","));
    BULWARK_ASSIGN_OR_RETURN(policy.resource, ParseScope("resource", "?resource"));
    BULWARK_RETURN_IF_ERROR(ExpectPunct(")"));
    while (IsWord("when") || IsWord("unless")) {
      Condition condition;
      condition.when = Next().text == "when";
      BULWARK_RETURN_IF_ERROR(ExpectPunct("{"));
      BULWARK_ASSIGN_OR_RETURN(ExprPtr expr, ParseExpr());
      condition.expr = std::move(expr);
      BULWARK_RETURN_IF_ERROR(ExpectPunct("}"));
      policy.conditions.push_back(std::move(condition));
    }
    BULWARK_RETURN_IF_ERROR(ExpectPunct(";"));
    return policy;
  }

  // Annotation keys may be any identifier, reserved words included.
  Result<std::string> AnnotationKey() {
    if (Peek().kind != TokenKind::kIdentifier) return Err(Unexpected("an annotation name"));
    return std::string(Next().text);
  }

  // Path '::' STR, the path's parts joined by "::".
  Result<EntityUid> EntityReference() {
    EntityUid uid;
    BULWARK_ASSIGN_OR_RETURN(uid.type, Identifier("an entity type"));
    while (TakePunct("::")) {
      if (Peek().kind == TokenKind::kString) {
        BULWARK_ASSIGN_OR_RETURN(uid.id, StringLiteral("an entity id"));
        return uid;
      }
      BULWARK_ASSIGN_OR_RETURN(std::string part, Identifier("an entity type"));
      uid.type += "::" + part;
    }
    return Err(Unexpected("'::' and an entity id"));
  }

  Result<std::string> TypePath() {
    BULWARK_ASSIGN_OR_RETURN(std::string path, Identifier("an entity type"));
    while (IsPunct("::") && Peek(1).kind == TokenKind::kIdentifier) {
      ++pos_;
      BULWARK_ASSIGN_OR_RETURN(std::string part, Identifier("an entity type"));
      path += "::" + part;
    }
    return path;
  }

  // An entity, or the slot `slot` of a template.
  Status ScopeEntity(ScopeConstraint& scope, std::string_view slot) {
    if (Peek().kind == TokenKind::kSlot) {
      if (Peek().text != slot) {
        return ErrorAt(Peek().location,
                       fmt::format("expected the slot {} here, found {}", slot, Peek().text));
      }
      ++pos_;
      scope.slot = true;
      return OkStatus();
    }
    BULWARK_ASSIGN_OR_RETURN(EntityUid uid, EntityReference());
    scope.entities.push_back(std::move(uid));
    return OkStatus();
  }

  Result<ScopeConstraint> ParseScope(std::string_view variable, std::string_view slot) {
    if (!TakeWord(variable)) return Err(Unexpected(fmt::format("'{}'", variable)));
    ScopeConstraint scope;
    if (TakePunct("==")) {
      scope.op = ScopeConstraint::Op::kEq;
      BULWARK_RETURN_IF_ERROR(ScopeEntity(scope, slot));
    } else if (TakeWord("in")) {
      scope.op = ScopeConstraint::Op::kIn;
      BULWARK_RETURN_IF_ERROR(ScopeEntity(scope, slot));
    } else if (TakeWord("is")) {
      scope.op = ScopeConstraint::Op::kIs;
      BULWARK_ASSIGN_OR_RETURN(scope.entity_type, TypePath());
      if (TakeWord("in")) {
        scope.op = ScopeConstraint::Op::kIsIn;
        BULWARK_RETURN_IF_ERROR(ScopeEntity(scope, slot));
      }
    }
    return scope;
  }

  Result<ScopeConstraint> ParseActionScope() {
    if (!TakeWord("action")) return Err(Unexpected("'action'"));
    ScopeConstraint scope;
    if (TakePunct("==")) {
      scope.op = ScopeConstraint::Op::kEq;
      BULWARK_ASSIGN_OR_RETURN(EntityUid uid, EntityReference());
      scope.entities.push_back(std::move(uid));
    } else if (TakeWord("in")) {
      scope.op = ScopeConstraint::Op::kIn;
      if (TakePunct("[")) {
        scope.action_list = true;
        while (!IsPunct("]")) {
          BULWARK_ASSIGN_OR_RETURN(EntityUid uid, EntityReference());
          scope.entities.push_back(std::move(uid));
          if (!TakePunct(",")) break;
        }
        BULWARK_RETURN_IF_ERROR(ExpectPunct("]"));
      } else {
        BULWARK_ASSIGN_OR_RETURN(EntityUid uid, EntityReference());
        scope.entities.push_back(std::move(uid));
      }
    } else if (IsWord("is")) {
      return Err(ErrorAt(Peek().location, "'is' is not allowed on the action"));
    }
    return scope;
  }

  // Counts nesting on the way down; refuses past kMaxNesting.
  struct DepthGuard {
    explicit DepthGuard(int& depth) : depth_(depth) { ++depth_; }
    ~DepthGuard() { --depth_; }
    int& depth_;
  };
  Status CheckDepth() const {
    if (depth_ > kMaxNesting) {
      return ErrorAt(Peek().location,
                     fmt::format("expression nested deeper than {} levels", kMaxNesting));
    }
    return OkStatus();
  }

  static ExprPtr Node(ExprKind kind, SourceLocation at) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->location = at;
    return e;
  }
  // Sets e's height from its children; refuses a tree past the bound.
  static Result<ExprPtr> Seal(ExprPtr e) {
    uint32_t height = 0;
    for (const ExprPtr& arg : e->args) height = std::max(height, arg->height);
    for (const auto& [key, value] : e->record) height = std::max(height, value->height);
    e->height = height + 1;
    if (e->height > kMaxExpressionHeight) {
      return Err(ErrorAt(e->location,
                         fmt::format("expression deeper than {} levels", kMaxExpressionHeight)));
    }
    return e;
  }
  static Result<ExprPtr> Binary(ExprKind kind, BinaryOp op, ExprPtr lhs, ExprPtr rhs) {
    ExprPtr e = Node(kind, lhs->location);
    e->op = op;
    e->args.push_back(std::move(lhs));
    e->args.push_back(std::move(rhs));
    return Seal(std::move(e));
  }

  Result<ExprPtr> ParseExpr() {
    DepthGuard guard(depth_);
    BULWARK_RETURN_IF_ERROR(CheckDepth());
    if (IsWord("if")) {
      ExprPtr e = Node(ExprKind::kIfThenElse, Next().location);
      BULWARK_ASSIGN_OR_RETURN(ExprPtr cond, ParseExpr());
      if (!TakeWord("then")) return Err(Unexpected("'then'"));
      BULWARK_ASSIGN_OR_RETURN(ExprPtr then, ParseExpr());
      if (!TakeWord("else")) return Err(Unexpected("'else'"));
      BULWARK_ASSIGN_OR_RETURN(ExprPtr otherwise, ParseExpr());
      e->args.push_back(std::move(cond));
      e->args.push_back(std::move(then));
      e->args.push_back(std::move(otherwise));
      return Seal(std::move(e));
    }
    BULWARK_ASSIGN_OR_RETURN(ExprPtr lhs, ParseAnd());
    while (TakePunct("||")) {
      BULWARK_ASSIGN_OR_RETURN(ExprPtr rhs, ParseAnd());
      BULWARK_ASSIGN_OR_RETURN(
          lhs, Binary(ExprKind::kOr, BinaryOp::kEq, std::move(lhs), std::move(rhs)));
    }
    return lhs;
  }

  Result<ExprPtr> ParseAnd() {
    BULWARK_ASSIGN_OR_RETURN(ExprPtr lhs, ParseRelation());
    while (TakePunct("&&")) {
      BULWARK_ASSIGN_OR_RETURN(ExprPtr rhs, ParseRelation());
      BULWARK_ASSIGN_OR_RETURN(
          lhs, Binary(ExprKind::kAnd, BinaryOp::kEq, std::move(lhs), std::move(rhs)));
    }
    return lhs;
  }

  Result<ExprPtr> ParseRelation() {
    BULWARK_ASSIGN_OR_RETURN(ExprPtr lhs, ParseAdd());
    static constexpr std::pair<std::string_view, BinaryOp> kOps[] = {
        {"==", BinaryOp::kEq},     {"!=", BinaryOp::kNotEq},  {"<", BinaryOp::kLess},
        {"<=", BinaryOp::kLessEq}, {">", BinaryOp::kGreater}, {">=", BinaryOp::kGreaterEq}};
    for (const auto& [text, op] : kOps) {
      if (TakePunct(text)) {
        BULWARK_ASSIGN_OR_RETURN(ExprPtr rhs, ParseAdd());
        return Binary(ExprKind::kBinary, op, std::move(lhs), std::move(rhs));
      }
    }
    if (TakeWord("in")) {
      BULWARK_ASSIGN_OR_RETURN(ExprPtr rhs, ParseAdd());
      return Binary(ExprKind::kBinary, BinaryOp::kIn, std::move(lhs), std::move(rhs));
    }
    if (TakeWord("has")) {
      ExprPtr e = Node(ExprKind::kHas, lhs->location);
      if (Peek().kind == TokenKind::kString) {
        BULWARK_ASSIGN_OR_RETURN(std::string name, StringLiteral("an attribute name"));
        e->path.push_back(std::move(name));
      } else {
        do {
          BULWARK_ASSIGN_OR_RETURN(std::string name, Identifier("an attribute name"));
          e->path.push_back(std::move(name));
        } while (TakePunct("."));
      }
      e->args.push_back(std::move(lhs));
      return Seal(std::move(e));
    }
    if (IsWord("like")) {
      ++pos_;
      const Token& t = Peek();
      if (t.kind != TokenKind::kString) return Err(Unexpected("a pattern string"));
      ++pos_;
      auto pattern = ParsePattern(t.text);
      if (!pattern) return Err(ErrorAt(t.location, pattern.error().message()));
      ExprPtr e = Node(ExprKind::kLike, lhs->location);
      e->pattern = std::move(*pattern);
      e->args.push_back(std::move(lhs));
      return Seal(std::move(e));
    }
    if (TakeWord("is")) {
      ExprPtr e = Node(ExprKind::kIs, lhs->location);
      BULWARK_ASSIGN_OR_RETURN(e->text, TypePath());
      e->args.push_back(std::move(lhs));
      if (TakeWord("in")) {
        BULWARK_ASSIGN_OR_RETURN(ExprPtr in, ParseAdd());
        e->args.push_back(std::move(in));
      }
      return Seal(std::move(e));
    }
    return lhs;
  }

  Result<ExprPtr> ParseAdd() {
    BULWARK_ASSIGN_OR_RETURN(ExprPtr lhs, ParseMul());
    while (IsPunct("+") || IsPunct("-")) {
      const BinaryOp op = Next().text == "+" ? BinaryOp::kAdd : BinaryOp::kSub;
      BULWARK_ASSIGN_OR_RETURN(ExprPtr rhs, ParseMul());
      BULWARK_ASSIGN_OR_RETURN(lhs, Binary(ExprKind::kBinary, op, std::move(lhs), std::move(rhs)));
    }
    return lhs;
  }

  Result<ExprPtr> ParseMul() {
    BULWARK_ASSIGN_OR_RETURN(ExprPtr lhs, ParseUnary());
    while (TakePunct("*")) {
      BULWARK_ASSIGN_OR_RETURN(ExprPtr rhs, ParseUnary());
      BULWARK_ASSIGN_OR_RETURN(
          lhs, Binary(ExprKind::kBinary, BinaryOp::kMul, std::move(lhs), std::move(rhs)));
    }
    return lhs;
  }

  Result<ExprPtr> ParseUnary() {
    // One kind of unary operator, at most four times: `!!x` and `--x`, but
    // not `!-x`.
    std::vector<const Token*> ops;
    while (IsPunct("!") || IsPunct("-")) {
      if (!ops.empty() && Peek().text != ops[0]->text) {
        return Err(ErrorAt(Peek().location, "'!' and '-' cannot be mixed"));
      }
      ops.push_back(&Next());
    }
    if (ops.size() > 4) return Err(ErrorAt(ops[4]->location, "more than four unary operators"));
    ExprPtr e;
    // A '-' right before an integer literal is part of it, so that
    // -9223372036854775808 is a value.
    if (!ops.empty() && ops.back()->text == "-" && Peek().kind == TokenKind::kInteger) {
      BULWARK_ASSIGN_OR_RETURN(e, IntegerLiteral(/*negative=*/true, ops.back()->location));
      ops.pop_back();
      BULWARK_ASSIGN_OR_RETURN(e, ParseAccesses(std::move(e)));
    } else {
      BULWARK_ASSIGN_OR_RETURN(e, ParseMember());
    }
    for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
      ExprPtr op = Node((*it)->text == "!" ? ExprKind::kNot : ExprKind::kNegate, (*it)->location);
      op->args.push_back(std::move(e));
      BULWARK_ASSIGN_OR_RETURN(e, Seal(std::move(op)));
    }
    return e;
  }

  Result<ExprPtr> IntegerLiteral(bool negative, SourceLocation at) {
    const Token& t = Next();
    uint64_t magnitude = 0;
    auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), magnitude);
    constexpr uint64_t kMaxPositive = static_cast<uint64_t>(INT64_MAX);
    if (ec != std::errc() || magnitude > kMaxPositive + (negative ? 1 : 0)) {
      return Err(ErrorAt(t.location,
                         fmt::format("integer {}{} is out of range", negative ? "-" : "", t.text)));
    }
    ExprPtr e = Node(ExprKind::kLong, at);
    e->integer = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
    return e;
  }

  Result<ExprPtr> ParseMember() {
    BULWARK_ASSIGN_OR_RETURN(ExprPtr e, ParsePrimary());
    return ParseAccesses(std::move(e));
  }

  Result<ExprPtr> ParseAccesses(ExprPtr e) {
    while (true) {
      if (TakePunct(".")) {
        const SourceLocation at = Peek().location;
        BULWARK_ASSIGN_OR_RETURN(std::string name, Identifier("an attribute or method name"));
        if (TakePunct("(")) {
          const std::optional<size_t> arity = ArityOf(kMethods, name);
          if (!arity) return Err(ErrorAt(at, fmt::format("unknown method '{}'", name)));
          ExprPtr call = Node(ExprKind::kMethodCall, at);
          call->text = std::move(name);
          call->args.push_back(std::move(e));
          BULWARK_RETURN_IF_ERROR(ParseList(")", call->args));
          if (call->args.size() != *arity + 1) {
            return Err(ErrorAt(at, fmt::format("{} takes {} argument(s), not {}", call->text,
                                               *arity, call->args.size() - 1)));
          }
          BULWARK_ASSIGN_OR_RETURN(e, Seal(std::move(call)));
        } else {
          ExprPtr get = Node(ExprKind::kGetAttribute, at);
          get->text = std::move(name);
          get->args.push_back(std::move(e));
          BULWARK_ASSIGN_OR_RETURN(e, Seal(std::move(get)));
        }
      } else if (IsPunct("[")) {
        const SourceLocation at = Next().location;
        ExprPtr get = Node(ExprKind::kGetAttribute, at);
        BULWARK_ASSIGN_OR_RETURN(get->text, StringLiteral("an attribute name string"));
        BULWARK_RETURN_IF_ERROR(ExpectPunct("]"));
        get->args.push_back(std::move(e));
        BULWARK_ASSIGN_OR_RETURN(e, Seal(std::move(get)));
      } else {
        return e;
      }
    }
  }

  // Expressions separated by commas (a trailing comma allowed) up to `close`.
  Status ParseList(std::string_view close, std::vector<ExprPtr>& out) {
    while (!IsPunct(close)) {
      BULWARK_ASSIGN_OR_RETURN(ExprPtr item, ParseExpr());
      out.push_back(std::move(item));
      if (!TakePunct(",")) break;
    }
    return ExpectPunct(close);
  }

  Result<ExprPtr> ParsePrimary() {
    DepthGuard guard(depth_);
    BULWARK_RETURN_IF_ERROR(CheckDepth());
    const Token& t = Peek();
    switch (t.kind) {
      case TokenKind::kInteger:
        return IntegerLiteral(/*negative=*/false, t.location);
      case TokenKind::kString: {
        ExprPtr e = Node(ExprKind::kString, t.location);
        BULWARK_ASSIGN_OR_RETURN(e->text, StringLiteral("a string"));
        return e;
      }
      case TokenKind::kSlot:
        return Err(
            ErrorAt(t.location, fmt::format("the slot {} may appear only in the scope", t.text)));
      case TokenKind::kEnd:
        return Err(Unexpected("an expression"));
      case TokenKind::kPunct:
        break;
      case TokenKind::kIdentifier: {
        if (t.text == "true" || t.text == "false") {
          ExprPtr e = Node(ExprKind::kBool, Next().location);
          e->boolean = t.text == "true";
          return e;
        }
        if (auto variable = VariableNamed(t.text); variable && !IsPunct("::", 1)) {
          ExprPtr e = Node(ExprKind::kVariable, Next().location);
          e->variable = *variable;
          return e;
        }
        if (IsPunct("::", 1) && Peek(2).kind == TokenKind::kString) {
          ExprPtr e = Node(ExprKind::kEntity, t.location);
          BULWARK_ASSIGN_OR_RETURN(e->uid, EntityReference());
          return e;
        }
        const SourceLocation at = t.location;
        BULWARK_ASSIGN_OR_RETURN(std::string path, TypePath());
        if (IsPunct("::") && Peek(1).kind == TokenKind::kString) {
          ++pos_;
          ExprPtr e = Node(ExprKind::kEntity, at);
          e->uid.type = std::move(path);
          BULWARK_ASSIGN_OR_RETURN(e->uid.id, StringLiteral("an entity id"));
          return Seal(std::move(e));
        }
        if (TakePunct("(")) {
          const std::optional<size_t> arity = ArityOf(kFunctions, path);
          if (!arity) return Err(ErrorAt(at, fmt::format("unknown function '{}'", path)));
          ExprPtr e = Node(ExprKind::kFunctionCall, at);
          e->text = std::move(path);
          BULWARK_RETURN_IF_ERROR(ParseList(")", e->args));
          if (e->args.size() != *arity) {
            return Err(ErrorAt(at, fmt::format("{} takes {} argument(s), not {}", e->text, *arity,
                                               e->args.size())));
          }
          return Seal(std::move(e));
        }
        return Err(ErrorAt(at, fmt::format("unknown identifier '{}'", path)));
      }
    }
    if (TakePunct("(")) {
      BULWARK_ASSIGN_OR_RETURN(ExprPtr e, ParseExpr());
      BULWARK_RETURN_IF_ERROR(ExpectPunct(")"));
      return Seal(std::move(e));
    }
    if (IsPunct("[")) {
      ExprPtr e = Node(ExprKind::kSet, Next().location);
      BULWARK_RETURN_IF_ERROR(ParseList("]", e->args));
      return Seal(std::move(e));
    }
    if (IsPunct("{")) {
      ExprPtr e = Node(ExprKind::kRecord, Next().location);
      while (!IsPunct("}")) {
        const SourceLocation at = Peek().location;
        std::string key;
        if (Peek().kind == TokenKind::kString) {
          BULWARK_ASSIGN_OR_RETURN(key, StringLiteral("a record key"));
        } else {
          BULWARK_ASSIGN_OR_RETURN(key, Identifier("a record key"));
        }
        for (const auto& [k, v] : e->record) {
          if (k == key) return Err(ErrorAt(at, fmt::format("duplicate record key \"{}\"", key)));
        }
        BULWARK_RETURN_IF_ERROR(ExpectPunct(":"));
        BULWARK_ASSIGN_OR_RETURN(ExprPtr value, ParseExpr());
        e->record.emplace_back(std::move(key), std::move(value));
        if (!TakePunct(",")) break;
      }
      BULWARK_RETURN_IF_ERROR(ExpectPunct("}"));
      return Seal(std::move(e));
    }
    return Err(Unexpected("an expression"));
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<std::vector<Policy>> ParsePolicies(std::string_view text) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(text));
  return Parser(std::move(tokens)).Policies();
}

Result<ExprPtr> ParseExpression(std::string_view text) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(text));
  return Parser(std::move(tokens)).StandaloneExpression();
}

Result<EntityUid> ParseEntityUid(std::string_view text) {
  auto expr = ParseExpression(text);
  if (!expr || (*expr)->kind != ExprKind::kEntity) {
    return Err(InvalidArgumentError("expected an entity such as User::\"alice\""));
  }
  return std::move((*expr)->uid);
}

}  // namespace bulwark::policy::cedar

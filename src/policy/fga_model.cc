#include "policy/fga_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <set>
#include <utility>

namespace bulwark::policy::fga {

namespace {

constexpr size_t kMaxNameLength = 50;
constexpr int kMaxDepth = 32;  // parentheses in one definition

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// A `#` at the start of a line or after whitespace begins a comment (a `#`
// inside a word is the userset separator of group#member).
std::string_view StripComment(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || IsSpace(line[i - 1]))) return line.substr(0, i);
  }
  return line;
}

Status LineError(size_t line, std::string_view what) {
  return InvalidArgumentError(fmt::format("line {}: {}", line, what));
}

// The words and punctuation of a relation definition.
class DefinitionParser {
 public:
  DefinitionParser(std::string_view text, size_t line) : text_(text), line_(line) {}

  Result<Rewrite> Parse() {
    BULWARK_ASSIGN_OR_RETURN(Rewrite r, Expression(0));
    SkipSpace();
    if (pos_ != text_.size()) return Err(Error(fmt::format("unexpected `{}`", text_.substr(pos_))));
    return r;
  }

 private:
  Status Error(std::string_view what) const { return LineError(line_, what); }

  void SkipSpace() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
  }

  // The next word (up to whitespace or punctuation), not consumed.
  std::string_view PeekWord() {
    SkipSpace();
    size_t end = pos_;
    while (end < text_.size() && !IsSpace(text_[end]) && text_[end] != '(' && text_[end] != ')' &&
           text_[end] != '[' && text_[end] != ']' && text_[end] != ',') {
      ++end;
    }
    return text_.substr(pos_, end - pos_);
  }

  std::string_view Word() {
    std::string_view w = PeekWord();
    pos_ += w.size();
    return w;
  }

  bool Punct(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  // term ( (or term)+ | (and term)+ | but not term )?
  Result<Rewrite> Expression(int depth) {
    if (depth > kMaxDepth) return Err(Error("definition nested too deeply"));
    BULWARK_ASSIGN_OR_RETURN(Rewrite first, Term(depth));
    const std::string_view op = PeekWord();
    if (op == "but") {
      Word();
      if (Word() != "not") return Err(Error("expected `not` after `but`"));
      BULWARK_ASSIGN_OR_RETURN(Rewrite subtract, Term(depth));
      Rewrite out{.kind = Rewrite::Kind::kExclusion};
      out.children.push_back(std::move(first));
      out.children.push_back(std::move(subtract));
      if (const std::string_view next = PeekWord(); !next.empty()) {
        return Err(Error(fmt::format("`{}` after `but not`: use parentheses", next)));
      }
      return out;
    }
    if (op != "or" && op != "and") return first;
    Rewrite out{.kind = op == "or" ? Rewrite::Kind::kUnion : Rewrite::Kind::kIntersection};
    out.children.push_back(std::move(first));
    while (PeekWord() == op) {
      Word();
      BULWARK_ASSIGN_OR_RETURN(Rewrite next, Term(depth));
      out.children.push_back(std::move(next));
    }
    if (const std::string_view next = PeekWord(); !next.empty()) {
      return Err(
          Error(fmt::format("`{}` after `{}`: mixing operators needs parentheses", next, op)));
    }
    return out;
  }

  // [restrictions] | (expression) | relation | relation from tupleset
  Result<Rewrite> Term(int depth) {
    if (Punct('(')) {
      BULWARK_ASSIGN_OR_RETURN(Rewrite inner, Expression(depth + 1));
      if (!Punct(')')) return Err(Error("expected `)`"));
      return inner;
    }
    if (Punct('[')) return Direct();
    const std::string_view name = Word();
    if (name.empty()) return Err(Error("expected a relation, `[` or `(`"));
    if (!IsName(name) || name == "or" || name == "and" || name == "but" || name == "from") {
      return Err(Error(fmt::format("`{}` is not a relation name", name)));
    }
    if (PeekWord() == "from") {
      Word();
      const std::string_view tupleset = Word();
      if (!IsName(tupleset)) return Err(Error("expected a relation after `from`"));
      return Rewrite{.kind = Rewrite::Kind::kTupleToUserset,
                     .relation = std::string(name),
                     .tupleset = std::string(tupleset)};
    }
    return Rewrite{.kind = Rewrite::Kind::kComputed, .relation = std::string(name)};
  }

  Result<Rewrite> Direct() {
    Rewrite out{.kind = Rewrite::Kind::kDirect};
    while (true) {
      const std::string_view entry = Word();
      if (entry.empty()) return Err(Error("expected a type in `[...]`"));
      TypeRestriction r;
      if (const size_t colon = entry.find(':'); colon != std::string_view::npos) {
        if (entry.substr(colon) != ":*") return Err(Error(fmt::format("bad type `{}`", entry)));
        r.type = entry.substr(0, colon);
        r.wildcard = true;
      } else if (const size_t hash = entry.find('#'); hash != std::string_view::npos) {
        r.type = entry.substr(0, hash);
        r.relation = entry.substr(hash + 1);
        if (!IsName(r.relation)) return Err(Error(fmt::format("bad userset `{}`", entry)));
      } else {
        r.type = entry;
      }
      if (!IsName(r.type)) return Err(Error(fmt::format("bad type `{}`", entry)));
      if (PeekWord() == "with") {
        Word();
        const std::string_view condition = Word();
        if (!IsName(condition)) return Err(Error("expected a condition name after `with`"));
        r.condition = condition;
      }
      if (std::find(out.direct.begin(), out.direct.end(), r) != out.direct.end()) {
        return Err(Error(fmt::format("`{}` is listed twice", entry)));
      }
      out.direct.push_back(std::move(r));
      if (Punct(',')) continue;
      if (Punct(']')) return out;
      return Err(Error("expected `,` or `]`"));
    }
  }

  std::string_view text_;
  size_t line_;
  size_t pos_ = 0;
};

void CollectDirect(const Rewrite& r, std::vector<TypeRestriction>& out) {
  if (r.kind == Rewrite::Kind::kDirect) {
    for (const TypeRestriction& t : r.direct) {
      if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
    }
  }
  for (const Rewrite& c : r.children) CollectDirect(c, out);
}

}  // namespace

bool IsName(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameLength) return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    return IsSpace(c) || c == ':' || c == '#' || c == '@' || c == '[' || c == ']' || c == '(' ||
           c == ')' || c == ',' || c == '{' || c == '}' || c == '\n';
  });
}

bool AllowedBy(const std::vector<TypeRestriction>& restrictions, std::string_view type,
               bool wildcard, std::string_view relation, std::string_view condition) {
  return std::any_of(restrictions.begin(), restrictions.end(), [&](const TypeRestriction& r) {
    return r.type == type && r.wildcard == wildcard && r.relation == relation &&
           r.condition == condition;
  });
}

const RelationDef* TypeDef::Find(std::string_view relation) const {
  for (const RelationDef& r : relations) {
    if (r.name == relation) return &r;
  }
  return nullptr;
}

Result<Model> Model::Parse(std::string_view dsl) {
  std::vector<std::pair<size_t, std::string_view>> lines;  // (number, text without comment)
  size_t number = 0;
  while (!dsl.empty()) {
    ++number;
    const size_t nl = dsl.find('\n');
    const std::string_view raw = dsl.substr(0, nl);
    dsl = nl == std::string_view::npos ? std::string_view() : dsl.substr(nl + 1);
    // Condition bodies keep their text (CEL has no `#` comments to strip).
    lines.emplace_back(number, raw);
  }
  Model model;
  size_t i = 0;
  auto next_content = [&]() -> bool {
    while (i < lines.size() && Trim(StripComment(lines[i].second)).empty()) ++i;
    return i < lines.size();
  };
  if (!next_content() || Trim(StripComment(lines[i].second)) != "model") {
    return Err(LineError(i < lines.size() ? lines[i].first : number, "expected `model`"));
  }
  ++i;
  if (!next_content()) return Err(LineError(number, "expected `schema 1.1`"));
  {
    const std::string_view schema = Trim(StripComment(lines[i].second));
    if (!schema.starts_with("schema ") || Trim(schema.substr(7)) != "1.1") {
      return Err(LineError(lines[i].first, "only `schema 1.1` is supported"));
    }
    ++i;
  }
  TypeDef* type = nullptr;
  bool in_relations = false;
  while (next_content()) {
    const size_t line = lines[i].first;
    const std::string_view text = Trim(StripComment(lines[i].second));
    ++i;
    if (text.starts_with("type ") || text == "type") {
      const std::string_view name = Trim(text.substr(4));
      if (!IsName(name)) return Err(LineError(line, "expected a type name"));
      if (model.type_index_.contains(name)) {
        return Err(LineError(line, fmt::format("type `{}` is defined twice", name)));
      }
      model.type_index_.emplace(std::string(name), model.types_.size());
      model.types_.push_back(TypeDef{.name = std::string(name)});
      type = &model.types_.back();
      in_relations = false;
    } else if (text == "relations") {
      if (type == nullptr || in_relations) return Err(LineError(line, "unexpected `relations`"));
      in_relations = true;
    } else if (text.starts_with("define ")) {
      if (!in_relations) return Err(LineError(line, "`define` outside a type's relations"));
      const std::string_view rest = text.substr(7);
      const size_t colon = rest.find(':');
      if (colon == std::string_view::npos)
        return Err(LineError(line, "expected `define name: ...`"));
      const std::string_view name = Trim(rest.substr(0, colon));
      if (!IsName(name)) return Err(LineError(line, "expected a relation name"));
      if (type->Find(name) != nullptr) {
        return Err(LineError(
            line, fmt::format("relation `{}` of `{}` is defined twice", name, type->name)));
      }
      BULWARK_ASSIGN_OR_RETURN(Rewrite rewrite,
                               DefinitionParser(rest.substr(colon + 1), line).Parse());
      RelationDef relation{.name = std::string(name), .rewrite = std::move(rewrite)};
      CollectDirect(relation.rewrite, relation.directly_related);
      type->relations.push_back(std::move(relation));
    } else if (text.starts_with("condition ")) {
      type = nullptr;
      in_relations = false;
      const size_t open = text.find('(');
      const size_t close = text.find(')');
      if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
        return Err(LineError(line, "expected `condition name(param: type, ...) {`"));
      }
      ConditionDef condition;
      condition.name = Trim(text.substr(10, open - 10));
      if (!IsName(condition.name)) return Err(LineError(line, "expected a condition name"));
      if (model.condition_index_.contains(condition.name)) {
        return Err(LineError(line, fmt::format("condition `{}` is defined twice", condition.name)));
      }
      std::string_view params = text.substr(open + 1, close - open - 1);
      std::set<std::string, std::less<>> seen;
      while (!Trim(params).empty()) {
        // Commas inside map<...>/list<...> do not separate parameters.
        size_t end = 0;
        int angle = 0;
        while (end < params.size() && !(params[end] == ',' && angle == 0)) {
          if (params[end] == '<') ++angle;
          if (params[end] == '>') --angle;
          ++end;
        }
        const std::string_view param = Trim(params.substr(0, end));
        params = end < params.size() ? params.substr(end + 1) : std::string_view();
        const size_t pc = param.find(':');
        if (pc == std::string_view::npos) {
          return Err(LineError(line, fmt::format("parameter `{}` needs a type", param)));
        }
        ConditionParam p{std::string(Trim(param.substr(0, pc))),
                         std::string(Trim(param.substr(pc + 1)))};
        if (!IsName(p.name) || !cel::IsParamType(p.type)) {
          return Err(LineError(line, fmt::format("bad parameter `{}`", param)));
        }
        if (!seen.insert(p.name).second) {
          return Err(LineError(line, fmt::format("parameter `{}` appears twice", p.name)));
        }
        condition.params.push_back(std::move(p));
      }
      // The body: from after the `{` to its matching `}`, over lines.
      std::string body;
      std::string_view rest = lines[i - 1].second;
      rest = rest.substr(rest.find(')', rest.find('(')) + 1);
      const size_t brace = rest.find('{');
      if (brace == std::string_view::npos) return Err(LineError(line, "expected `{`"));
      rest = rest.substr(brace + 1);
      int depth = 1;
      size_t body_line = line;
      while (true) {
        for (size_t k = 0; k < rest.size(); ++k) {
          if (rest[k] == '{') ++depth;
          if (rest[k] == '}' && --depth == 0) {
            body += rest.substr(0, k);
            if (!Trim(rest.substr(k + 1)).empty()) {
              return Err(LineError(body_line, "text after the condition's `}`"));
            }
            rest = {};
            break;
          }
        }
        if (depth == 0) break;
        body += rest;
        body += '\n';
        if (i >= lines.size()) return Err(LineError(line, "unterminated condition"));
        body_line = lines[i].first;
        rest = lines[i].second;
        ++i;
      }
      std::string_view expression = body;
      while (!expression.empty() && (IsSpace(expression.front()) || expression.front() == '\n')) {
        expression.remove_prefix(1);
      }
      while (!expression.empty() && (IsSpace(expression.back()) || expression.back() == '\n')) {
        expression.remove_suffix(1);
      }
      condition.expression = std::string(expression);
      if (condition.expression.empty()) {
        return Err(
            LineError(line, fmt::format("condition `{}` has no expression", condition.name)));
      }
      auto program = cel::Program::Compile(condition.expression);
      if (!program) {
        return Err(LineError(
            line, fmt::format("condition `{}`: {}", condition.name, program.error().message())));
      }
      for (const std::string& id : program->identifiers()) {
        if (std::none_of(condition.params.begin(), condition.params.end(),
                         [&](const ConditionParam& p) { return p.name == id; })) {
          return Err(
              LineError(line, fmt::format("condition `{}` reads `{}`, which is not a parameter",
                                          condition.name, id)));
        }
      }
      condition.program = std::make_shared<const cel::Program>(std::move(*program));
      model.condition_index_.emplace(condition.name, model.conditions_.size());
      model.conditions_.push_back(std::move(condition));
    } else {
      return Err(LineError(line, fmt::format("unexpected `{}`", text)));
    }
  }
  BULWARK_RETURN_IF_ERROR(model.Validate());
  return model;
}

const TypeDef* Model::FindType(std::string_view type) const {
  auto it = type_index_.find(type);
  return it == type_index_.end() ? nullptr : &types_[it->second];
}

const RelationDef* Model::FindRelation(std::string_view type, std::string_view relation) const {
  const TypeDef* t = FindType(type);
  return t == nullptr ? nullptr : t->Find(relation);
}

const ConditionDef* Model::FindCondition(std::string_view name) const {
  auto it = condition_index_.find(name);
  return it == condition_index_.end() ? nullptr : &conditions_[it->second];
}

Status Model::Validate() const {
  auto fail = [](const TypeDef& t, const RelationDef& r, std::string_view what) {
    return InvalidArgumentError(fmt::format("relation `{}#{}`: {}", t.name, r.name, what));
  };
  // Names used by each rewrite exist, and tuplesets are direct relations.
  for (const TypeDef& t : types_) {
    for (const RelationDef& r : t.relations) {
      std::vector<const Rewrite*> stack = {&r.rewrite};
      while (!stack.empty()) {
        const Rewrite& w = *stack.back();
        stack.pop_back();
        for (const Rewrite& c : w.children) stack.push_back(&c);
        switch (w.kind) {
          case Rewrite::Kind::kDirect:
            for (const TypeRestriction& x : w.direct) {
              if (FindType(x.type) == nullptr) {
                return fail(t, r, fmt::format("type `{}` is not defined", x.type));
              }
              if (!x.relation.empty() && FindRelation(x.type, x.relation) == nullptr) {
                return fail(t, r,
                            fmt::format("relation `{}#{}` is not defined", x.type, x.relation));
              }
              if (!x.condition.empty() && FindCondition(x.condition) == nullptr) {
                return fail(t, r, fmt::format("condition `{}` is not defined", x.condition));
              }
            }
            break;
          case Rewrite::Kind::kComputed:
            if (t.Find(w.relation) == nullptr) {
              return fail(t, r,
                          fmt::format("relation `{}` is not defined on `{}`", w.relation, t.name));
            }
            break;
          case Rewrite::Kind::kTupleToUserset: {
            const RelationDef* tupleset = t.Find(w.tupleset);
            if (tupleset == nullptr) {
              return fail(t, r,
                          fmt::format("relation `{}` is not defined on `{}`", w.tupleset, t.name));
            }
            if (tupleset->rewrite.kind != Rewrite::Kind::kDirect) {
              return fail(t, r,
                          fmt::format("`{}` in `{} from {}` must be a directly assigned relation",
                                      w.tupleset, w.relation, w.tupleset));
            }
            bool defined = false;
            for (const TypeRestriction& x : tupleset->directly_related) {
              if (!x.relation.empty()) {
                return fail(t, r,
                            fmt::format("`{}` in `from {}` may not allow usersets such as `{}#{}`",
                                        w.tupleset, w.tupleset, x.type, x.relation));
              }
              defined = defined || FindRelation(x.type, w.relation) != nullptr;
            }
            if (!defined) {
              return fail(t, r,
                          fmt::format("no type that `{}` allows defines relation `{}`", w.tupleset,
                                      w.relation));
            }
            break;
          }
          default:
            break;
        }
      }
    }
  }
  // Every relation has an entry point: some tuple can satisfy it. A fixpoint
  // over all relations (definitions may refer to each other in cycles).
  std::set<std::pair<std::string_view, std::string_view>> entry;
  auto has = [&](std::string_view type, std::string_view relation) {
    return entry.contains({type, relation});
  };
  std::function<bool(const TypeDef&, const Rewrite&)> reaches = [&](const TypeDef& t,
                                                                    const Rewrite& w) -> bool {
    switch (w.kind) {
      case Rewrite::Kind::kDirect:
        return std::any_of(w.direct.begin(), w.direct.end(), [&](const TypeRestriction& x) {
          return x.relation.empty() || has(x.type, x.relation);
        });
      case Rewrite::Kind::kComputed:
        return has(t.name, w.relation);
      case Rewrite::Kind::kTupleToUserset: {
        const RelationDef* tupleset = t.Find(w.tupleset);
        return std::any_of(tupleset->directly_related.begin(), tupleset->directly_related.end(),
                           [&](const TypeRestriction& x) { return has(x.type, w.relation); });
      }
      case Rewrite::Kind::kUnion:
        return std::any_of(w.children.begin(), w.children.end(),
                           [&](const Rewrite& c) { return reaches(t, c); });
      case Rewrite::Kind::kIntersection:
        return std::all_of(w.children.begin(), w.children.end(),
                           [&](const Rewrite& c) { return reaches(t, c); });
      case Rewrite::Kind::kExclusion:
        return reaches(t, w.children[0]);
    }
    return false;
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (const TypeDef& t : types_) {
      for (const RelationDef& r : t.relations) {
        if (!has(t.name, r.name) && reaches(t, r.rewrite)) {
          entry.insert({t.name, r.name});
          changed = true;
        }
      }
    }
  }
  for (const TypeDef& t : types_) {
    for (const RelationDef& r : t.relations) {
      if (!has(t.name, r.name)) {
        return fail(t, r, "no tuple can ever satisfy it (it is defined only through itself)");
      }
    }
  }
  return OkStatus();
}

}  // namespace bulwark::policy::fga

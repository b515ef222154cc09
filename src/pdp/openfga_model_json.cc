#include "pdp/openfga_model_json.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "policy/cel_value.h"

namespace bulwark::pdp {

namespace {

namespace json = boost::json;
namespace fga = policy::fga;

constexpr int kMaxDepth = 64;

Status Bad(std::string_view where, std::string_view what) {
  return InvalidArgumentError(fmt::format("{}: {}", where, what));
}

const json::object* Object(const json::value* v) { return v != nullptr ? v->if_object() : nullptr; }

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// A name the DSL can hold as it is (no spaces, brackets, ...).
bool Plain(const std::string& s) { return fga::IsName(s); }

// "TYPE_NAME_INT" -> "int"; generics as list<T>, map<T>.
Result<std::string> ParamType(const json::object& p, std::string_view where) {
  std::string name = Str(p, "type_name");
  if (!name.starts_with("TYPE_NAME_")) return Err(Bad(where, "expected a type_name"));
  std::string t = name.substr(10);
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "list" || t == "map") {
    const json::value* g = p.if_contains("generic_types");
    if (g == nullptr || !g->is_array() || g->get_array().size() != 1 ||
        !g->get_array()[0].is_object()) {
      return Err(Bad(where, "list and map take one generic type"));
    }
    BULWARK_ASSIGN_OR_RETURN(std::string inner, ParamType(g->get_array()[0].get_object(), where));
    return fmt::format("{}<{}>", t, inner);
  }
  // Only the names CEL parameters take (nothing else reaches the DSL).
  if (!policy::cel::IsParamType(t)) return Err(Bad(where, "unknown parameter type " + name));
  return t;
}

class Writer {
 public:
  Result<std::string> Userset(const json::value& v, const json::object* metadata,
                              std::string_view where, int depth, bool nested) {
    if (depth > kMaxDepth) return Err(Bad(where, "nests too deeply"));
    const json::object* o = v.if_object();
    if (o == nullptr || o->size() != 1) return Err(Bad(where, "expected one userset"));
    const auto& [kind, body] = *o->begin();
    const json::object* b = body.if_object();
    if (b == nullptr) return Err(Bad(where, "expected an object"));
    if (kind == "this") return Direct(metadata, where);
    if (kind == "computedUserset") {
      std::string r = Str(*b, "relation");
      if (!Plain(r)) return Err(Bad(where, "computedUserset needs a relation"));
      return r;
    }
    if (kind == "tupleToUserset") {
      const json::object* ts = Object(b->if_contains("tupleset"));
      const json::object* cu = Object(b->if_contains("computedUserset"));
      if (ts == nullptr || cu == nullptr || !Plain(Str(*ts, "relation")) ||
          !Plain(Str(*cu, "relation"))) {
        return Err(Bad(where, "tupleToUserset needs tupleset and computedUserset relations"));
      }
      return fmt::format("{} from {}", Str(*cu, "relation"), Str(*ts, "relation"));
    }
    std::string out;
    if (kind == "union" || kind == "intersection") {
      const json::value* children = b->if_contains("child");
      if (children == nullptr || !children->is_array() || children->get_array().empty()) {
        return Err(Bad(where, fmt::format("{} needs children", kind)));
      }
      for (const json::value& c : children->get_array()) {
        BULWARK_ASSIGN_OR_RETURN(std::string part, Userset(c, metadata, where, depth + 1, true));
        if (!out.empty()) out += kind == "union" ? " or " : " and ";
        out += part;
      }
    } else if (kind == "difference") {
      const json::value* base = b->if_contains("base");
      const json::value* subtract = b->if_contains("subtract");
      if (base == nullptr || subtract == nullptr) {
        return Err(Bad(where, "difference needs base and subtract"));
      }
      BULWARK_ASSIGN_OR_RETURN(std::string x, Userset(*base, metadata, where, depth + 1, true));
      BULWARK_ASSIGN_OR_RETURN(std::string y, Userset(*subtract, metadata, where, depth + 1, true));
      out = x + " but not " + y;
    } else {
      return Err(Bad(where, fmt::format("unknown userset `{}`", std::string(kind))));
    }
    return nested ? "(" + out + ")" : out;
  }

 private:
  static Result<std::string> Direct(const json::object* metadata, std::string_view where) {
    const json::value* types =
        metadata != nullptr ? metadata->if_contains("directly_related_user_types") : nullptr;
    if (types == nullptr || !types->is_array() || types->get_array().empty()) {
      return Err(Bad(where, "`this` needs directly_related_user_types in the metadata"));
    }
    std::string out = "[";
    for (const json::value& t : types->get_array()) {
      const json::object* r = t.if_object();
      if (r == nullptr || !Plain(Str(*r, "type"))) return Err(Bad(where, "bad related type"));
      if (out.size() > 1) out += ", ";
      out += Str(*r, "type");
      if (r->contains("wildcard")) {
        out += ":*";
      } else if (const std::string rel = Str(*r, "relation"); !rel.empty()) {
        if (!Plain(rel)) return Err(Bad(where, "bad related relation"));
        out += "#" + rel;
      }
      if (const std::string c = Str(*r, "condition"); !c.empty()) {
        if (!Plain(c)) return Err(Bad(where, "bad condition name"));
        out += " with " + c;
      }
    }
    return out + "]";
  }
};

json::object UsersetJson(const fga::Rewrite& w) {
  switch (w.kind) {
    case fga::Rewrite::Kind::kDirect:
      return json::object{{"this", json::object{}}};
    case fga::Rewrite::Kind::kComputed:
      return json::object{{"computedUserset", json::object{{"relation", w.relation}}}};
    case fga::Rewrite::Kind::kTupleToUserset:
      return json::object{
          {"tupleToUserset",
           json::object{{"tupleset", json::object{{"relation", w.tupleset}}},
                        {"computedUserset", json::object{{"relation", w.relation}}}}}};
    case fga::Rewrite::Kind::kUnion:
    case fga::Rewrite::Kind::kIntersection: {
      json::array children;
      for (const fga::Rewrite& c : w.children) children.push_back(UsersetJson(c));
      return json::object{{w.kind == fga::Rewrite::Kind::kUnion ? "union" : "intersection",
                           json::object{{"child", std::move(children)}}}};
    }
    case fga::Rewrite::Kind::kExclusion:
      return json::object{{"difference", json::object{{"base", UsersetJson(w.children[0])},
                                                      {"subtract", UsersetJson(w.children[1])}}}};
  }
  return {};
}

json::object TypeNameJson(std::string_view type) {
  for (std::string_view generic : {"list<", "map<"}) {
    if (type.starts_with(generic) && type.ends_with('>')) {
      std::string name = generic == "list<" ? "TYPE_NAME_LIST" : "TYPE_NAME_MAP";
      return json::object{
          {"type_name", name},
          {"generic_types", json::array{TypeNameJson(
                                type.substr(generic.size(), type.size() - generic.size() - 1))}}};
    }
  }
  std::string upper(type);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return json::object{{"type_name", "TYPE_NAME_" + upper}};
}

}  // namespace

Result<std::string> DslFromModelJson(const json::value& model) {
  const json::object* m = model.if_object();
  if (m == nullptr) return Err(InvalidArgumentError("expected a JSON model"));
  const std::string version = Str(*m, "schema_version");
  if (version != "1.1") {
    return Err(InvalidArgumentError("schema_version: only 1.1 is supported"));
  }
  const json::value* types = m->if_contains("type_definitions");
  if (types == nullptr || !types->is_array()) {
    return Err(InvalidArgumentError("type_definitions: expected a list"));
  }
  std::string dsl = "model\n  schema 1.1\n";
  Writer writer;
  for (const json::value& t : types->get_array()) {
    const json::object* td = t.if_object();
    if (td == nullptr || !Plain(Str(*td, "type"))) {
      return Err(InvalidArgumentError("type_definitions: each needs a type"));
    }
    const std::string type = Str(*td, "type");
    dsl += "\ntype " + type + "\n";
    const json::object* relations = Object(td->if_contains("relations"));
    if (relations == nullptr || relations->empty()) continue;
    const json::object* meta = Object(td->if_contains("metadata"));
    const json::object* meta_relations =
        meta != nullptr ? Object(meta->if_contains("relations")) : nullptr;
    dsl += "  relations\n";
    for (const auto& [name, userset] : *relations) {
      const std::string relation(name);
      if (!Plain(relation))
        return Err(InvalidArgumentError(fmt::format("{}: bad relation name", type)));
      const json::object* rm =
          meta_relations != nullptr ? Object(meta_relations->if_contains(relation)) : nullptr;
      BULWARK_ASSIGN_OR_RETURN(
          std::string expr,
          writer.Userset(userset, rm, fmt::format("{}#{}", type, relation), 0, false));
      dsl += fmt::format("    define {}: {}\n", relation, expr);
    }
  }
  if (const json::object* conditions = Object(m->if_contains("conditions"))) {
    for (const auto& [name, c] : *conditions) {
      const json::object* cd = c.if_object();
      const std::string cname(name);
      if (cd == nullptr || !Plain(cname))
        return Err(InvalidArgumentError("conditions: bad condition"));
      std::string params;
      if (const json::object* ps = Object(cd->if_contains("parameters"))) {
        for (const auto& [pname, p] : *ps) {
          const json::object* po = p.if_object();
          if (po == nullptr || !Plain(std::string(pname))) {
            return Err(InvalidArgumentError(fmt::format("condition {}: bad parameter", cname)));
          }
          BULWARK_ASSIGN_OR_RETURN(std::string ptype,
                                   ParamType(*po, fmt::format("condition {}", cname)));
          if (!params.empty()) params += ", ";
          params += std::string(pname) + ": " + ptype;
        }
      }
      const std::string expression = Str(*cd, "expression");
      // The expression goes between the condition's braces: its own braces
      // must balance, so it cannot close the condition and add to the model.
      int depth = 0;
      for (char ch : expression) {
        depth += ch == '{' ? 1 : ch == '}' ? -1 : 0;
        if (depth < 0) break;
      }
      if (expression.empty() || depth != 0) {
        return Err(InvalidArgumentError(fmt::format("condition {}: bad expression", cname)));
      }
      dsl += fmt::format("\ncondition {}({}) {{\n  {}\n}}\n", cname, params, expression);
    }
  }
  return dsl;
}

json::object ModelToJson(const fga::Model& model, const std::string& id) {
  json::array types;
  for (const fga::TypeDef& t : model.types()) {
    json::object relations, meta_relations;
    for (const fga::RelationDef& r : t.relations) {
      relations[r.name] = UsersetJson(r.rewrite);
      json::array related;
      for (const fga::TypeRestriction& x : r.directly_related) {
        json::object one{{"type", x.type}};
        if (x.wildcard) one["wildcard"] = json::object{};
        if (!x.relation.empty()) one["relation"] = x.relation;
        if (!x.condition.empty()) one["condition"] = x.condition;
        related.push_back(std::move(one));
      }
      meta_relations[r.name] = json::object{{"directly_related_user_types", std::move(related)}};
    }
    json::object def{{"type", t.name}, {"relations", std::move(relations)}};
    def["metadata"] = json::object{{"relations", std::move(meta_relations)}};
    types.push_back(std::move(def));
  }
  json::object conditions;
  for (const fga::ConditionDef& c : model.conditions()) {
    json::object params;
    for (const fga::ConditionParam& p : c.params) params[p.name] = TypeNameJson(p.type);
    conditions[c.name] = json::object{
        {"name", c.name}, {"expression", c.expression}, {"parameters", std::move(params)}};
  }
  return json::object{{"id", id},
                      {"schema_version", "1.1"},
                      {"type_definitions", std::move(types)},
                      {"conditions", std::move(conditions)}};
}

}  // namespace bulwark::pdp

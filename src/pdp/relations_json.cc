#include "pdp/relations_json.h"

#include <fmt/format.h>

#include <boost/json.hpp>

namespace bulwark::pdp {

namespace json = boost::json;
namespace fga = policy::fga;

Result<std::string> StringField(const json::object& o, std::string_view field) {
  const json::value* v = o.if_contains(field);
  if (v == nullptr || !v->is_string() || v->get_string().empty()) {
    return Err(InvalidArgumentError(fmt::format("{}: expected a non-empty string", field)));
  }
  return std::string(v->get_string());
}

Result<policy::cel::Activation> ContextFromJson(const json::value* v) {
  if (v == nullptr || v->is_null()) return policy::cel::Activation{};
  if (!v->is_object()) return Err(InvalidArgumentError("context: expected an object"));
  auto context = policy::cel::ContextFromJson(json::serialize(*v));
  if (!context) return Err(InvalidArgumentError("context: " + context.error().message()));
  return std::move(*context);
}

Result<fga::TupleKey> TupleFromJson(const json::value* v, std::string_view field) {
  if (v == nullptr || !v->is_object()) {
    return Err(InvalidArgumentError(
        fmt::format("{}: expected {{\"user\", \"relation\", \"object\"}}", field)));
  }
  const json::object& o = v->get_object();
  auto in = [&](const Status& s) {
    return Err(InvalidArgumentError(fmt::format("{}: {}", field, s.message())));
  };
  fga::TupleKey t;
  auto user = StringField(o, "user");
  if (!user) return in(user.error());
  auto relation = StringField(o, "relation");
  if (!relation) return in(relation.error());
  auto object = StringField(o, "object");
  if (!object) return in(object.error());
  auto parsed_user = fga::ParseUser(*user);
  if (!parsed_user) return in(parsed_user.error());
  auto parsed_object = fga::ParseObject(*object);
  if (!parsed_object) return in(parsed_object.error());
  t.user = std::move(*parsed_user);
  t.object = std::move(*parsed_object);
  t.relation = std::move(*relation);
  if (const json::value* c = o.if_contains("condition")) {
    if (!c->is_object())
      return in(InvalidArgumentError("condition: expected {\"name\", \"context\"}"));
    auto name = StringField(c->get_object(), "name");
    if (!name) return in(name.error());
    t.condition = std::move(*name);
    auto context = ContextFromJson(c->get_object().if_contains("context"));
    if (!context) return in(context.error());
    if (!context->empty()) {
      t.context = std::make_shared<const policy::cel::Activation>(std::move(*context));
    }
  }
  return t;
}

json::object TupleToJson(const fga::TupleKey& t) {
  json::object out{{"user", fga::ToString(t.user)},
                   {"relation", t.relation},
                   {"object", fga::ToString(t.object)}};
  if (!t.condition.empty()) {
    json::object condition{{"name", t.condition}};
    if (t.context != nullptr) {
      condition["context"] = json::parse(policy::cel::ContextToJson(*t.context));
    }
    out["condition"] = std::move(condition);
  }
  return out;
}

Result<std::vector<fga::TupleKey>> TuplesFromJson(const json::value* v, std::string_view field) {
  std::vector<fga::TupleKey> out;
  if (v == nullptr || v->is_null()) return out;
  if (v->is_object()) {  // OpenFGA's {"tuple_keys": [...]}
    return TuplesFromJson(v->get_object().if_contains("tuple_keys"),
                          fmt::format("{}.tuple_keys", field));
  }
  if (!v->is_array()) return Err(InvalidArgumentError(fmt::format("{}: expected a list", field)));
  size_t i = 0;
  for (const json::value& item : v->get_array()) {
    BULWARK_ASSIGN_OR_RETURN(fga::TupleKey t,
                             TupleFromJson(&item, fmt::format("{}[{}]", field, i)));
    out.push_back(std::move(t));
    ++i;
  }
  return out;
}

Result<std::vector<fga::TupleKey>> ContextualTuplesFromJson(const json::value* v) {
  return TuplesFromJson(v, "contextual_tuples");
}

Result<fga::ObjectRef> ObjectFromJson(const json::value* v, std::string_view field) {
  if (v != nullptr && v->is_string()) {
    auto object = fga::ParseObject(v->get_string());
    if (!object)
      return Err(InvalidArgumentError(fmt::format("{}: {}", field, object.error().message())));
    return std::move(*object);
  }
  if (v != nullptr && v->is_object()) {
    auto type = StringField(v->get_object(), "type");
    auto id = StringField(v->get_object(), "id");
    if (type && id) {
      const json::value text(*type + ":" + *id);
      return ObjectFromJson(&text, field);
    }
  }
  return Err(
      InvalidArgumentError(fmt::format("{}: expected \"type:id\" or {{\"type\", \"id\"}}", field)));
}

Result<std::vector<std::string>> UserFiltersFromJson(const json::value* v) {
  if (v == nullptr || !v->is_array() || v->get_array().empty()) {
    return Err(InvalidArgumentError("user_filters: expected a non-empty list"));
  }
  std::vector<std::string> out;
  for (const json::value& f : v->get_array()) {
    if (f.is_string() && !f.get_string().empty()) {
      out.emplace_back(f.get_string());
      continue;
    }
    if (!f.is_object())
      return Err(InvalidArgumentError("user_filters: expected {\"type\", \"relation\"?}"));
    auto type = StringField(f.get_object(), "type");
    if (!type) return Err(InvalidArgumentError("user_filters: " + type.error().message()));
    std::string filter = std::move(*type);
    if (const json::value* r = f.get_object().if_contains("relation")) {
      if (!r->is_string())
        return Err(InvalidArgumentError("user_filters: relation must be a string"));
      if (!r->get_string().empty()) filter += "#" + std::string(r->get_string());
    }
    out.push_back(std::move(filter));
  }
  return out;
}

std::string JoinPath(const std::vector<std::string>& path) {
  std::string out;
  for (const std::string& step : path) out += (out.empty() ? "" : "; ") + step;
  return out;
}

}  // namespace bulwark::pdp

#include "policy/fga_tuple.h"

#include <fmt/format.h>

#include <algorithm>

namespace bulwark::policy::fga {

namespace {

constexpr size_t kMaxIdLength = 256;

bool IsId(std::string_view s) {
  return !s.empty() && s.size() <= kMaxIdLength && std::none_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '#';
  });
}

}  // namespace

Result<ObjectRef> ParseObject(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Err(InvalidArgumentError(fmt::format("object `{}`: expected type:id", text)));
  }
  ObjectRef out{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
  if (!IsName(out.type) || !IsId(out.id) || out.id == "*") {
    return Err(InvalidArgumentError(fmt::format("object `{}`: expected type:id", text)));
  }
  return out;
}

Result<UserRef> ParseUser(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Err(InvalidArgumentError(
        fmt::format("user `{}`: expected type:id, type:* or type:id#relation", text)));
  }
  UserRef out;
  out.type = text.substr(0, colon);
  std::string_view rest = text.substr(colon + 1);
  if (const size_t hash = rest.find('#'); hash != std::string_view::npos) {
    out.relation = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
    if (!IsName(out.relation)) {
      return Err(InvalidArgumentError(fmt::format("user `{}`: bad userset relation", text)));
    }
  }
  out.id = rest;
  if (!IsName(out.type) || !IsId(out.id) || (out.wildcard() && !out.relation.empty())) {
    return Err(InvalidArgumentError(
        fmt::format("user `{}`: expected type:id, type:* or type:id#relation", text)));
  }
  return out;
}

std::string ToString(const ObjectRef& object) { return object.type + ":" + object.id; }

std::string ToString(const UserRef& user) {
  std::string out = user.type + ":" + user.id;
  if (!user.relation.empty()) out += "#" + user.relation;
  return out;
}

Status ValidateTuple(const Model& model, const TupleKey& tuple) {
  const std::string what = fmt::format("tuple ({}, {}, {})", ToString(tuple.user), tuple.relation,
                                       ToString(tuple.object));
  if (model.FindType(tuple.object.type) == nullptr) {
    return InvalidArgumentError(
        fmt::format("{}: type `{}` is not in the model", what, tuple.object.type));
  }
  const RelationDef* relation = model.FindRelation(tuple.object.type, tuple.relation);
  if (relation == nullptr) {
    return InvalidArgumentError(
        fmt::format("{}: `{}` has no relation `{}`", what, tuple.object.type, tuple.relation));
  }
  if (model.FindType(tuple.user.type) == nullptr) {
    return InvalidArgumentError(
        fmt::format("{}: type `{}` is not in the model", what, tuple.user.type));
  }
  if (!tuple.condition.empty() && model.FindCondition(tuple.condition) == nullptr) {
    return InvalidArgumentError(
        fmt::format("{}: condition `{}` is not in the model", what, tuple.condition));
  }
  if (!AllowedBy(relation->directly_related, tuple.user, tuple.condition)) {
    return InvalidArgumentError(
        fmt::format("{}: `{}#{}` does not allow {}{}{}", what, tuple.object.type, tuple.relation,
                    tuple.user.wildcard()         ? tuple.user.type + ":*"
                    : tuple.user.relation.empty() ? tuple.user.type
                                                  : tuple.user.type + "#" + tuple.user.relation,
                    tuple.condition.empty() ? "" : " with ", tuple.condition));
  }
  if (tuple.context != nullptr && !tuple.context->empty()) {
    const ConditionDef* condition = model.FindCondition(tuple.condition);
    if (condition == nullptr) {
      return InvalidArgumentError(fmt::format("{}: a context needs a condition", what));
    }
    for (const auto& [name, value] : *tuple.context) {
      auto param = std::find_if(condition->params.begin(), condition->params.end(),
                                [&](const ConditionParam& p) { return p.name == name; });
      if (param == condition->params.end()) {
        return InvalidArgumentError(
            fmt::format("{}: condition `{}` has no parameter `{}`", what, tuple.condition, name));
      }
      if (auto typed = cel::Coerce(value, param->type); !typed) {
        return InvalidArgumentError(
            fmt::format("{}: parameter `{}`: {}", what, name, typed.error().message()));
      }
    }
  }
  return OkStatus();
}

}  // namespace bulwark::policy::fga

#include "policy/cedar_entities.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <vector>

namespace bulwark::policy::cedar {

namespace {

namespace json = boost::json;

constexpr int kMaxJsonDepth = 64;

Status Invalid(std::string_view what) { return InvalidArgumentError(std::string(what)); }

Result<EntityUid> UidFromJson(const json::value& v) {
  const json::object* o = v.if_object();
  if (o != nullptr && o->size() == 1 && o->contains("__entity")) o = o->at("__entity").if_object();
  if (o == nullptr || o->size() != 2 || !o->contains("type") || !o->contains("id") ||
      !o->at("type").is_string() || !o->at("id").is_string()) {
    return Err(Invalid("an entity reference needs string \"type\" and \"id\""));
  }
  return EntityUid{std::string(o->at("type").get_string()), std::string(o->at("id").get_string())};
}

Result<Value> FromJson(const json::value& v, int depth) {
  if (depth > kMaxJsonDepth) return Err(Invalid("value nested too deeply"));
  switch (v.kind()) {
    case json::kind::bool_:
      return Value::Bool(v.get_bool());
    case json::kind::int64:
      return Value::Long(v.get_int64());
    case json::kind::uint64:
      return Err(Invalid("integer out of range"));
    case json::kind::double_:
      return Err(Invalid("numbers must be integers"));
    case json::kind::null:
      return Err(Invalid("null is not a Cedar value"));
    case json::kind::string:
      return Value::String(std::string(v.get_string()));
    case json::kind::array: {
      ValueSet elements;
      for (const json::value& e : v.get_array()) {
        BULWARK_ASSIGN_OR_RETURN(Value element, FromJson(e, depth + 1));
        elements.push_back(std::move(element));
      }
      return Value::Set(std::move(elements));
    }
    case json::kind::object:
      break;
  }
  const json::object& o = v.get_object();
  if (o.size() == 1 && o.contains("__entity")) {
    BULWARK_ASSIGN_OR_RETURN(EntityUid uid, UidFromJson(v));
    return Value::Entity(std::move(uid));
  }
  if (o.size() == 1 && o.contains("__extn")) {
    const json::object* e = o.at("__extn").if_object();
    if (e == nullptr || !e->contains("fn") || !e->contains("arg") || !e->at("fn").is_string() ||
        !e->at("arg").is_string()) {
      return Err(Invalid("__extn needs string \"fn\" and \"arg\""));
    }
    const std::string_view fn = e->at("fn").get_string();
    const std::string_view arg = e->at("arg").get_string();
    if (fn == "decimal") {
      BULWARK_ASSIGN_OR_RETURN(Decimal d, ParseDecimal(arg));
      return Value::OfDecimal(d);
    }
    if (fn == "ip" || fn == "ipaddr") {
      BULWARK_ASSIGN_OR_RETURN(IpAddr ip, ParseIpAddr(arg));
      return Value::OfIp(ip);
    }
    if (fn == "datetime") {
      BULWARK_ASSIGN_OR_RETURN(Datetime d, ParseDatetime(arg));
      return Value::OfDatetime(d);
    }
    if (fn == "duration") {
      BULWARK_ASSIGN_OR_RETURN(Duration d, ParseDuration(arg));
      return Value::OfDuration(d);
    }
    return Err(Invalid(fmt::format("unknown extension function \"{}\"", fn)));
  }
  if (o.size() == 2 && o.contains("type") && o.contains("id") && o.at("type").is_string() &&
      o.at("id").is_string()) {
    BULWARK_ASSIGN_OR_RETURN(EntityUid uid, UidFromJson(v));
    return Value::Entity(std::move(uid));
  }
  ValueRecord fields;
  for (const auto& [key, value] : o) {
    BULWARK_ASSIGN_OR_RETURN(Value field, FromJson(value, depth + 1));
    fields.emplace(std::string(key), std::move(field));
  }
  return Value::Record(std::move(fields));
}

Result<ValueRecord> RecordFromJson(const json::value& v) {
  if (!v.is_object()) return Err(Invalid("expected an object"));
  BULWARK_ASSIGN_OR_RETURN(Value value, FromJson(v, 0));
  if (!value.is(ValueType::kRecord)) return Err(Invalid("expected a record"));
  return value.as_record();
}

}  // namespace

Result<Value> ValueFromJson(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Err(Invalid("malformed JSON: " + ec.message()));
  return FromJson(v, 0);
}

Result<Entities> Entities::FromJson(std::string_view text) {
  json::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) return Err(Invalid("malformed entities JSON: " + ec.message()));
  if (!root.is_array()) return Err(Invalid("entities must be a JSON array"));
  Entities out;
  std::map<EntityUid, std::vector<EntityUid>> parents;
  size_t index = 0;
  for (const json::value& item : root.get_array()) {
    auto fail = [&](const Status& s) {
      return Err(InvalidArgumentError(fmt::format("entity {}: {}", index, s.message())));
    };
    const json::object* o = item.if_object();
    if (o == nullptr || !o->contains("uid")) return fail(Invalid("needs a \"uid\""));
    Entity entity;
    auto uid = UidFromJson(o->at("uid"));
    if (!uid) return fail(uid.error());
    entity.uid = std::move(*uid);
    // As in Cedar, "attrs" and "parents" are required (possibly empty).
    const json::value* attrs = o->if_contains("attrs");
    if (attrs == nullptr) return fail(Invalid("needs \"attrs\""));
    auto record = RecordFromJson(*attrs);
    if (!record) return fail(record.error());
    entity.attrs = std::move(*record);
    if (const json::value* tags = o->if_contains("tags")) {
      auto record = RecordFromJson(*tags);
      if (!record) return fail(record.error());
      entity.tags = std::move(*record);
    }
    std::vector<EntityUid>& own_parents = parents[entity.uid];
    const json::value* ps = o->if_contains("parents");
    if (ps == nullptr) return fail(Invalid("needs \"parents\""));
    {
      if (!ps->is_array()) return fail(Invalid("\"parents\" must be an array"));
      for (const json::value& p : ps->get_array()) {
        auto parent = UidFromJson(p);
        if (!parent) return fail(parent.error());
        own_parents.push_back(std::move(*parent));
      }
    }
    const EntityUid key = entity.uid;
    if (!out.entities_.emplace(key, std::move(entity)).second) {
      return Err(InvalidArgumentError(fmt::format("entity {} is listed twice", ToString(key))));
    }
    ++index;
  }
  // Transitive ancestors: a walk from each entity over parent edges (a cycle
  // in the data ends the walk, it does not loop).
  for (auto& [uid, entity] : out.entities_) {
    entity.parents = parents[uid];
    std::vector<EntityUid> stack = entity.parents;
    while (!stack.empty()) {
      EntityUid next = std::move(stack.back());
      stack.pop_back();
      if (next == uid || !entity.ancestors.insert(next).second) continue;
      if (auto it = parents.find(next); it != parents.end()) {
        stack.insert(stack.end(), it->second.begin(), it->second.end());
      }
    }
  }
  out.BuildTable();
  return out;
}

size_t EntityUidHash::operator()(const EntityUid& uid) const {
  const size_t h = std::hash<std::string>{}(uid.type);
  return h ^ (std::hash<std::string>{}(uid.id) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

void Entities::BuildTable() {
  size_t size = 16;
  while (size < 2 * entities_.size()) size *= 2;
  table_.assign(size, Slot{});
  const size_t mask = size - 1;
  for (const auto& [uid, entity] : entities_) {
    const size_t hash = EntityUidHash{}(uid);
    size_t i = hash & mask;
    while (table_[i].entity != nullptr) i = (i + 1) & mask;
    table_[i] = {hash, &entity};
  }
}

const Entity* Entities::Find(const EntityUid& uid) const {
  if (table_.empty()) return nullptr;
  const size_t hash = EntityUidHash{}(uid);
  const size_t mask = table_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = table_[i];
    if (slot.entity == nullptr) return nullptr;
    if (slot.hash == hash && slot.entity->uid == uid) return slot.entity;
  }
}

bool Entities::IsAncestor(const EntityUid& uid, const EntityUid& ancestor) const {
  const Entity* entity = Find(uid);
  return entity != nullptr && entity->ancestors.contains(ancestor);
}

}  // namespace bulwark::policy::cedar

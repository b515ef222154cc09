#include "policy/cedar_entities.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <cstring>
#include <unordered_set>
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
    std::unordered_set<EntityUid, EntityUidHash> seen;
    while (!stack.empty()) {
      EntityUid next = std::move(stack.back());
      stack.pop_back();
      if (next == uid || !seen.insert(next).second) continue;
      if (auto it = parents.find(next); it != parents.end()) {
        stack.insert(stack.end(), it->second.begin(), it->second.end());
      }
      entity.ancestors.push_back(std::move(next));
    }
  }
  out.BuildTable();
  return out;
}

namespace {

// Eight bytes at a time, each word folded in with a multiply and a shift:
// types and ids are short, and every decision hashes a few dozen of them
// (std::hash, a byte-at-a-time loop behind a call, cost three times as much).
// The tables it serves are built from the entity data and the policies, both
// trusted input; a request only looks keys up.
uint64_t HashBytes(std::string_view s, uint64_t h) {
  h ^= s.size() * 0x9e3779b97f4a7c15ULL;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    h = (h ^ word) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
  }
  if (const size_t n = s.size() - i; n > 0) {
    // The last one to seven bytes, from loads of fixed size (no call): two
    // overlapping four-byte loads, or the first, middle and last byte.
    const char* p = s.data() + i;
    uint64_t word;
    if (n >= 4) {
      uint32_t head, tail;
      std::memcpy(&head, p, 4);
      std::memcpy(&tail, p + n - 4, 4);
      word = (uint64_t{head} << 32) | tail;
    } else {
      word = static_cast<uint8_t>(p[0]) | (uint64_t{static_cast<uint8_t>(p[n / 2])} << 8) |
             (uint64_t{static_cast<uint8_t>(p[n - 1])} << 16);
    }
    h = (h ^ word) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
  }
  return h;
}

}  // namespace

size_t EntityUidHash::operator()(const EntityUid& uid) const {
  uint64_t h = HashBytes(uid.id, HashBytes(uid.type, 0x2545f4914f6cdd1dULL));
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ULL;
  h ^= h >> 32;
  return static_cast<size_t>(h);
}

bool Entity::HasAncestor(const EntityUid& uid) const {
  if (ancestors.empty()) return false;
  return HasAncestor(uid, EntityUidHash{}(uid));
}

bool Entity::HasAncestor(const EntityUid& uid, size_t hash) const {
  if (ancestor_hashes.size() != ancestors.size()) {  // not sealed by Entities
    return std::find(ancestors.begin(), ancestors.end(), uid) != ancestors.end();
  }
  auto it = std::lower_bound(ancestor_hashes.begin(), ancestor_hashes.end(), hash);
  for (; it != ancestor_hashes.end() && *it == hash; ++it) {
    if (ancestors[it - ancestor_hashes.begin()] == uid) return true;
  }
  return false;
}

void Entity::SealAncestors() {
  std::vector<std::pair<size_t, EntityUid>> keyed;
  keyed.reserve(ancestors.size());
  for (EntityUid& ancestor : ancestors) {
    const size_t hash = EntityUidHash{}(ancestor);
    keyed.emplace_back(hash, std::move(ancestor));
  }
  std::sort(keyed.begin(), keyed.end());
  keyed.erase(std::unique(keyed.begin(), keyed.end()), keyed.end());
  ancestors.clear();
  ancestor_hashes.clear();
  for (auto& [hash, ancestor] : keyed) {
    ancestor_hashes.push_back(hash);
    ancestors.push_back(std::move(ancestor));
  }
}

void Entities::BuildTable() {
  size_t size = 16;
  while (size < 2 * entities_.size()) size *= 2;
  table_.assign(size, Slot{});
  const size_t mask = size - 1;
  for (auto& [uid, entity] : entities_) {
    entity.SealAncestors();
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
  return entity != nullptr && entity->HasAncestor(ancestor);
}

}  // namespace bulwark::policy::cedar

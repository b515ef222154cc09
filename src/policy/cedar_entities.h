// Cedar entities: the data policies read (attributes, tags) and the
// hierarchy `in` walks, loaded from Cedar's JSON entity format.
#ifndef BULWARK_POLICY_CEDAR_ENTITIES_H_
#define BULWARK_POLICY_CEDAR_ENTITIES_H_

#include <map>
#include <set>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "policy/cedar_value.h"

namespace bulwark::policy::cedar {

// A uid with its EntityUidHash already computed, to look up in tables keyed
// by EntityUid without hashing it again.
struct HashedUid {
  const EntityUid& uid;
  size_t hash;
};

struct EntityUidHash {
  using is_transparent = void;
  size_t operator()(const EntityUid& uid) const;
  size_t operator()(const HashedUid& h) const { return h.hash; }
};

struct EntityUidEqual {
  using is_transparent = void;
  bool operator()(const EntityUid& a, const EntityUid& b) const { return a == b; }
  bool operator()(const HashedUid& a, const EntityUid& b) const { return a.uid == b; }
  bool operator()(const EntityUid& a, const HashedUid& b) const { return a == b.uid; }
};

struct Entity {
  EntityUid uid;
  ValueRecord attrs;
  ValueRecord tags;
  std::vector<EntityUid> parents;  // as listed
  // Parents, their parents, ... (transitively), each once, ordered by
  // EntityUidHash; ancestor_hashes holds those hashes, in the same order
  // (Entities fills both). An `in` test is a binary search of the hashes,
  // with a string compared only when one matches.
  std::vector<EntityUid> ancestors;
  std::vector<size_t> ancestor_hashes;

  // True if `uid` is one of `ancestors`; `hash` is EntityUidHash of uid.
  bool HasAncestor(const EntityUid& uid) const;
  bool HasAncestor(const EntityUid& uid, size_t hash) const;
  // Orders `ancestors` by hash, drops repeats and fills ancestor_hashes.
  void SealAncestors();
};

// An immutable set of entities. Thread-safe to read.
class Schema;

class Entities {
 public:
  Entities() = default;
  // Move-only: the lookup table points into the entity map.
  Entities(Entities&&) = default;
  Entities& operator=(Entities&&) = default;
  Entities(const Entities&) = delete;
  Entities& operator=(const Entities&) = delete;

  // Parses a JSON array of entities: {"uid": {"type", "id"}, "attrs": {...},
  // "parents": [{"type", "id"}, ...], "tags": {...}}; attrs and parents are
  // required, as Cedar requires them, tags optional. Attribute values follow
  // ValueFromJson. Ancestors are computed transitively. kInvalidArgument
  // naming the entity for malformed input or a uid listed twice.
  static Result<Entities> FromJson(std::string_view json);

  // The entity, or null if there is none with that uid.
  const Entity* Find(const EntityUid& uid) const;

  // True if `ancestor` is a strict ancestor of `uid`.
  bool IsAncestor(const EntityUid& uid, const EntityUid& ancestor) const;

  size_t size() const { return entities_.size(); }
  auto begin() const { return entities_.begin(); }
  auto end() const { return entities_.end(); }

 private:
  friend Status ConformEntities(const Schema& schema, Entities& entities);
  // An open-addressing index over entities_ (whose nodes do not move): one
  // probe of a contiguous array, not a walk along a bucket's chain.
  struct Slot {
    size_t hash = 0;
    const Entity* entity = nullptr;  // null: empty
  };
  void BuildTable();

  std::unordered_map<EntityUid, Entity, EntityUidHash> entities_;
  std::vector<Slot> table_;  // a power of two, at most half full
};

// A Cedar value from its JSON form: true/false, integers (longs), strings,
// arrays (sets), objects (records); {"__entity": {"type", "id"}} (or an
// object with exactly "type" and "id") for an entity; {"__extn": {"fn":
// "decimal", "ip", "datetime" or "duration", "arg": "..."}} for an extension
// value.
// kInvalidArgument for other numbers, nulls, bad escapes or bad arguments.
Result<Value> ValueFromJson(std::string_view json);

}  // namespace bulwark::policy::cedar

#endif  // BULWARK_POLICY_CEDAR_ENTITIES_H_

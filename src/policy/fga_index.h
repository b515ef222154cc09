// The in-memory index of relationship tuples that Check, ListObjects,
// ListUsers and Expand read. Strings are interned once ("document:1",
// "viewer"); tuples are fixed-size records threaded on three lists so that
// every question Check asks is one hash probe:
//   - is this exact tuple stored (object, relation, user)?  Find
//   - which usersets and wildcards does (object, relation) hold?  ForEachIndirect
//   - which users does (object, relation) hold?  ForEach
//   - which (object, relation) pairs name this user?  ForEachByUser
// Most "does this object hold any tuple of that relation?" questions are
// answered from the object's string entry alone (per-object relation bits),
// and an object with at most four tuples, none conditioned, keeps a copy of
// them there: the id-based reads Check makes cost one cache line for each
// such object it steps through (documents and folders in a Drive-like model).
// Not thread-safe for writes: concurrent readers may share an index nobody
// writes (RelationStore holds a shared lock for queries and an exclusive one
// to apply changes).
#ifndef BULWARK_POLICY_FGA_INDEX_H_
#define BULWARK_POLICY_FGA_INDEX_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/huge_pages.h"
#include "policy/cel.h"
#include "policy/fga_tuple.h"

namespace bulwark::policy::fga {

// Interned strings: each distinct string once, named by a dense id. Each
// entry also keeps the string's type (the part before ':', from a small
// table, so reading it touches no characters) and two 32-bit masks its user
// (TupleIndex) sets, kept beside the offset so one cache line serves both.
class StringPool {
 public:
  static constexpr uint32_t kNone = 0xFFFFFFFFu;
  StringPool();
  // The id of `s`, adding it if new. Id 0 is the empty string.
  uint32_t Intern(std::string_view s);
  // The id of `s`, or kNone.
  uint32_t Find(std::string_view s) const;
  // The ids of `a` and `b`, their probes overlapped: looked up one after the
  // other, two strings wait for up to four cache misses in turn.
  std::pair<uint32_t, uint32_t> FindBoth(std::string_view a, std::string_view b) const;
  std::string_view Get(uint32_t id) const {
    const Entry& e = entries_[id];
    if (e.size <= Entry::kInline) return {e.text, e.size};
    uint64_t offset;
    std::memcpy(&offset, e.text, sizeof offset);
    return {chars_.data() + offset, e.size};
  }
  // "document" for "document:1"; "" for a string without ':'.
  std::string_view TypeOf(uint32_t id) const { return types_[entries_[id].type & ~kWildcard]; }
  // True for "type:*".
  bool IsWildcard(uint32_t id) const { return (entries_[id].type & kWildcard) != 0; }
  size_t size() const { return entries_.size(); }
  size_t MemoryBytes() const;

  // One cache line: a string of up to 16 bytes ("document:123456") sits in
  // its entry, so the line that says where a string is also holds it, and,
  // for an object with a few plain tuples, those tuples (kept by TupleIndex).
  struct alignas(64) Entry {
    static constexpr uint32_t kInline = 16;
    static constexpr int kInlineTuples = 4;
    uint32_t size = 0;
    uint32_t type = 0;  // into types_ (0 is ""), | kWildcard for "type:*"
    uint32_t any = 0;   // masks kept for TupleIndex
    uint32_t indirect = 0;
    char text[kInline] = {};  // the string, or the offset of a longer one in chars_
    // TupleIndex's copy of the tuples naming this string as their object:
    // their users, relations (as summary bit positions) and user relations
    // (as TupleIndex's userset slots, | kInlineWildcard for "type:*").
    uint32_t tuple_user[kInlineTuples] = {};
    uint8_t tuple_relation[kInlineTuples] = {};
    uint8_t tuple_userset[kInlineTuples] = {};
    uint8_t tuple_count = 0;
    bool tuples_inline = true;  // tuple_* hold all of them (else: the tables)
  };
  static_assert(sizeof(Entry) == 64);
  static constexpr uint32_t kWildcard = 0x80000000u;
  Entry& entry(uint32_t id) { return entries_[id]; }
  const Entry& entry(uint32_t id) const { return entries_[id]; }

 private:
  void Grow();
  uint32_t FindFrom(std::string_view s, size_t hash) const;  // `hash` of s, unmasked
  template <typename T>
  using Array = std::vector<T, HugePageAllocator<T>>;
  Array<char> chars_;  // strings longer than Entry::kInline
  Array<Entry> entries_;
  Array<uint32_t> slots_;  // id + 1, 0 = empty
  std::vector<std::string> types_{""};
};

class TupleIndex {
 public:
  // A stored tuple, as views into the index (valid while it is unchanged).
  struct Tuple {
    std::string_view object;  // "type:id"
    std::string_view relation;
    std::string_view user;           // "type:id" or "type:*"
    std::string_view user_relation;  // a userset's relation, "" otherwise
    std::string_view condition;      // "" if none
    const cel::Activation* context;  // the tuple's condition context, or null
    uint32_t user_id;                // `user`'s id in this index
    std::string_view user_type;      // "user" of user:anne (no characters read)
    bool user_wildcard;              // `user` is "type:*"
  };

  // Ids: every string the index holds has one (see Id); the overloads that
  // take ids skip hashing strings again on hot paths. kNoId for a string the
  // index does not hold (so no tuple can match it).
  static constexpr uint32_t kNoId = StringPool::kNone;
  uint32_t Id(std::string_view s) const { return strings_.Find(s); }
  std::pair<uint32_t, uint32_t> Ids(std::string_view a, std::string_view b) const {
    return strings_.FindBoth(a, b);
  }

  TupleIndex();
  TupleIndex(TupleIndex&&) noexcept;
  TupleIndex& operator=(TupleIndex&&) noexcept;
  ~TupleIndex();

  // Adds `tuple`; false if an equal tuple (same object, relation and user)
  // is already stored, which is left unchanged.
  bool Add(const TupleKey& tuple);
  // Removes the tuple with `tuple`'s object, relation and user; false if
  // there is none.
  bool Remove(const TupleKey& tuple);

  // The stored tuple (object, relation, user[#user_relation]), if any.
  std::optional<Tuple> Find(std::string_view object, std::string_view relation,
                            std::string_view user, std::string_view user_relation) const;

  // A relation name as the id-based lookups take it: its id and its bit in
  // the per-object summaries that let most lookups answer "none" from one
  // cache line without probing the tables.
  struct RelationKey {
    uint32_t id = kNoId;
    uint64_t bit = 0;
  };
  RelationKey Relation(std::string_view name) const;

  // An object with a few plain tuples (no condition) answers these from its
  // string entry alone: one cache line per object on a Check's path, where
  // the tables cost a head slot, a record and an exact-tuple slot.
  std::optional<Tuple> Find(uint32_t object, RelationKey relation, uint32_t user,
                            uint32_t user_relation) const {
    if (user >= strings_.size()) return std::nullopt;  // kNoId: no tuple names it
    // A userset or wildcard is looked for only where the object's summary
    // says it holds some: a group of plain members answers "is user:* a
    // member?" from its entry, without probing the exact-tuple table.
    const bool indirect = user_relation != 0 || strings_.IsWildcard(user);
    if (!MayHold(object, relation.bit, indirect)) return std::nullopt;
    const StringPool::Entry& o = strings_.entry(object);
    if (o.tuples_inline) {
      PrefetchUsers(o);
      if (o.indirect != 0 && !indirect) PrefetchMemberships(o, user, user_relation);
      const int at = FindInline(o, relation.bit, user, user_relation);
      if (at < 0) return std::nullopt;
      return InlineView(object, at);
    }
    const uint32_t e = FindRecord(object, relation.id, user, user_relation);
    if (e == kEnd) return std::nullopt;
    return View(e);
  }
  template <typename F>
  void ForEachIndirect(uint32_t object, RelationKey relation, F&& f) const {
    if (!MayHold(object, relation.bit, true)) return;
    const StringPool::Entry& o = strings_.entry(object);
    if (o.tuples_inline) {
      PrefetchUsers(o);
      ForEachInline(o, object, relation.bit, true, f);
      return;
    }
    for (uint32_t e = Heads(object, relation.id).indirect; e != kEnd;
         e = records_[e].next_indirect) {
      if (!f(View(e))) return;
    }
  }
  template <typename F>
  void ForEach(uint32_t object, RelationKey relation, F&& f) const {
    if (!MayHold(object, relation.bit, false)) return;
    const StringPool::Entry& o = strings_.entry(object);
    if (o.tuples_inline) {
      PrefetchUsers(o);
      ForEachInline(o, object, relation.bit, false, f);
      return;
    }
    for (uint32_t e = Heads(object, relation.id).head; e != kEnd; e = records_[e].next) {
      if (!f(View(e))) return;
    }
  }

  // Calls f(Tuple) for each stored tuple of (object, relation) whose user is a
  // userset or wildcard; f returns false to stop.
  template <typename F>
  void ForEachIndirect(std::string_view object, std::string_view relation, F&& f) const {
    for (uint32_t e = IndirectHead(object, relation); e != kEnd; e = records_[e].next_indirect) {
      if (!f(View(e))) return;
    }
  }
  // Calls f(Tuple) for each stored tuple of (object, relation).
  template <typename F>
  void ForEach(std::string_view object, std::string_view relation, F&& f) const {
    for (uint32_t e = Head(object, relation); e != kEnd; e = records_[e].next) {
      if (!f(View(e))) return;
    }
  }
  // Calls f(Tuple) for each stored tuple whose user is user[#user_relation].
  template <typename F>
  void ForEachByUser(std::string_view user, std::string_view user_relation, F&& f) const {
    for (uint32_t e = UserHead(user, user_relation); e != kEnd; e = records_[e].next_by_user) {
      if (!f(View(e))) return;
    }
  }
  // Calls f(Tuple) for every stored tuple.
  template <typename F>
  void ForEachTuple(F&& f) const {
    for (uint32_t e = 0; e < records_.size(); ++e) {
      if (records_[e].relation != StringPool::kNone && !f(View(e))) return;
    }
  }

  size_t size() const { return size_; }
  // Bytes held by the index's own structures (strings, records, tables).
  size_t MemoryBytes() const;

 private:
  static constexpr uint32_t kEnd = 0xFFFFFFFFu;
  struct Record {
    uint32_t object, relation, user, user_relation, condition, context;
    uint32_t next, next_indirect, next_by_user;
  };
  struct ListHead {
    uint32_t a, b;  // (object, relation) or (user, user_relation)
    uint32_t head, indirect;
  };
  struct Table;  // open-addressing slots over ids
  // Per string id (as an object): the bits of the relations it may hold
  // tuples of, and of those it may hold usersets or wildcards of (in its
  // StringPool entry). Bits are set on Add and never cleared (a stale bit
  // costs one probe).
  static constexpr uint64_t kAllBits = 0xFFFFFFFFu;
  bool MayHold(uint32_t object, uint64_t bit, bool indirect) const {
    if (object >= strings_.size()) return false;
    const StringPool::Entry& e = strings_.entry(object);
    return ((indirect ? e.indirect : e.any) & bit) != 0;
  }
  uint64_t BitOf(uint32_t relation) const;

  Tuple View(uint32_t e) const;

  // The inline copy (StringPool::Entry::tuple_*), newest last. A relation
  // past the 32 with summary bits, a condition, a user relation past the
  // slots or a fifth tuple moves the object to the tables for good.
  static constexpr uint8_t kInlineWildcard = 0x80;
  static constexpr size_t kLastUsersetSlot = 0x7F;  // below kInlineWildcard
  // The position of a relation's summary bit, or -1 for kAllBits.
  static int BitPosition(uint64_t bit) {
    return bit != 0 && (bit & (bit - 1)) == 0 ? __builtin_ctzll(bit) : -1;
  }
  int FindInline(const StringPool::Entry& o, uint64_t bit, uint32_t user,
                 uint32_t user_relation) const {
    const int position = BitPosition(bit);
    for (int i = o.tuple_count - 1; i >= 0; --i) {
      if (o.tuple_relation[i] == position && o.tuple_user[i] == user &&
          userset_relations_[o.tuple_userset[i] & ~kInlineWildcard] == user_relation) {
        return i;
      }
    }
    return -1;
  }
  template <typename F>
  void ForEachInline(const StringPool::Entry& o, uint32_t object, uint64_t bit, bool indirect_only,
                     F& f) const {
    const int position = BitPosition(bit);
    for (int i = o.tuple_count - 1; i >= 0; --i) {
      if (o.tuple_relation[i] != position || (indirect_only && o.tuple_userset[i] == 0)) continue;
      if (!f(InlineView(object, i))) return;
    }
  }
  Tuple InlineView(uint32_t object, int at) const;
  // Asks for the entries of the object's users (the folders, groups and
  // users a Check may step to next) together, so their cache misses overlap
  // instead of following one another down a chain of parents.
  void PrefetchUsers(const StringPool::Entry& o) const {
    for (int i = 0; i < o.tuple_count; ++i) __builtin_prefetch(&strings_.entry(o.tuple_user[i]));
  }
  // For each userset the object holds (group:eng#member), asks for the
  // exact-tuple slot that says whether `user` (a plain user) is in it: the
  // question a Check of `user` asks next there. The slot's miss then overlaps the group's
  // entry miss and the work in between, instead of following it.
  void PrefetchMemberships(const StringPool::Entry& o, uint32_t user, uint32_t user_relation) const;
  void AddInline(uint32_t object, uint64_t bit, uint32_t user, uint32_t user_relation, bool plain);
  void RemoveInline(uint32_t object, uint64_t bit, uint32_t user, uint32_t user_relation);
  // The list heads of (object, relation) by id; {kEnd, kEnd} if none.
  ListHead Heads(uint32_t object, uint32_t relation) const;
  uint32_t Head(std::string_view object, std::string_view relation) const;
  uint32_t IndirectHead(std::string_view object, std::string_view relation) const;
  uint32_t UserHead(std::string_view user, std::string_view user_relation) const;
  uint32_t FindRecord(uint32_t object, uint32_t relation, uint32_t user, uint32_t user_rel) const;

  template <typename T>
  using Array = std::vector<T, HugePageAllocator<T>>;
  StringPool strings_;
  Array<Record> records_;
  std::vector<uint32_t> free_records_;

  std::vector<std::shared_ptr<const cel::Activation>> contexts_;  // 0 is "none"
  std::vector<uint32_t> relation_bits_;         // relation string ids; position = bit (32 at most)
  std::vector<uint32_t> userset_relations_{0};  // by slot: user relation ids (0 = none)
  std::unique_ptr<Table> exact_;  // record ids by (object, relation, user, user_relation)
  struct HeadTable;               // list heads stored in the open-addressing slots themselves
  std::unique_ptr<HeadTable> object_heads_;  // by (object, relation)
  std::unique_ptr<HeadTable> user_heads_;    // by (user, user_relation)
  size_t size_ = 0;
};

}  // namespace bulwark::policy::fga

#endif  // BULWARK_POLICY_FGA_INDEX_H_

#include "policy/fga_index.h"

#include <algorithm>
#include <functional>

namespace bulwark::policy::fga {

namespace {

constexpr uint32_t kEmptySlot = 0;
constexpr uint32_t kTombstone = 0xFFFFFFFFu;

uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}
uint64_t Hash2(uint32_t a, uint32_t b) { return Mix((uint64_t{a} << 32) | b); }
uint64_t Hash4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return Mix(Hash2(a, b) ^ ((uint64_t{c} << 32) | d) * 0x9e3779b97f4a7c15ULL);
}

}  // namespace

// Open addressing over ids (slot = id + 1), linear probing, tombstones on
// removal, at most half full.
struct TupleIndex::Table {
  std::vector<uint32_t, HugePageAllocator<uint32_t>> slots =
      std::vector<uint32_t, HugePageAllocator<uint32_t>>(16, kEmptySlot);
  size_t live = 0, dead = 0;

  template <typename Eq>
  uint32_t Find(uint64_t hash, Eq eq) const {
    const size_t mask = slots.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const uint32_t s = slots[i];
      if (s == kEmptySlot) return kEnd;
      if (s != kTombstone && eq(s - 1)) return s - 1;
    }
  }
  template <typename HashOf>
  void Insert(uint64_t hash, uint32_t id, HashOf hash_of) {
    if ((live + dead + 1) * 2 > slots.size()) Rehash(hash_of);
    const size_t mask = slots.size() - 1;
    size_t i = hash & mask;
    while (slots[i] != kEmptySlot && slots[i] != kTombstone) i = (i + 1) & mask;
    if (slots[i] == kTombstone) --dead;
    slots[i] = id + 1;
    ++live;
  }
  void Erase(uint64_t hash, uint32_t id) {
    const size_t mask = slots.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      if (slots[i] == kEmptySlot) return;
      if (slots[i] == id + 1) {
        slots[i] = kTombstone;
        --live;
        ++dead;
        return;
      }
    }
  }
  template <typename HashOf>
  void Rehash(HashOf hash_of) {
    size_t size = slots.size();
    while ((live + 1) * 4 > size) size *= 2;  // a quarter full after growing
    auto old =
        std::exchange(slots, std::vector<uint32_t, HugePageAllocator<uint32_t>>(size, kEmptySlot));
    dead = 0;
    const size_t mask = size - 1;
    for (uint32_t s : old) {
      if (s == kEmptySlot || s == kTombstone) continue;
      size_t i = hash_of(s - 1) & mask;
      while (slots[i] != kEmptySlot) i = (i + 1) & mask;
      slots[i] = s;
    }
  }
};

// List heads keyed by an id pair, held in the slots (one cache line answers
// a lookup), linear probing, at most half full; heads are never removed.
struct TupleIndex::HeadTable {
  std::vector<ListHead, HugePageAllocator<ListHead>> slots =
      std::vector<ListHead, HugePageAllocator<ListHead>>(16, ListHead{kEnd, kEnd, kEnd, kEnd});
  size_t live = 0;

  const ListHead* Find(uint32_t a, uint32_t b) const {
    const size_t mask = slots.size() - 1;
    for (size_t i = Hash2(a, b) & mask;; i = (i + 1) & mask) {
      const ListHead& h = slots[i];
      if (h.a == kEnd) return nullptr;
      if (h.a == a && h.b == b) return &h;
    }
  }
  ListHead* FindMutable(uint32_t a, uint32_t b) { return const_cast<ListHead*>(Find(a, b)); }
  ListHead& FindOrAdd(uint32_t a, uint32_t b) {
    if (ListHead* h = FindMutable(a, b)) return *h;
    if ((live + 1) * 2 > slots.size()) {
      auto old = std::exchange(slots, std::vector<ListHead, HugePageAllocator<ListHead>>(
                                          slots.size() * 2, ListHead{kEnd, kEnd, kEnd, kEnd}));
      const size_t mask = slots.size() - 1;
      for (const ListHead& h : old) {
        if (h.a == kEnd) continue;
        size_t i = Hash2(h.a, h.b) & mask;
        while (slots[i].a != kEnd) i = (i + 1) & mask;
        slots[i] = h;
      }
    }
    const size_t mask = slots.size() - 1;
    size_t i = Hash2(a, b) & mask;
    while (slots[i].a != kEnd) i = (i + 1) & mask;
    slots[i] = {a, b, kEnd, kEnd};
    ++live;
    return slots[i];
  }
};

StringPool::StringPool() : slots_(16, 0) { Intern(""); }

uint32_t StringPool::Find(std::string_view s) const {
  return FindFrom(s, std::hash<std::string_view>{}(s));
}

uint32_t StringPool::FindFrom(std::string_view s, size_t hash) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    if (slots_[i] == 0) return kNone;
    if (Get(slots_[i] - 1) == s) return slots_[i] - 1;
  }
}

std::pair<uint32_t, uint32_t> StringPool::FindBoth(std::string_view a, std::string_view b) const {
  const size_t mask = slots_.size() - 1;
  const size_t ha = std::hash<std::string_view>{}(a), hb = std::hash<std::string_view>{}(b);
  __builtin_prefetch(&slots_[ha & mask]);
  __builtin_prefetch(&slots_[hb & mask]);
  if (const uint32_t s = slots_[ha & mask]; s != 0) __builtin_prefetch(&entries_[s - 1]);
  if (const uint32_t s = slots_[hb & mask]; s != 0) __builtin_prefetch(&entries_[s - 1]);
  return {FindFrom(a, ha), FindFrom(b, hb)};
}

uint32_t StringPool::Intern(std::string_view s) {
  if (uint32_t id = Find(s); id != kNone) return id;
  if ((size() + 1) * 2 > slots_.size()) Grow();
  const auto id = static_cast<uint32_t>(size());
  Entry e;
  e.size = static_cast<uint32_t>(s.size());
  if (s.size() <= Entry::kInline) {
    std::memcpy(e.text, s.data(), s.size());
  } else {
    const uint64_t offset = chars_.size();
    chars_.insert(chars_.end(), s.begin(), s.end());
    std::memcpy(e.text, &offset, sizeof offset);
  }
  if (const size_t colon = s.find(':'); colon != std::string_view::npos && colon > 0) {
    const std::string_view type = s.substr(0, colon);
    auto it = std::find(types_.begin(), types_.end(), type);
    e.type = static_cast<uint32_t>(it - types_.begin());
    if (it == types_.end()) types_.emplace_back(type);
    if (s.substr(colon) == ":*") e.type |= kWildcard;
  }
  entries_.push_back(e);
  const size_t mask = slots_.size() - 1;
  size_t i = std::hash<std::string_view>{}(s)&mask;
  while (slots_[i] != 0) i = (i + 1) & mask;
  slots_[i] = id + 1;
  return id;
}

void StringPool::Grow() {
  Array<uint32_t> slots(slots_.size() * 2, 0);
  const size_t mask = slots.size() - 1;
  for (uint32_t s : slots_) {
    if (s == 0) continue;
    size_t i = std::hash<std::string_view>{}(Get(s - 1)) & mask;
    while (slots[i] != 0) i = (i + 1) & mask;
    slots[i] = s;
  }
  slots_ = std::move(slots);
}

size_t StringPool::MemoryBytes() const {
  return chars_.capacity() + entries_.capacity() * sizeof(Entry) + slots_.capacity() * 4;
}

TupleIndex::TupleIndex()
    : contexts_(1),
      exact_(std::make_unique<Table>()),
      object_heads_(std::make_unique<HeadTable>()),
      user_heads_(std::make_unique<HeadTable>()) {}
TupleIndex::TupleIndex(TupleIndex&&) noexcept = default;
TupleIndex& TupleIndex::operator=(TupleIndex&&) noexcept = default;
TupleIndex::~TupleIndex() = default;

uint32_t TupleIndex::FindRecord(uint32_t object, uint32_t relation, uint32_t user,
                                uint32_t user_rel) const {
  if (object == kNoId || relation == kNoId || user == kNoId || user_rel == kNoId) return kEnd;
  return exact_->Find(Hash4(object, relation, user, user_rel), [&](uint32_t e) {
    const Record& r = records_[e];
    return r.object == object && r.relation == relation && r.user == user &&
           r.user_relation == user_rel;
  });
}

bool TupleIndex::Add(const TupleKey& t) {
  const uint32_t object = strings_.Intern(ToString(t.object));
  const uint32_t relation = strings_.Intern(t.relation);
  const uint32_t user = strings_.Intern(t.user.type + ":" + t.user.id);
  const uint32_t user_rel = strings_.Intern(t.user.relation);
  if (FindRecord(object, relation, user, user_rel) != kEnd) return false;
  uint32_t context = 0;
  if (t.context != nullptr) {
    context = static_cast<uint32_t>(contexts_.size());
    contexts_.push_back(t.context);
  }
  Record r{object,  relation, user, user_rel, strings_.Intern(t.condition),
           context, kEnd,     kEnd, kEnd};
  uint32_t e;
  if (!free_records_.empty()) {
    e = free_records_.back();
    free_records_.pop_back();
    records_[e] = r;
  } else {
    e = static_cast<uint32_t>(records_.size());
    records_.push_back(r);
  }
  exact_->Insert(Hash4(object, relation, user, user_rel), e, [&](uint32_t id) {
    const Record& x = records_[id];
    return Hash4(x.object, x.relation, x.user, x.user_relation);
  });

  uint64_t bit = BitOf(relation);
  if (bit == 0) {
    if (relation_bits_.size() < 32) {
      relation_bits_.push_back(relation);
      bit = uint64_t{1} << (relation_bits_.size() - 1);
    } else {
      bit = kAllBits;  // past 32 relation names: summaries cannot tell
    }
  }
  strings_.entry(object).any |= static_cast<uint32_t>(bit);
  ListHead& by_object = object_heads_->FindOrAdd(object, relation);
  records_[e].next = by_object.head;
  by_object.head = e;
  const bool indirect = user_rel != 0 || strings_.IsWildcard(user);
  if (indirect) {
    strings_.entry(object).indirect |= static_cast<uint32_t>(bit);
    records_[e].next_indirect = by_object.indirect;
    by_object.indirect = e;
  }
  ListHead& by_user = user_heads_->FindOrAdd(user, user_rel);
  records_[e].next_by_user = by_user.head;
  by_user.head = e;
  AddInline(object, bit, user, user_rel, r.condition == 0 && context == 0);
  ++size_;
  return true;
}

void TupleIndex::AddInline(uint32_t object, uint64_t bit, uint32_t user, uint32_t user_relation,
                           bool plain) {
  StringPool::Entry& o = strings_.entry(object);
  if (!o.tuples_inline) return;
  const int position = BitPosition(bit);
  if (!plain || position < 0 || o.tuple_count == StringPool::Entry::kInlineTuples) {
    o.tuples_inline = false;
    return;
  }
  // A user relation's slot, taken only by a tuple that stays in the copy.
  auto slot = std::find(userset_relations_.begin(), userset_relations_.end(), user_relation);
  if (slot == userset_relations_.end()) {
    if (userset_relations_.size() > kLastUsersetSlot) {
      o.tuples_inline = false;
      return;
    }
    slot = userset_relations_.insert(slot, user_relation);
  }
  const int i = o.tuple_count++;
  o.tuple_user[i] = user;
  o.tuple_relation[i] = static_cast<uint8_t>(position);
  o.tuple_userset[i] = static_cast<uint8_t>(slot - userset_relations_.begin()) |
                       (strings_.IsWildcard(user) ? kInlineWildcard : 0);
}

void TupleIndex::RemoveInline(uint32_t object, uint64_t bit, uint32_t user,
                              uint32_t user_relation) {
  StringPool::Entry& o = strings_.entry(object);
  if (!o.tuples_inline) return;
  const int at = FindInline(o, bit, user, user_relation);
  if (at < 0) return;
  for (int i = at; i + 1 < o.tuple_count; ++i) {  // keeps the order, newest last
    o.tuple_user[i] = o.tuple_user[i + 1];
    o.tuple_relation[i] = o.tuple_relation[i + 1];
    o.tuple_userset[i] = o.tuple_userset[i + 1];
  }
  --o.tuple_count;
}

void TupleIndex::PrefetchMemberships(const StringPool::Entry& o, uint32_t user,
                                     uint32_t user_relation) const {
  const size_t mask = exact_->slots.size() - 1;
  for (int i = 0; i < o.tuple_count; ++i) {
    const uint8_t slot = o.tuple_userset[i];
    if (slot == 0 || (slot & kInlineWildcard) != 0) continue;
    const uint64_t hash = Hash4(o.tuple_user[i], userset_relations_[slot], user, user_relation);
    __builtin_prefetch(&exact_->slots[hash & mask]);
  }
}

TupleIndex::Tuple TupleIndex::InlineView(uint32_t object, int at) const {
  const StringPool::Entry& o = strings_.entry(object);
  const uint32_t user = o.tuple_user[at];
  const uint32_t user_relation = userset_relations_[o.tuple_userset[at] & ~kInlineWildcard];
  return {strings_.Get(object),
          strings_.Get(relation_bits_[o.tuple_relation[at]]),
          strings_.Get(user),
          strings_.Get(user_relation),
          {},
          nullptr,
          user,
          strings_.TypeOf(user),
          (o.tuple_userset[at] & kInlineWildcard) != 0};
}

bool TupleIndex::Remove(const TupleKey& t) {
  const uint32_t object = strings_.Find(ToString(t.object));
  const uint32_t relation = strings_.Find(t.relation);
  const uint32_t user = strings_.Find(t.user.type + ":" + t.user.id);
  const uint32_t user_rel = strings_.Find(t.user.relation);
  if (object == StringPool::kNone || relation == StringPool::kNone || user == StringPool::kNone ||
      user_rel == StringPool::kNone) {
    return false;
  }
  const uint32_t e = FindRecord(object, relation, user, user_rel);
  if (e == kEnd) return false;
  RemoveInline(object, BitOf(relation), user, user_rel);
  exact_->Erase(Hash4(object, relation, user, user_rel), e);
  // Unlink from the three lists.
  auto unlink = [&](uint32_t& head, uint32_t Record::*next) {
    for (uint32_t* p = &head; *p != kEnd; p = &(records_[*p].*next)) {
      if (*p == e) {
        *p = records_[e].*next;
        return;
      }
    }
  };
  ListHead* oh = object_heads_->FindMutable(object, relation);
  unlink(oh->head, &Record::next);
  unlink(oh->indirect, &Record::next_indirect);
  unlink(user_heads_->FindMutable(user, user_rel)->head, &Record::next_by_user);
  if (records_[e].context != 0) contexts_[records_[e].context].reset();
  records_[e].relation = StringPool::kNone;  // marks the record free
  free_records_.push_back(e);
  --size_;
  return true;
}

std::optional<TupleIndex::Tuple> TupleIndex::Find(std::string_view object,
                                                  std::string_view relation, std::string_view user,
                                                  std::string_view user_relation) const {
  const uint32_t o = strings_.Find(object), r = strings_.Find(relation);
  const uint32_t u = strings_.Find(user), ur = strings_.Find(user_relation);
  if (o == StringPool::kNone || r == StringPool::kNone || u == StringPool::kNone ||
      ur == StringPool::kNone) {
    return std::nullopt;
  }
  const uint32_t e = FindRecord(o, r, u, ur);
  if (e == kEnd) return std::nullopt;
  return View(e);
}

TupleIndex::Tuple TupleIndex::View(uint32_t e) const {
  const Record& r = records_[e];
  return {strings_.Get(r.object),
          strings_.Get(r.relation),
          strings_.Get(r.user),
          strings_.Get(r.user_relation),
          strings_.Get(r.condition),
          r.context == 0 ? nullptr : contexts_[r.context].get(),
          r.user,
          strings_.TypeOf(r.user),
          strings_.IsWildcard(r.user)};
}

uint64_t TupleIndex::BitOf(uint32_t relation) const {
  for (size_t i = 0; i < relation_bits_.size(); ++i) {
    if (relation_bits_[i] == relation) return uint64_t{1} << i;
  }
  return relation_bits_.size() < 32 ? 0 : kAllBits;
}

TupleIndex::RelationKey TupleIndex::Relation(std::string_view name) const {
  const uint32_t id = strings_.Find(name);
  if (id == kNoId) return {kNoId, 0};
  return {id, BitOf(id)};
}

TupleIndex::ListHead TupleIndex::Heads(uint32_t o, uint32_t r) const {
  if (o == kNoId || r == kNoId) return {o, r, kEnd, kEnd};
  const ListHead* h = object_heads_->Find(o, r);
  return h == nullptr ? ListHead{o, r, kEnd, kEnd} : *h;
}

uint32_t TupleIndex::Head(std::string_view object, std::string_view relation) const {
  return Heads(strings_.Find(object), strings_.Find(relation)).head;
}

uint32_t TupleIndex::IndirectHead(std::string_view object, std::string_view relation) const {
  return Heads(strings_.Find(object), strings_.Find(relation)).indirect;
}

uint32_t TupleIndex::UserHead(std::string_view user, std::string_view user_relation) const {
  const uint32_t u = strings_.Find(user), ur = strings_.Find(user_relation);
  if (u == StringPool::kNone || ur == StringPool::kNone) return kEnd;
  const ListHead* h = user_heads_->Find(u, ur);
  return h == nullptr ? kEnd : h->head;
}

size_t TupleIndex::MemoryBytes() const {
  size_t contexts = contexts_.capacity() * sizeof(contexts_[0]);
  return strings_.MemoryBytes() + records_.capacity() * sizeof(Record) +
         free_records_.capacity() * 4 +
         (object_heads_->slots.capacity() + user_heads_->slots.capacity()) * sizeof(ListHead) +
         exact_->slots.capacity() * 4 + contexts;
}

}  // namespace bulwark::policy::fga

// Fuzzes the relation index and Check: the input is a program of tuple adds
// and removes over a small universe of objects, users and relations,
// followed by queries. The index must agree with a plain set of tuples
// (what Find and ForEach see, and its size) after every step, and Check must
// terminate without crashing on whatever graph the tuples make (cycles,
// self-references, deep chains).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <tuple>

#include "policy/fga_check.h"

namespace {

namespace fga = bulwark::policy::fga;

constexpr std::string_view kModel = R"(model
  schema 1.1
type user
type group
  relations
    define member: [user, user:*, group#member] but not banned
    define banned: [user]
type folder
  relations
    define parent: [folder]
    define viewer: [user, group#member] or viewer from parent
    define editor: [user] and viewer
type document
  relations
    define parent: [folder]
    define viewer: [user, group#member] or viewer from parent or editor
    define editor: [user, group#member] or editor from parent
)";

const fga::Model& Model() {
  static const fga::Model model = *fga::Model::Parse(kModel);
  return model;
}

// A tuple the model allows, chosen by two bytes.
fga::TupleKey Pick(uint8_t a, uint8_t b) {
  const std::string n = std::to_string(b % 6);
  const std::string m = std::to_string((b / 6) % 6);
  switch (a % 9) {
    case 0:
      return {{"group", n}, "member", {"user", m, ""}, "", nullptr};
    case 1:
      return {{"group", n}, "member", {"group", m, "member"}, "", nullptr};
    case 2:
      return {{"group", n}, "member", {"user", "*", ""}, "", nullptr};
    case 3:
      return {{"group", n}, "banned", {"user", m, ""}, "", nullptr};
    case 4:
      return {{"folder", n}, "parent", {"folder", m, ""}, "", nullptr};
    case 5:
      return {{"folder", n}, "viewer", {"group", m, "member"}, "", nullptr};
    case 6:
      return {{"document", n}, "parent", {"folder", m, ""}, "", nullptr};
    case 7:
      return {{"document", n}, "viewer", {"user", m, ""}, "", nullptr};
    default:
      return {{"document", n}, "editor", {"group", m, "member"}, "", nullptr};
  }
}

std::string Key(const fga::TupleKey& t) {
  return fga::ToString(t.object) + "#" + t.relation + "@" + fga::ToString(t.user);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fga::TupleIndex index;
  std::set<std::string> reference;
  for (size_t i = 0; i + 2 < size; i += 3) {
    const fga::TupleKey t = Pick(data[i + 1], data[i + 2]);
    const std::string key = Key(t);
    if (data[i] % 4 == 3) {
      if (index.Remove(t) != (reference.erase(key) == 1)) std::abort();
    } else if (data[i] % 4 == 2) {
      // Query: the tuple's presence, its list's length, and a Check.
      const bool present = index
                               .Find(fga::ToString(t.object), t.relation,
                                     t.user.type + ":" + t.user.id, t.user.relation)
                               .has_value();
      if (present != reference.contains(key)) std::abort();
      size_t listed = 0;
      index.ForEach(fga::ToString(t.object), t.relation, [&](const fga::TupleIndex::Tuple&) {
        ++listed;
        return true;
      });
      const std::string prefix = fga::ToString(t.object) + "#" + t.relation + "@";
      size_t want = 0;
      for (const std::string& k : reference) want += k.starts_with(prefix);
      if (listed != want) std::abort();
      fga::CheckRequest check{t.object,
                              t.relation == "parent" ? "viewer" : t.relation,
                              {"user", std::to_string(data[i + 2] % 6), ""},
                              {},
                              {}};
      (void)fga::Check(Model(), index, check);
    } else {
      if (index.Add(t) != reference.insert(key).second) std::abort();
    }
    if (index.size() != reference.size()) std::abort();
  }
  return 0;
}

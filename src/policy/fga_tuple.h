// Relationship tuples of OpenFGA models: `user` has `relation` to `object`,
// where the object is `type:id` and the user is an object (`user:anne`),
// every object of a type (`user:*`) or a userset (`group:eng#member`: the
// users who are members of group:eng). A tuple may carry a condition
// (by name) that must hold, with its context, when the tuple is used.
#ifndef BULWARK_POLICY_FGA_TUPLE_H_
#define BULWARK_POLICY_FGA_TUPLE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "policy/cel.h"
#include "policy/fga_model.h"

namespace bulwark::policy::fga {

struct ObjectRef {
  std::string type;
  std::string id;
  bool operator==(const ObjectRef&) const = default;
};

struct UserRef {
  std::string type;
  std::string id;        // "*" for a wildcard
  std::string relation;  // a userset's relation, "" otherwise
  bool wildcard() const { return id == "*"; }
  bool operator==(const UserRef&) const = default;
};

// True if one of `restrictions` admits `user` carrying `condition`.
inline bool AllowedBy(const std::vector<TypeRestriction>& restrictions, const UserRef& user,
                      std::string_view condition) {
  return AllowedBy(restrictions, user.type, user.wildcard(), user.relation, condition);
}

struct TupleKey {
  ObjectRef object;
  std::string relation;
  UserRef user;
  std::string condition;  // "" if none
  // Values for the condition's parameters that the tuple fixes (they take
  // precedence over a request's context), or null.
  std::shared_ptr<const cel::Activation> context;
};

// `type:id`: a type name, a non-empty id of at most 256 characters without
// whitespace or '#'; not a wildcard. kInvalidArgument naming the problem.
Result<ObjectRef> ParseObject(std::string_view text);
// `type:id`, `type:*` or `type:id#relation`.
Result<UserRef> ParseUser(std::string_view text);

std::string ToString(const ObjectRef& object);
std::string ToString(const UserRef& user);

// OK if `tuple` may be stored under `model`: the object's type exists and
// defines the relation, and the user matches one of the relation's direct
// type restrictions (a plain type, `type:*` for a wildcard, `type#relation`
// for a userset), with the restriction's condition if the tuple names one.
// kInvalidArgument saying which rule it breaks.
Status ValidateTuple(const Model& model, const TupleKey& tuple);

}  // namespace bulwark::policy::fga

#endif  // BULWARK_POLICY_FGA_TUPLE_H_

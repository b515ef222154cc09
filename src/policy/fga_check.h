// Check over relationship tuples: does `user` have `relation` to `object`
// under an OpenFGA model? Resolution follows the model's rewrites: direct
// tuples (exact user, `type:*` wildcards, usersets such as group:eng#member
// resolved recursively), other relations of the object, `X from Y` through
// the tupleset's objects, and `or`/`and`/`but not`. Tuples the current model
// no longer allows (type restrictions changed since they were written) are
// ignored. Resolution is depth-bounded and cycle-safe.
#ifndef BULWARK_POLICY_FGA_CHECK_H_
#define BULWARK_POLICY_FGA_CHECK_H_

#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "policy/fga_model.h"
#include "policy/fga_tuple.h"

namespace bulwark::policy::fga {

// OpenFGA's default resolution depth.
inline constexpr int kMaxResolutionDepth = 25;

// Tuples in memory, by object and relation.
class TupleIndex {
 public:
  void Add(const TupleKey& tuple);
  struct Entry {
    UserRef user;
    std::string condition;
  };
  // The tuples (object, relation, *), or null.
  const std::vector<Entry>* Find(const ObjectRef& object, std::string_view relation) const;
  // The ids of the objects of `type` that some tuple names as its object,
  // sorted.
  std::vector<std::string> ObjectIds(std::string_view type) const;
  size_t size() const { return size_; }

 private:
  std::unordered_map<std::string, std::vector<Entry>> by_object_relation_;
  std::unordered_map<std::string, std::set<std::string>> ids_by_type_;
  size_t size_ = 0;
};

struct CheckRequest {
  ObjectRef object;
  std::string relation;
  UserRef user;
  // Tuples that count for this request only (not stored).
  std::vector<TupleKey> contextual_tuples;
};

// The answer, or kInvalidArgument for a request the model cannot answer (a
// type or relation it does not define, an invalid contextual tuple),
// kResourceExhausted past kMaxResolutionDepth, kUnimplemented for a tuple
// that carries a condition (conditions are not evaluated yet).
Result<bool> Check(const Model& model, const TupleIndex& tuples, const CheckRequest& request);

struct ListObjectsRequest {
  std::string type;
  std::string relation;
  UserRef user;
  std::vector<TupleKey> contextual_tuples;
};

// The objects of `type` the user has `relation` to, sorted (`type:id`).
// Errors as Check. Only objects some tuple names can have a relation, so
// those are the candidates, each checked.
Result<std::vector<std::string>> ListObjects(const Model& model, const TupleIndex& tuples,
                                             const ListObjectsRequest& request);

}  // namespace bulwark::policy::fga

#endif  // BULWARK_POLICY_FGA_CHECK_H_

// Queries over relationship tuples under an OpenFGA model.
//
// Check: does `user` have `relation` to `object`? Resolution follows the
// model's rewrites: direct tuples (exact user, `type:*` wildcards, usersets
// such as group:eng#member resolved recursively; a userset always has its
// own relation), other relations of the object, `X from Y` through the
// tupleset's objects, and `or`/`and`/`but not`. A tuple with a condition
// counts only if its CEL expression is true over the tuple's context and
// the request's (the tuple's values win); a parameter the expression needs
// and neither gives is an error. Tuples the current model no longer allows
// (type restrictions changed since they were written) are ignored.
//
// Resolution is depth-bounded (kMaxResolutionDepth) and cycle-safe: a
// cycle grants nothing, and a `but not` whose subtracted part runs into one
// does not grant either. Errors in one branch of an `or` do not matter if
// another grants; otherwise they are the answer (fail closed).
//
// Every granted Check carries its resolution path: the tuples and rewrites
// that granted it, outermost first, built only on the granting branch.
//
// ListObjects, ListUsers and Expand answer the reverse and the tree forms.
// All functions are pure over their inputs; concurrent calls on a shared
// index and model are safe.
#ifndef BULWARK_POLICY_FGA_CHECK_H_
#define BULWARK_POLICY_FGA_CHECK_H_

#include <string>
#include <vector>

#include "core/status.h"
#include "policy/cel.h"
#include "policy/fga_index.h"
#include "policy/fga_model.h"
#include "policy/fga_tuple.h"

namespace bulwark::policy::fga {

// OpenFGA's default resolution depth.
inline constexpr int kMaxResolutionDepth = 25;
// Bounds on what one request may carry or return.
inline constexpr size_t kMaxContextualTuples = 100;
inline constexpr size_t kMaxListResults = 1000;
// How many users and objects a ListObjects or ListUsers may walk through
// before it gives up with kResourceExhausted.
inline constexpr size_t kMaxListReach = 100'000;

struct CheckRequest {
  ObjectRef object;
  std::string relation;
  UserRef user;
  // Tuples that count for this request only (not stored).
  std::vector<TupleKey> contextual_tuples;
  // Values for conditions' parameters.
  cel::Activation context;
};

struct CheckResult {
  bool allowed = false;
  // Why, when allowed: steps such as "document:1#viewer@group:eng#member",
  // "document:1#can_view <- document:1#viewer",
  // "document:1#viewer <- folder:x#viewer (viewer from parent)", and
  // "group:eng#member@user:*" with "[if cond]" for a condition that held.
  std::vector<std::string> path;
};

// The answer, or kInvalidArgument for a request the model cannot answer (a
// type or relation it does not define, an invalid contextual tuple, too many
// of them, a condition that cannot be evaluated), kResourceExhausted past
// kMaxResolutionDepth.
Result<CheckResult> Check(const Model& model, const TupleIndex& tuples,
                          const CheckRequest& request);

struct ListObjectsRequest {
  std::string type;
  std::string relation;
  UserRef user;
  std::vector<TupleKey> contextual_tuples;
  cel::Activation context;
  size_t limit = kMaxListResults;
};

// The objects of `type` the user has `relation` to (`type:id`), sorted, at
// most `limit` (when more are granted, which ones is unspecified).
// Candidates are the objects reachable from the user backwards through
// tuples, each checked as it is reached: the walk ends once `limit` are
// granted, and fails with kResourceExhausted past kMaxListReach objects.
// Errors as Check.
Result<std::vector<std::string>> ListObjects(const Model& model, const TupleIndex& tuples,
                                             const ListObjectsRequest& request);

struct ListUsersRequest {
  ObjectRef object;
  std::string relation;
  // `type` (objects and `type:*`) or `type#relation` (usersets); at least one.
  std::vector<std::string> filters;
  std::vector<TupleKey> contextual_tuples;
  cel::Activation context;
  size_t limit = kMaxListResults;
};

// The users matching a filter that have `relation` to the object
// (`user:anne`, `user:*`, `group:eng#member`), sorted, at most `limit` (when
// more are granted, which ones is unspecified). Candidates are the users
// reachable forwards from the object through tuples, each checked as it is
// reached: the walk ends once `limit` are granted, and fails with
// kResourceExhausted past kMaxListReach users and objects. Errors as Check.
Result<std::vector<std::string>> ListUsers(const Model& model, const TupleIndex& tuples,
                                           const ListUsersRequest& request);

// The relations of the object's type that `user` has to `object`, in model
// order (what AuthZEN's action search asks). Errors as Check.
Result<std::vector<std::string>> ListRelations(const Model& model, const TupleIndex& tuples,
                                               const ObjectRef& object, const UserRef& user,
                                               const cel::Activation& context);

// One level of the userset tree of (object, relation), as Zanzibar's
// Expand: the rewrite with its direct users listed and its computed and
// tuple-to-userset leaves named for the caller to expand further.
struct ExpandNode {
  enum class Kind { kUsers, kComputed, kTupleToUserset, kUnion, kIntersection, kDifference };
  Kind kind = Kind::kUsers;
  std::string name;                            // "document:1#viewer"
  std::vector<std::string> users;              // kUsers: "user:anne", "user:*", "group:eng#member"
  std::string computed;                        // kComputed: "document:1#editor"
  std::string tupleset;                        // kTupleToUserset: "document:1#parent"
  std::vector<std::string> computed_usersets;  // kTupleToUserset: "folder:x#viewer", ...
  std::vector<ExpandNode> children;            // union, intersection, difference
};

// The tree, or errors as Check.
Result<ExpandNode> Expand(const Model& model, const TupleIndex& tuples, const ObjectRef& object,
                          std::string_view relation,
                          const std::vector<TupleKey>& contextual_tuples = {});

}  // namespace bulwark::policy::fga

#endif  // BULWARK_POLICY_FGA_CHECK_H_

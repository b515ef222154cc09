// Cedar evaluation and authorization over parsed policies.
//
// Evaluation follows Cedar's semantics: && and || short-circuit, == never
// errors (values of different types are unequal), arithmetic on longs fails
// on overflow, reading a missing attribute or an entity that does not exist
// fails, `has` and `in` on an unknown entity are false. Authorization: a
// satisfied forbid denies; otherwise a satisfied permit allows; otherwise
// deny. A policy whose condition fails to evaluate is skipped and reported.
#ifndef BULWARK_POLICY_CEDAR_EVALUATOR_H_
#define BULWARK_POLICY_CEDAR_EVALUATOR_H_

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "policy/cedar_ast.h"
#include "policy/cedar_entities.h"
#include "policy/cedar_value.h"

namespace bulwark::policy::cedar {

struct Request {
  EntityUid principal;
  EntityUid action;
  EntityUid resource;
  Value context = Value::Record({});  // must be a record
};

// The entities one decision reads: the request's principal, action and
// resource (most lookups are of them) are looked up once, others in the
// entity map. Lives for one decision, on one thread.
class EntityLookup {
 public:
  EntityLookup(const Request& request, const Entities& entities)
      : request_(request), entities_(entities) {}
  const Entity* Find(const EntityUid& uid);
  // True if `ancestor` is a strict ancestor of `uid`.
  bool IsAncestor(const EntityUid& uid, const EntityUid& ancestor) {
    const Entity* entity = Find(uid);
    return entity != nullptr && entity->HasAncestor(ancestor);
  }
  bool IsAncestor(const EntityUid& uid, const EntityUid& ancestor, size_t ancestor_hash) {
    const Entity* entity = Find(uid);
    return entity != nullptr && entity->HasAncestor(ancestor, ancestor_hash);
  }
  const Request& request() const { return request_; }

 private:
  const Entity* Cached(int slot, const EntityUid& uid) {
    if (!looked_up_[slot]) {
      cache_[slot] = entities_.Find(uid);
      looked_up_[slot] = true;
    }
    return cache_[slot];
  }
  const Request& request_;
  const Entities& entities_;
  const Entity* cache_[3] = {nullptr, nullptr, nullptr};
  bool looked_up_[3] = {false, false, false};
};

// The value of `expr` for `request`. kInvalidArgument with the reason for an
// evaluation error (type mismatch, missing attribute or entity, overflow,
// bad extension argument, a template slot).
Result<Value> Evaluate(const Expr& expr, const Request& request, const Entities& entities);

// True if `text` matches a `like` pattern.
bool MatchesPattern(std::string_view text, const std::vector<PatternElement>& pattern);

// A link of a template: the policy `new_id` is the template `template_id`
// with its ?principal and ?resource slots filled.
struct TemplateLink {
  std::string template_id;
  std::string new_id;
  std::optional<EntityUid> principal;
  std::optional<EntityUid> resource;
};

// The policies to authorize with: the static policies of `parsed` and one
// policy per link (templates themselves apply only through links).
// kInvalidArgument for a link to an unknown or non-template policy, a new id
// already taken, or slot values that do not match the template's slots.
Result<std::vector<Policy>> LinkTemplates(const std::vector<Policy>& parsed,
                                          const std::vector<TemplateLink>& links);

struct PolicyError {
  std::string policy_id;
  std::string message;
};

struct Decision {
  bool allow = false;
  std::vector<std::string> reasons;  // ids of the determining policies, in policy order
  std::vector<PolicyError> errors;   // policies skipped because they failed to evaluate
};

// The decision of `policies` (templates, which need linking, are skipped).
Decision Authorize(const std::vector<Policy>& policies, const Request& request,
                   const Entities& entities);

// The same over `candidates`, which must be in policy order; the decision is
// written into `decision` (empty before). For PolicySet's index.
void AuthorizeInto(const std::vector<const Policy*>& candidates, EntityLookup& lookup,
                   Decision& decision);

}  // namespace bulwark::policy::cedar

#endif  // BULWARK_POLICY_CEDAR_EVALUATOR_H_

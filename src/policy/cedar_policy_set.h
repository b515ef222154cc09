// A compiled, immutable Cedar policy set: templates linked, policies
// indexed by their scope, so that a decision looks only at the policies that
// can apply to its request and does not slow down as the set grows.
#ifndef BULWARK_POLICY_CEDAR_POLICY_SET_H_
#define BULWARK_POLICY_CEDAR_POLICY_SET_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "policy/cedar_ast.h"
#include "policy/cedar_entities.h"
#include "policy/cedar_evaluator.h"

namespace bulwark::policy::cedar {

class PolicySet {
 public:
  // Links `links` into `parsed` (see LinkTemplates) and builds the index.
  // kInvalidArgument as LinkTemplates. The result is immutable and safe to
  // share between threads; a change builds a new set (swap it atomically).
  static Result<std::shared_ptr<const PolicySet>> Create(
      const std::vector<Policy>& parsed, const std::vector<TemplateLink>& links = {});

  // Parses `text` and builds a set from it (no links).
  static Result<std::shared_ptr<const PolicySet>> Parse(std::string_view text);

  // The decision for `request`, the same as Authorize over every policy.
  Decision Authorize(const Request& request, const Entities& entities) const;

  size_t size() const { return policies_.size(); }
  const std::vector<Policy>& policies() const { return policies_; }

 private:
  using Index = std::unordered_map<EntityUid, std::vector<uint32_t>, EntityUidHash, EntityUidEqual>;
  // Adds the policies indexed under `uid` and under each of its ancestors.
  void Collect(const Index& index, const EntityUid& uid, EntityLookup& entities,
               std::vector<uint32_t>& out) const;

  std::vector<Policy> policies_;
  // Each policy is filed once: under the entity of its principal scope if it
  // names one, else of its resource scope, else under its actions, else in
  // unindexed_.
  Index by_principal_;
  Index by_resource_;
  Index by_action_;
  std::vector<uint32_t> unindexed_;
};

}  // namespace bulwark::policy::cedar

#endif  // BULWARK_POLICY_CEDAR_POLICY_SET_H_

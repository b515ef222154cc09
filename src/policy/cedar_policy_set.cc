#include "policy/cedar_policy_set.h"

#include <algorithm>
#include <functional>

#include "policy/cedar_parser.h"

namespace bulwark::policy::cedar {

Result<std::shared_ptr<const PolicySet>> PolicySet::Create(const std::vector<Policy>& parsed,
                                                           const std::vector<TemplateLink>& links) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<Policy> linked, LinkTemplates(parsed, links));
  auto set = std::shared_ptr<PolicySet>(new PolicySet());
  set->policies_ = std::move(linked);
  // Equal conditions share one tree: a large set generated from a few shapes
  // (per-user grants, linked templates) keeps a few trees hot in cache
  // instead of one per policy.
  std::unordered_map<std::string, std::shared_ptr<const Expr>> shared;
  for (Policy& p : set->policies_) {
    for (Condition& c : p.conditions) {
      auto [it, fresh] = shared.try_emplace(ExprKey(*c.expr), c.expr);
      if (!fresh) c.expr = it->second;
    }
  }
  for (Policy& p : set->policies_) {
    for (ScopeConstraint* scope : {&p.principal, &p.action, &p.resource}) {
      scope->entity_hashes.clear();
      for (const EntityUid& uid : scope->entities)
        scope->entity_hashes.push_back(EntityUidHash{}(uid));
    }
  }
  for (uint32_t i = 0; i < set->policies_.size(); ++i) {
    const Policy& p = set->policies_[i];
    // Scopes that name an entity (==, in, is ... in) can only match that
    // entity or its descendants.
    if (p.principal.op != ScopeConstraint::Op::kAll && p.principal.op != ScopeConstraint::Op::kIs) {
      set->by_principal_[p.principal.entities[0]].push_back(i);
    } else if (p.resource.op != ScopeConstraint::Op::kAll &&
               p.resource.op != ScopeConstraint::Op::kIs) {
      set->by_resource_[p.resource.entities[0]].push_back(i);
    } else if (p.action.op != ScopeConstraint::Op::kAll) {
      for (const EntityUid& action : p.action.entities) set->by_action_[action].push_back(i);
    } else {
      set->unindexed_.push_back(i);
    }
  }
  return std::shared_ptr<const PolicySet>(std::move(set));
}

Result<std::shared_ptr<const PolicySet>> PolicySet::Parse(std::string_view text) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<Policy> parsed, ParsePolicies(text));
  return Create(parsed);
}

void PolicySet::Collect(const Index& index, const EntityUid& uid, EntityLookup& entities,
                        std::vector<uint32_t>& out) const {
  if (index.empty()) return;
  if (auto it = index.find(uid); it != index.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
  }
  if (const Entity* entity = entities.Find(uid)) {
    // The ancestors' hashes are at hand: no ancestor is hashed again.
    const bool sealed = entity->ancestor_hashes.size() == entity->ancestors.size();
    for (size_t i = 0; i < entity->ancestors.size(); ++i) {
      const EntityUid& ancestor = entity->ancestors[i];
      const auto it = sealed ? index.find(HashedUid{ancestor, entity->ancestor_hashes[i]})
                             : index.find(ancestor);
      if (it != index.end()) out.insert(out.end(), it->second.begin(), it->second.end());
    }
  }
}

Decision PolicySet::Authorize(const Request& request, const Entities& entities) const {
  // Per-thread scratch space: a decision allocates nothing here.
  thread_local std::vector<uint32_t> ids;
  thread_local std::vector<const Policy*> candidates;
  EntityLookup lookup(request, entities);
  ids.assign(unindexed_.begin(), unindexed_.end());
  Collect(by_principal_, request.principal, lookup, ids);
  Collect(by_resource_, request.resource, lookup, ids);
  Collect(by_action_, request.action, lookup, ids);
  // Policy order, and once each (an action list may file a policy twice).
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  candidates.clear();
  for (uint32_t id : ids) candidates.push_back(&policies_[id]);
  Decision decision;
  AuthorizeInto(candidates, lookup, decision);
  return decision;
}

}  // namespace bulwark::policy::cedar

// The Cedar validator: strict-mode type checking of policies against a
// schema, as Cedar's own validator does it.
//
//   auto result = cedar::ValidatePolicies(schema, policies);
//   if (!result.ok()) ... result.errors: policy id, place, message
//
// Each policy is checked once for every request environment the schema
// allows (each action with each of its principal and resource types), with
// the action known, so `action == Action::"read" && context.x` checks
// `context.x` only where the action is read. Checks: entity types and
// actions the policy names exist; every operator gets operands of its types
// (strict: no comparing a Long with a String, sets and `if` branches of one
// type, no empty set literal, extension constructors on valid string
// literals); attributes exist, and optional ones are read only after `has`
// proved them present. Warnings (which do not fail validation) name policies
// that can never apply.
#ifndef BULWARK_POLICY_CEDAR_VALIDATOR_H_
#define BULWARK_POLICY_CEDAR_VALIDATOR_H_

#include <span>
#include <string>
#include <vector>

#include "policy/cedar_ast.h"
#include "policy/cedar_schema.h"

namespace bulwark::policy::cedar {

struct ValidationIssue {
  std::string policy_id;
  SourceLocation location;
  std::string message;
};

struct ValidationResult {
  std::vector<ValidationIssue> errors;
  std::vector<ValidationIssue> warnings;
  bool ok() const { return errors.empty(); }
};

// Validates every policy and template of `policies` against `schema`.
ValidationResult ValidatePolicies(const Schema& schema, std::span<const Policy> policies);

}  // namespace bulwark::policy::cedar

#endif  // BULWARK_POLICY_CEDAR_VALIDATOR_H_

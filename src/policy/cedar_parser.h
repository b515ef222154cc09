// The Cedar policy language parser: policy text to syntax trees.
//
//   auto policies = cedar::ParsePolicies(text);
//   if (!policies) ... policies.error().message() is "line:column: reason"
//
// It follows the grammar of the Cedar language reference: permit/forbid,
// annotations, scope constraints with ==, in, is and is ... in (and the
// template slots ?principal and ?resource), when/unless conditions, and every
// expression form (if-then-else, ||, &&, relations, has, like, is, + - *,
// unary ! and -, attribute access, method and extension-function calls,
// entity references, sets and records). Nesting is bounded, so hostile text
// cannot exhaust the stack. Thread-safe (no shared state).
#ifndef BULWARK_POLICY_CEDAR_PARSER_H_
#define BULWARK_POLICY_CEDAR_PARSER_H_

#include <string_view>
#include <vector>

#include "core/status.h"
#include "policy/cedar_ast.h"

namespace bulwark::policy::cedar {

// Expressions may nest this deep in the text (parentheses, sets, records,
// calls), and their trees may be this high (long operator chains included).
inline constexpr int kMaxNesting = 128;
inline constexpr uint32_t kMaxExpressionHeight = 512;

// Every policy of `text`, in order. A policy's id is its @id annotation, or
// "policy<N>" for the N-th policy (from 0). kInvalidArgument
// "line:column: reason" on the first syntax error, or for two policies with
// the same id, a duplicate annotation or record key, an integer out of
// range, or nesting beyond kMaxNesting or kMaxExpressionHeight; nothing is returned then.
Result<std::vector<Policy>> ParsePolicies(std::string_view text);

// One expression on its own (the part inside `when { ... }`).
Result<ExprPtr> ParseExpression(std::string_view text);

// An entity literal on its own, such as User::"alice" (a request's
// principal, action or resource given as text). kInvalidArgument if `text`
// is anything else.
Result<EntityUid> ParseEntityUid(std::string_view text);

}  // namespace bulwark::policy::cedar

#endif  // BULWARK_POLICY_CEDAR_PARSER_H_

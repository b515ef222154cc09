// The parsed form of a CEL expression. Internal to policy/cel*.
#ifndef BULWARK_POLICY_CEL_NODE_H_
#define BULWARK_POLICY_CEL_NODE_H_

#include <string>
#include <vector>

#include "core/status.h"
#include "policy/cel_value.h"

namespace bulwark::policy::cel {

struct Node {
  enum class Kind {
    kLiteral,  // literal
    kIdent,    // name
    kSelect,   // args[0].name
    kHas,      // has(args[0].name)
    kIndex,    // args[0][args[1]]
    kCall,     // name(args...), or args[0].name(args[1...]) if receiver
    kList,     // [args...]
    kMap,      // {args[0]: args[1], ...}
    kAnd,
    kOr,
    kConditional,    // args[0] ? args[1] : args[2]
    kComprehension,  // args[0].name(var, args[1] [, args[2]])
  };
  Kind kind = Kind::kLiteral;
  Value literal;
  std::string name;
  std::string var;  // kComprehension
  bool receiver = false;
  int column = 0;
  std::vector<Node> args;
};

// Parses `expression` (at most 100 levels deep). `identifiers` receives the
// free identifiers. kInvalidArgument "column N: reason".
Result<Node> ParseExpression(std::string_view expression, std::vector<std::string>& identifiers);

}  // namespace bulwark::policy::cel

#endif  // BULWARK_POLICY_CEL_NODE_H_

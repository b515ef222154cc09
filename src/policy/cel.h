// Common Expression Language programs, as OpenFGA conditions use them.
//
//   auto program = cel::Program::Compile("x < 100 && ip.in_cidr(cidr)");
//   cel::Activation vars{{"x", cel::Value::Int(10)}, ...};
//   Result<cel::Value> v = program->Evaluate(vars);
//
// The language: literals (int, 10u, 1.5, 'str', "str", """multi""", r"raw",
// b"bytes", true, false, null, [lists], {maps}), identifiers, `.field` and
// `[index]` access, `! - * / % + - < <= > >= == != in && || ?:`, and the
// standard functions size, int, uint, double, string, bytes, bool,
// timestamp, duration, dyn, contains, startsWith, endsWith, matches (RE2),
// the timestamp and duration accessors (getFullYear, getHours, ... in UTC or
// a "+hh:mm" offset), and the macros has(), all, exists, exists_one, map and
// filter; plus OpenFGA's ipaddress(string) and ip.in_cidr(string).
//
// Evaluation follows CEL: integer overflow, division by zero, missing keys
// and mismatched operand types are errors (kInvalidArgument); `&&` and `||`
// are commutative over errors (false && error is false). Depth and size are
// bounded so hostile expressions cannot exhaust the stack or memory.
// A Program is immutable and safe to evaluate from many threads.
#ifndef BULWARK_POLICY_CEL_H_
#define BULWARK_POLICY_CEL_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "core/status.h"
#include "policy/cel_value.h"

namespace bulwark::policy::cel {

using Activation = std::map<std::string, Value, std::less<>>;

struct Node;

class Program {
 public:
  // Parses `expression`. kInvalidArgument "column N: reason" if it does not
  // parse, calls an unknown function or nests deeper than 100.
  static Result<Program> Compile(std::string_view expression);

  // Evaluates with `vars` bound. An identifier missing from `vars` is an
  // error.
  Result<Value> Evaluate(const Activation& vars) const;

  // The free identifiers the expression reads (not macro variables).
  const std::set<std::string, std::less<>>& identifiers() const { return identifiers_; }

 private:
  std::shared_ptr<const Node> root_;
  std::set<std::string, std::less<>> identifiers_;
};

}  // namespace bulwark::policy::cel

#endif  // BULWARK_POLICY_CEL_H_

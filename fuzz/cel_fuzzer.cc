// Fuzzes CEL, the language of relationship conditions: the input is an
// expression, compiled and evaluated with a few variables bound. Nothing may
// crash, hang, overflow the stack or trip a sanitizer, whatever the
// expression computes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/cel.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace cel = bulwark::policy::cel;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto program = cel::Program::Compile(input);
  if (!program) return 0;
  static const cel::Activation vars = {
      {"x", cel::Value::Int(7)},
      {"s", cel::Value::String("abc")},
      {"xs", cel::Value::OfList({cel::Value::Int(1), cel::Value::Double(2.5)})},
      {"m", cel::Value::OfMap({{cel::Value::String("k"), cel::Value::Bool(true)}})},
  };
  (void)program->Evaluate(vars);
  return 0;
}

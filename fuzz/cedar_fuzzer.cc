// Fuzzes the Cedar parser and evaluator: the input is policy text, then
// optionally a line "%%" and entities JSON, then optionally another "%%" and
// a context JSON object. What parses is linked, indexed and asked a few
// fixed requests; nothing may crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/cedar_entities.h"
#include "policy/cedar_parser.h"
#include "policy/cedar_policy_set.h"

namespace cedar = bulwark::policy::cedar;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view policies = input, entities_text = "[]", context_text = "{}";
  if (size_t cut = input.find("\n%%\n"); cut != std::string_view::npos) {
    policies = input.substr(0, cut);
    entities_text = input.substr(cut + 4);
    if (size_t cut2 = entities_text.find("\n%%\n"); cut2 != std::string_view::npos) {
      context_text = entities_text.substr(cut2 + 4);
      entities_text = entities_text.substr(0, cut2);
    }
  }
  (void)cedar::ParseExpression(policies);
  auto parsed = cedar::ParsePolicies(policies);
  if (!parsed) return 0;
  auto set = cedar::PolicySet::Create(*parsed);
  auto entities = cedar::Entities::FromJson(entities_text);
  auto context = cedar::ValueFromJson(context_text);
  if (!set || !entities) return 0;
  cedar::Request request{{"User", "alice"}, {"Action", "view"}, {"Doc", "d"}};
  if (context && context->is(cedar::ValueType::kRecord)) request.context = *context;
  (void)(*set)->Authorize(request, *entities);
  request.principal = {"Group", "g"};
  request.action = {"Action", "edit"};
  (void)(*set)->Authorize(request, *entities);
  return 0;
}

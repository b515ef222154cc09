// Fuzzes Cedar schemas and the validator: the input is a schema (text or
// JSON), then optionally a line "%%" and policy text, then optionally another
// "%%" and entities JSON. What parses is validated and conformed; nothing may
// crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/cedar_entities.h"
#include "policy/cedar_parser.h"
#include "policy/cedar_schema.h"
#include "policy/cedar_validator.h"

namespace cedar = bulwark::policy::cedar;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view schema_text = input, policies = "", entities_text = "[]";
  if (size_t cut = input.find("\n%%\n"); cut != std::string_view::npos) {
    schema_text = input.substr(0, cut);
    policies = input.substr(cut + 4);
    if (size_t cut2 = policies.find("\n%%\n"); cut2 != std::string_view::npos) {
      entities_text = policies.substr(cut2 + 4);
      policies = policies.substr(0, cut2);
    }
  }
  auto schema = cedar::Schema::Parse(schema_text);
  if (!schema) return 0;
  if (auto parsed = cedar::ParsePolicies(policies)) {
    (void)cedar::ValidatePolicies(*schema, *parsed);
  }
  if (auto entities = cedar::Entities::FromJson(entities_text)) {
    (void)cedar::ConformEntities(*schema, *entities);
  }
  for (const auto& [action, applies] : schema->actions()) {
    for (const std::string& p : applies.principal_types) {
      for (const std::string& r : applies.resource_types) {
        (void)cedar::ConformRequest(*schema, {p, "a"}, action, {r, "b"}, cedar::Value::Record({}));
      }
    }
  }
  return 0;
}

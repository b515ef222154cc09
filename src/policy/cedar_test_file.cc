#include "policy/cedar_test_file.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <boost/json.hpp>
#include <filesystem>
#include <optional>
#include <set>

#include "core/file.h"
#include "policy/cedar_entities.h"
#include "policy/cedar_evaluator.h"
#include "policy/cedar_parser.h"
#include "policy/cedar_policy_set.h"
#include "policy/cedar_schema.h"
#include "policy/cedar_validator.h"

namespace bulwark::policy::cedar {

namespace {

namespace json = boost::json;

Result<EntityUid> Uid(const json::object& request, std::string_view field) {
  const json::value* v = request.if_contains(field);
  const json::object* o = v == nullptr ? nullptr : v->if_object();
  if (o == nullptr || !o->contains("type") || !o->contains("id") || !o->at("type").is_string() ||
      !o->at("id").is_string()) {
    return Err(InvalidArgumentError(fmt::format("request {} needs a type and an id", field)));
  }
  return EntityUid{std::string(o->at("type").get_string()), std::string(o->at("id").get_string())};
}

Result<std::set<std::string>> StringSet(const json::object& request, std::string_view field) {
  std::set<std::string> out;
  const json::value* v = request.if_contains(field);
  if (v == nullptr) return out;
  if (!v->is_array()) return Err(InvalidArgumentError(fmt::format("{} must be an array", field)));
  for (const json::value& s : v->get_array()) {
    if (!s.is_string())
      return Err(InvalidArgumentError(fmt::format("{} must hold strings", field)));
    out.insert(std::string(s.get_string()));
  }
  return out;
}

std::string Path(const std::string& root, const json::object& test, std::string_view field) {
  const json::value* v = test.if_contains(field);
  if (v == nullptr || !v->is_string() || v->get_string().empty()) return {};
  return (std::filesystem::path(root) / std::string(v->get_string())).string();
}

}  // namespace

Result<TestReport> RunCedarTestFile(const std::string& file, const std::string& root) {
  auto fail = [&](std::string_view what) {
    return Err(InvalidArgumentError(fmt::format("{}: {}", file, what)));
  };
  BULWARK_ASSIGN_OR_RETURN(std::string text, ReadFileToString(file));
  json::error_code ec;
  json::value parsed = json::parse(text, ec);
  if (ec || !parsed.is_object()) return fail("not a JSON test object");
  const json::object& test = parsed.get_object();
  const json::value* requests = test.if_contains("requests");
  if (requests == nullptr || !requests->is_array()) return fail("no \"requests\" array");

  auto policy_text = ReadFileToString(Path(root, test, "policies"));
  if (!policy_text) return fail(policy_text.error().message());
  auto parsed_policies = ParsePolicies(*policy_text);
  if (!parsed_policies) return fail("policies: " + parsed_policies.error().message());
  std::vector<TemplateLink> links;
  if (const json::value* list = test.if_contains("templateLinks")) {
    if (!list->is_array()) return fail("\"templateLinks\" must be an array");
    for (const json::value& item : list->get_array()) {
      const json::object* l = item.if_object();
      if (l == nullptr || !l->contains("templateId") || !l->contains("newId") ||
          !l->at("templateId").is_string() || !l->at("newId").is_string()) {
        return fail("a template link needs a templateId and a newId");
      }
      TemplateLink link{std::string(l->at("templateId").get_string()),
                        std::string(l->at("newId").get_string()), std::nullopt, std::nullopt};
      if (const json::value* values = l->if_contains("values"); values && values->is_object()) {
        for (const auto& [slot, uid] : values->get_object()) {
          json::object holder{{"uid", uid}};
          auto parsed_uid = Uid(holder, "uid");
          if (!parsed_uid) return fail("template link values: " + parsed_uid.error().message());
          if (slot == "?principal") {
            link.principal = std::move(*parsed_uid);
          } else if (slot == "?resource") {
            link.resource = std::move(*parsed_uid);
          } else {
            return fail("unknown template slot " + std::string(slot));
          }
        }
      }
      links.push_back(std::move(link));
    }
  }
  auto policies = PolicySet::Create(*parsed_policies, links);
  if (!policies) return fail(policies.error().message());
  auto entity_text = ReadFileToString(Path(root, test, "entities"));
  if (!entity_text) return fail(entity_text.error().message());
  auto entities = Entities::FromJson(*entity_text);
  if (!entities) return fail("entities: " + entities.error().message());

  TestReport report;
  // With a schema, the validator must agree with `shouldValidate`; a test
  // meant to validate also has entities and requests that fit the schema.
  std::optional<Schema> schema;
  bool should_validate = false;
  if (const std::string schema_path = Path(root, test, "schema"); !schema_path.empty()) {
    auto schema_text = ReadFileToString(schema_path);
    if (!schema_text) return fail(schema_text.error().message());
    auto parsed_schema = Schema::Parse(*schema_text);
    if (!parsed_schema) return fail("schema: " + parsed_schema.error().message());
    schema = std::move(*parsed_schema);
    const json::value* expected = test.if_contains("shouldValidate");
    should_validate = expected != nullptr && expected->is_bool() && expected->get_bool();
    const ValidationResult validation = ValidatePolicies(*schema, *parsed_policies);
    if (validation.ok() != should_validate) {
      std::string line =
          fmt::format("{}: validation: expected {}, got {}", file,
                      should_validate ? "valid" : "invalid", validation.ok() ? "valid" : "invalid");
      for (const ValidationIssue& e : validation.errors) {
        line += fmt::format("\n  {}:{}: policy {}: {}", e.location.line, e.location.column,
                            e.policy_id, e.message);
      }
      report.failures.push_back(std::move(line));
      ++report.failed;
    }
    if (should_validate) {
      if (Status s = ConformEntities(*schema, *entities); !s.ok()) {
        return fail("entities do not fit the schema: " + s.message());
      }
    }
  }
  for (const json::value& item : requests->get_array()) {
    const json::object* r = item.if_object();
    if (r == nullptr) return fail("a request is not an object");
    const json::value* description = r->if_contains("description");
    const std::string name = description != nullptr && description->is_string()
                                 ? std::string(description->get_string())
                                 : "(no description)";
    auto bad_request = [&](const Status& s) { return fail(name + ": " + s.message()); };
    Request request;
    auto principal = Uid(*r, "principal");
    auto action = Uid(*r, "action");
    auto resource = Uid(*r, "resource");
    if (!principal) return bad_request(principal.error());
    if (!action) return bad_request(action.error());
    if (!resource) return bad_request(resource.error());
    request.principal = std::move(*principal);
    request.action = std::move(*action);
    request.resource = std::move(*resource);
    if (const json::value* context = r->if_contains("context")) {
      auto value = ValueFromJson(json::serialize(*context));
      if (!value) return bad_request(value.error());
      if (!value->is(ValueType::kRecord))
        return bad_request(InvalidArgumentError("context must be a record"));
      request.context = std::move(*value);
    }
    const json::value* decision = r->if_contains("decision");
    if (decision == nullptr || !decision->is_string())
      return bad_request(InvalidArgumentError("no decision"));
    if (schema && should_validate) {
      auto context = ConformRequest(*schema, request.principal, request.action, request.resource,
                                    request.context);
      if (!context) {
        return bad_request(
            InvalidArgumentError("request does not fit the schema: " + context.error().message()));
      }
      request.context = std::move(*context);
    }
    auto reasons = StringSet(*r, "reason");
    auto errors = StringSet(*r, "errors");
    if (!reasons) return bad_request(reasons.error());
    if (!errors) return bad_request(errors.error());

    const Decision got = (*policies)->Authorize(request, *entities);
    const std::set<std::string> got_reasons(got.reasons.begin(), got.reasons.end());
    std::set<std::string> got_errors;
    for (const PolicyError& e : got.errors) got_errors.insert(e.policy_id);
    const std::string_view got_decision = got.allow ? "allow" : "deny";
    if (got_decision == decision->get_string() && got_reasons == *reasons &&
        got_errors == *errors) {
      ++report.passed;
      continue;
    }
    ++report.failed;
    std::string line = fmt::format(
        "{}: {}\n  expected {} reasons [{}] errors [{}]\n  actual   {} reasons [{}] errors [{}]",
        file, name, decision->get_string(), fmt::join(*reasons, ", "), fmt::join(*errors, ", "),
        got_decision, fmt::join(got_reasons, ", "), fmt::join(got_errors, ", "));
    for (const PolicyError& e : got.errors)
      line += fmt::format("\n  {}: {}", e.policy_id, e.message);
    report.failures.push_back(std::move(line));
  }
  return report;
}

}  // namespace bulwark::policy::cedar

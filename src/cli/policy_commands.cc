// bulwark policy validate --schema FILE POLICIES...
// bulwark policy test [--root DIR] FILE...
// bulwark authorize --policies FILE --entities FILE --principal UID --action UID
//                   --resource UID [--context JSON] [--schema FILE]
#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "policy/cedar_entities.h"
#include "policy/cedar_evaluator.h"
#include "policy/cedar_parser.h"
#include "policy/cedar_schema.h"
#include "policy/cedar_test_file.h"
#include "policy/cedar_validator.h"

namespace bulwark::cli {

int RunTestFiles(const std::vector<std::string>& files,
                 const std::function<Result<policy::TestReport>(const std::string&)>& run) {
  int passed = 0, failed = 0;
  for (const std::string& file : files) {
    auto report = run(file);
    if (!report) {
      std::cout << "error: " << report.error().message() << "\n";
      ++failed;
      continue;
    }
    for (const std::string& failure : report->failures) std::cout << failure << "\n";
    passed += report->passed;
    failed += report->failed;
  }
  std::cout << passed << " passed, " << failed << " failed\n";
  return failed == 0 ? kExitOk : kExitInvalid;
}

namespace {

namespace cedar = policy::cedar;

}  // namespace

void RegisterPolicyCommands(CLI::App& app, int& exit_code) {
  auto* policy = app.add_subcommand("policy", "Work with Cedar policies");
  policy->require_subcommand(1);

  auto* validate = policy->add_subcommand(
      "validate", "Type-check Cedar policies against a schema (strict mode); exit 0 if valid");
  struct ValidateOptions {
    std::string schema;
    std::vector<std::string> files;
  };
  auto vopts = std::make_shared<ValidateOptions>();
  validate->add_option("--schema", vopts->schema, "Cedar schema (text or JSON format)")->required();
  validate->add_option("policies", vopts->files, "Cedar policy files")->required();
  validate->callback([vopts, &exit_code] {
    exit_code = kExitUsage;
    std::string schema_text;
    if (!ReadFileOrComplain(vopts->schema, schema_text)) return;
    auto schema = cedar::Schema::Parse(schema_text);
    if (!schema) {
      std::cerr << "error: " << vopts->schema << ":" << schema.error().message() << "\n";
      return;
    }
    size_t policies = 0, errors = 0;
    for (const std::string& file : vopts->files) {
      std::string text;
      if (!ReadFileOrComplain(file, text)) return;
      auto parsed = cedar::ParsePolicies(text);
      if (!parsed) {
        std::cerr << "error: " << file << ":" << parsed.error().message() << "\n";
        return;
      }
      const cedar::ValidationResult result = cedar::ValidatePolicies(*schema, *parsed);
      for (const auto& [issues, kind] :
           {std::pair{&result.errors, "error"}, std::pair{&result.warnings, "warning"}}) {
        for (const cedar::ValidationIssue& issue : *issues) {
          std::cout << file << ":" << issue.location.line << ":" << issue.location.column << ": "
                    << kind << ": policy " << issue.policy_id << ": " << issue.message << "\n";
        }
      }
      policies += parsed->size();
      errors += result.errors.size();
    }
    std::cout << policies << " policies, " << errors << " errors\n";
    exit_code = errors == 0 ? kExitOk : kExitInvalid;
  });

  auto* test = policy->add_subcommand(
      "test", "Run Cedar integration-test files; ends with 'N passed, M failed'");
  struct TestOptions {
    std::string root = ".";
    std::vector<std::string> files;
  };
  auto topts = std::make_shared<TestOptions>();
  test->add_option("--root", topts->root, "Folder the paths inside the test files are relative to");
  test->add_option("files", topts->files, "Test files")->required();
  test->callback([topts, &exit_code] {
    exit_code = RunTestFiles(topts->files, [&](const std::string& file) {
      return cedar::RunCedarTestFile(file, topts->root);
    });
  });

  auto* authorize = app.add_subcommand(
      "authorize", "Decide one request against Cedar policies and entities; exit 0 allow, 1 deny");
  struct AuthorizeOptions {
    std::string policies, entities, principal, action, resource, context = "{}", schema;
  };
  auto aopts = std::make_shared<AuthorizeOptions>();
  authorize->add_option("--policies", aopts->policies, "Cedar policy file")->required();
  authorize->add_option("--entities", aopts->entities, "Entities JSON file");
  authorize->add_option("--principal", aopts->principal, "Principal, e.g. User::\"alice\"")
      ->required();
  authorize->add_option("--action", aopts->action, "Action, e.g. Action::\"view\"")->required();
  authorize->add_option("--resource", aopts->resource, "Resource, e.g. Photo::\"a.jpg\"")
      ->required();
  authorize->add_option("--context", aopts->context, "Context as a JSON object");
  authorize->add_option("--schema", aopts->schema,
                        "Cedar schema: policies must validate, and entities, the request and "
                        "its context are read through it");
  authorize->callback([aopts, &exit_code] {
    exit_code = kExitUsage;
    std::string policy_text, entity_text = "[]";
    if (!ReadFileOrComplain(aopts->policies, policy_text)) return;
    if (!aopts->entities.empty() && !ReadFileOrComplain(aopts->entities, entity_text)) return;
    auto policies = cedar::ParsePolicies(policy_text);
    if (!policies) {
      std::cerr << "error: " << aopts->policies << ":" << policies.error().message() << "\n";
      return;
    }
    auto entities = cedar::Entities::FromJson(entity_text);
    if (!entities) {
      std::cerr << "error: " << aopts->entities << ": " << entities.error().message() << "\n";
      return;
    }
    std::optional<cedar::Schema> schema;
    if (!aopts->schema.empty()) {
      std::string schema_text;
      if (!ReadFileOrComplain(aopts->schema, schema_text)) return;
      auto parsed = cedar::Schema::Parse(schema_text);
      if (!parsed) {
        std::cerr << "error: " << aopts->schema << ":" << parsed.error().message() << "\n";
        return;
      }
      const cedar::ValidationResult validation = cedar::ValidatePolicies(*parsed, *policies);
      for (const cedar::ValidationIssue& e : validation.errors) {
        std::cerr << "error: " << aopts->policies << ":" << e.location.line << ":"
                  << e.location.column << ": policy " << e.policy_id << ": " << e.message << "\n";
      }
      if (!validation.ok()) return;
      if (Status s = cedar::ConformEntities(*parsed, *entities); !s.ok()) {
        std::cerr << "error: " << aopts->entities << ": " << s.message() << "\n";
        return;
      }
      schema = std::move(*parsed);
    }
    cedar::Request request;
    for (auto [text, uid] : {std::pair{&aopts->principal, &request.principal},
                             std::pair{&aopts->action, &request.action},
                             std::pair{&aopts->resource, &request.resource}}) {
      auto parsed = cedar::ParseEntityUid(*text);
      if (!parsed) {
        std::cerr << "error: '" << *text << "': " << parsed.error().message() << "\n";
        return;
      }
      *uid = std::move(*parsed);
    }
    auto context = cedar::ValueFromJson(aopts->context);
    if (!context || !context->is(cedar::ValueType::kRecord)) {
      std::cerr << "error: --context must be a JSON object of Cedar values\n";
      return;
    }
    request.context = std::move(*context);
    if (schema) {
      auto conformed = cedar::ConformRequest(*schema, request.principal, request.action,
                                             request.resource, request.context);
      if (!conformed) {
        std::cerr << "error: the request does not fit the schema: " << conformed.error().message()
                  << "\n";
        return;
      }
      request.context = std::move(*conformed);
    }
    const cedar::Decision decision = cedar::Authorize(*policies, request, *entities);
    std::cout << (decision.allow ? "allow" : "deny") << "\n";
    for (const std::string& id : decision.reasons) std::cout << "reason: " << id << "\n";
    for (const auto& e : decision.errors) {
      std::cout << "error: " << e.policy_id << ": " << e.message << "\n";
    }
    exit_code = decision.allow ? kExitOk : kExitInvalid;
  });
}

}  // namespace bulwark::cli

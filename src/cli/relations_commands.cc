// `bulwark relations`: run OpenFGA-format test files in-process, and check,
// write and list against a running server's relations API.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "core/file.h"
#include "net/http_fetch.h"
#include "policy/fga_test_file.h"

namespace bulwark::cli {

namespace {

namespace json = boost::json;
namespace fga = policy::fga;

struct ServerOptions {
  std::string server = "http://127.0.0.1:8080";
  std::string token_env = "BULWARK_RELATIONS_TOKEN";
  std::string ca_file;
};

void AddServerOptions(CLI::App* cmd, ServerOptions& o) {
  cmd->add_option("--server", o.server, "Bulwark's base URL")->capture_default_str();
  cmd->add_option("--token-env", o.token_env,
                  "Environment variable holding the relations API token")
      ->capture_default_str();
  cmd->add_option("--ca-file", o.ca_file, "CA bundle for an https server");
}

// POSTs `body` to /v1/relations/<op>; the parsed JSON answer, or nullopt
// after printing why (exit code set to usage).
std::optional<json::value> Call(const ServerOptions& o, std::string_view op,
                                const json::object& body, int& exit_code,
                                std::string method = "POST") {
  const char* token = std::getenv(o.token_env.c_str());
  if (token == nullptr || *token == '\0') {
    std::cerr << "error: set " << o.token_env << " to the relations API token\n";
    exit_code = kExitUsage;
    return std::nullopt;
  }
  net::FetchOptions fetch;
  fetch.method = method;
  if (method != "GET") {
    fetch.body = json::serialize(body);
    fetch.content_type = "application/json";
  }
  fetch.bearer_token = token;
  fetch.ca_file = o.ca_file;
  std::string base = o.server;
  while (base.ends_with('/')) base.pop_back();
  auto response = net::FetchUrl(base + "/v1/relations/" + std::string(op), fetch);
  if (!response) {
    std::cerr << "error: " << response.error().message() << "\n";
    exit_code = kExitUsage;
    return std::nullopt;
  }
  boost::system::error_code ec;
  json::value answer = json::parse(response->body, ec);
  if (response->status != 200 || ec) {
    const json::value* message =
        !ec && answer.is_object() ? answer.get_object().if_contains("error") : nullptr;
    std::cerr << "error: HTTP " << response->status << ": "
              << (message != nullptr && message->is_string() ? std::string(message->get_string())
                                                             : response->body)
              << "\n";
    exit_code = kExitUsage;
    return std::nullopt;
  }
  return answer;
}

bool ParseJsonObject(const std::string& text, std::string_view what, json::object& out) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    std::cerr << "error: " << what << ": expected a JSON object\n";
    return false;
  }
  out = std::move(v.get_object());
  return true;
}

struct QueryOptions {
  ServerOptions server;
  std::string user, relation, target, context = "{}", token, condition, condition_context;
  bool remove = false;
};

constexpr const char* kUserHelp = "user:anne, group:eng#member, user:*";
constexpr const char* kObjectHelp = "document:roadmap";

// The positional USER RELATION OBJECT (or TYPE) every query names, with the
// help each command gives them.
void AddTupleArguments(CLI::App* cmd, QueryOptions& o, const char* user_name, const char* user_help,
                       const char* target_name, const char* target_help) {
  cmd->add_option(user_name, o.user, user_help)->required();
  cmd->add_option("relation", o.relation, "viewer")->required();
  cmd->add_option(target_name, o.target, target_help)->required();
}

void AddQueryOptions(CLI::App* cmd, QueryOptions& o) {
  cmd->add_option("--context", o.context, "Condition parameters, a JSON object");
  cmd->add_option("--consistency-token", o.token, "A token from a write: see it");
}

// Calls `op` with `body` plus the query's context and consistency token.
std::optional<json::value> Query(const QueryOptions& o, std::string_view op, json::object body,
                                 int& exit_code) {
  json::object context;
  if (!ParseJsonObject(o.context, "--context", context)) {
    exit_code = kExitUsage;
    return std::nullopt;
  }
  body["context"] = std::move(context);
  if (!o.token.empty()) body["consistency_token"] = o.token;
  return Call(o.server, op, body, exit_code);
}

// Prints the strings of answer[key], one per line.
void PrintLines(const json::value& answer, std::string_view key) {
  for (const json::value& v : answer.at(key).as_array()) std::cout << v.as_string().c_str() << "\n";
}

}  // namespace

void RegisterRelationsCommands(CLI::App& app, int& exit_code) {
  auto* relations = app.add_subcommand("relations", "Relationship-based access (OpenFGA models)");
  relations->require_subcommand(1);

  auto* test = relations->add_subcommand(
      "test", "Run OpenFGA-format test files in-process; ends with 'N passed, M failed'");
  struct TestOptions {
    std::vector<std::string> files;
    bool contextual = false;
  };
  auto topts = std::make_shared<TestOptions>();
  test->add_option("files", topts->files, "Test files (YAML)")->required();
  test->add_flag("--tuples-as-contextual", topts->contextual,
                 "Give each stage's tuples as contextual tuples instead of writing them");
  test->callback([topts, &exit_code] {
    exit_code =
        RunTestFiles(topts->files, [&](const std::string& file) -> Result<policy::TestReport> {
          BULWARK_ASSIGN_OR_RETURN(std::string text, ReadFileToString(file));
          return fga::RunRelationTests(
              text, file,
              topts->contextual ? fga::TupleMode::kContextual : fga::TupleMode::kWritten);
        });
  });

  auto qopts = std::make_shared<QueryOptions>();

  auto* check = relations->add_subcommand(
      "check", "Ask a server whether USER has RELATION to OBJECT; exit 0 yes, 1 no, 2 error");
  AddServerOptions(check, qopts->server);
  AddTupleArguments(check, *qopts, "user", kUserHelp, "object", kObjectHelp);
  AddQueryOptions(check, *qopts);
  check->callback([qopts, &exit_code] {
    auto answer = Query(*qopts, "check",
                        {{"tuple_key", json::object{{"user", qopts->user},
                                                    {"relation", qopts->relation},
                                                    {"object", qopts->target}}}},
                        exit_code);
    if (!answer) return;
    const bool allowed = answer->at("allowed").as_bool();
    std::cout << (allowed ? "allowed" : "denied") << "\n";
    for (const json::value& step : answer->at("path").as_array()) {
      std::cout << "  " << step.as_string().c_str() << "\n";
    }
    exit_code = allowed ? kExitOk : kExitInvalid;
  });

  auto* write = relations->add_subcommand(
      "write", "Write (or --delete) the tuple USER RELATION OBJECT; prints the consistency token");
  AddServerOptions(write, qopts->server);
  AddTupleArguments(write, *qopts, "user", kUserHelp, "object", kObjectHelp);
  write->add_flag("--delete", qopts->remove, "Delete the tuple instead");
  write->add_option("--condition", qopts->condition, "A condition of the model the tuple carries");
  write->add_option("--condition-context", qopts->condition_context,
                    "The condition's fixed parameters, a JSON object");
  write->callback([qopts, &exit_code] {
    json::object tuple{
        {"user", qopts->user}, {"relation", qopts->relation}, {"object", qopts->target}};
    if (!qopts->condition.empty()) {
      json::object condition{{"name", qopts->condition}};
      if (!qopts->condition_context.empty()) {
        json::object context;
        if (!ParseJsonObject(qopts->condition_context, "--condition-context", context)) {
          exit_code = kExitUsage;
          return;
        }
        condition["context"] = std::move(context);
      }
      tuple["condition"] = std::move(condition);
    }
    json::object body{{qopts->remove ? "deletes" : "writes", json::array{std::move(tuple)}}};
    auto answer = Call(qopts->server, "write", body, exit_code);
    if (!answer) return;
    std::cout << answer->at("consistency_token").as_string().c_str() << "\n";
    exit_code = kExitOk;
  });

  auto* users = relations->add_subcommand(
      "list-users", "List the users matching FILTER (user, group#member) with RELATION to OBJECT");
  AddServerOptions(users, qopts->server);
  AddTupleArguments(users, *qopts, "filter", "user, or group#member", "object", kObjectHelp);
  AddQueryOptions(users, *qopts);
  users->callback([qopts, &exit_code] {
    auto answer = Query(*qopts, "list-users",
                        {{"object", qopts->target},
                         {"relation", qopts->relation},
                         {"user_filters", json::array{json::value(qopts->user)}}},
                        exit_code);
    if (!answer) return;
    PrintLines(*answer, "users");
    exit_code = kExitOk;
  });

  auto* model = relations->add_subcommand("model", "Read or replace the server's model");
  model->require_subcommand(1);
  auto* get = model->add_subcommand("get", "Print the model (OpenFGA DSL)");
  AddServerOptions(get, qopts->server);
  get->callback([qopts, &exit_code] {
    auto answer = Call(qopts->server, "model", {}, exit_code, "GET");
    if (!answer) return;
    std::cout << answer->at("model").as_string().c_str();
    exit_code = kExitOk;
  });
  auto* put = model->add_subcommand("put", "Replace the model with FILE; prints the token");
  AddServerOptions(put, qopts->server);
  put->add_option("file", qopts->target, "The model, OpenFGA DSL")->required();
  put->callback([qopts, &exit_code] {
    std::string text;
    if (!ReadFileOrComplain(qopts->target, text)) {
      exit_code = kExitUsage;
      return;
    }
    auto answer = Call(qopts->server, "model", json::object{{"model", text}}, exit_code, "PUT");
    if (!answer) return;
    std::cout << answer->at("consistency_token").as_string().c_str() << "\n";
    exit_code = kExitOk;
  });

  auto* list = relations->add_subcommand(
      "list-objects", "List the objects of TYPE that USER has RELATION to, one per line");
  AddServerOptions(list, qopts->server);
  AddTupleArguments(list, *qopts, "user", "user:anne", "type", "document");
  AddQueryOptions(list, *qopts);
  list->callback([qopts, &exit_code] {
    auto answer = Query(
        *qopts, "list-objects",
        {{"user", qopts->user}, {"relation", qopts->relation}, {"type", qopts->target}}, exit_code);
    if (!answer) return;
    PrintLines(*answer, "objects");
    exit_code = kExitOk;
  });
}

}  // namespace bulwark::cli

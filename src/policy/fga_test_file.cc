#include "policy/fga_test_file.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "core/file.h"
#include "policy/fga_check.h"

namespace bulwark::policy::fga {

namespace {

Result<cel::Value> FromYaml(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return cel::Value();
  if (n.IsSequence()) {
    cel::List out;
    for (const YAML::Node& e : n) {
      BULWARK_ASSIGN_OR_RETURN(cel::Value v, FromYaml(e));
      out.push_back(std::move(v));
    }
    return cel::Value::OfList(std::move(out));
  }
  if (n.IsMap()) {
    cel::Map out;
    for (const auto& kv : n) {
      BULWARK_ASSIGN_OR_RETURN(cel::Value v, FromYaml(kv.second));
      out.emplace_back(cel::Value::String(kv.first.as<std::string>()), std::move(v));
    }
    return cel::Value::OfMap(std::move(out));
  }
  if (n.Tag() != "!") {  // a plain scalar: a number or bool if it reads as one
    int64_t i;
    if (YAML::convert<int64_t>::decode(n, i)) return cel::Value::Int(i);
    uint64_t u;
    if (YAML::convert<uint64_t>::decode(n, u)) return cel::Value::Uint(u);
    double d;
    if (YAML::convert<double>::decode(n, d)) return cel::Value::Double(d);
    bool b;
    if (YAML::convert<bool>::decode(n, b)) return cel::Value::Bool(b);
  }
  return cel::Value::String(n.as<std::string>());
}

Result<cel::Activation> ContextOf(const YAML::Node& n) {
  cel::Activation out;
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsMap()) return Err(InvalidArgumentError("a context must be a map"));
  for (const auto& kv : n) {
    BULWARK_ASSIGN_OR_RETURN(cel::Value v, FromYaml(kv.second));
    out.emplace(kv.first.as<std::string>(), std::move(v));
  }
  return out;
}

Result<TupleKey> TupleOf(const YAML::Node& t) {
  BULWARK_ASSIGN_OR_RETURN(ObjectRef object, ParseObject(t["object"].as<std::string>("")));
  BULWARK_ASSIGN_OR_RETURN(UserRef user, ParseUser(t["user"].as<std::string>("")));
  TupleKey key{std::move(object), t["relation"].as<std::string>(""), std::move(user), "", nullptr};
  if (const YAML::Node c = t["condition"]) {
    key.condition = c["name"].as<std::string>("");
    if (c["context"]) {
      BULWARK_ASSIGN_OR_RETURN(cel::Activation context, ContextOf(c["context"]));
      key.context = std::make_shared<const cel::Activation>(std::move(context));
    }
  }
  return key;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out = "[";
  for (const std::string& s : v) out += (out.size() > 1 ? ", " : "") + s;
  return out + "]";
}

class Runner {
 public:
  Runner(const std::string& name, TupleMode mode, TestReport& report)
      : name_(name), mode_(mode), report_(report) {}

  Status Run(const YAML::Node& root) {
    if (!root["tests"] || !root["tests"].IsSequence()) {
      return InvalidArgumentError(fmt::format("{}: expected a `tests` list", name_));
    }
    for (const YAML::Node& test : root["tests"]) {
      test_ = test["name"].as<std::string>("(unnamed)");
      model_.reset();
      written_.clear();
      for (const YAML::Node& stage : test["stages"]) BULWARK_RETURN_IF_ERROR(Stage(stage));
    }
    return OkStatus();
  }

 private:
  Status Stage(const YAML::Node& stage) {
    if (stage["model"] || stage["model_file"]) {
      std::string text;
      if (stage["model_file"]) {
        const auto path =
            std::filesystem::path(name_).parent_path() / stage["model_file"].as<std::string>();
        auto read = ReadFileToString(path.string());
        if (!read) return Bad(read.error());
        text = std::move(*read);
      } else {
        text = stage["model"].as<std::string>();
      }
      auto model = Model::Parse(text);
      if (!model) {
        return InvalidArgumentError(
            fmt::format("{}: test {}: model: {}", name_, test_, model.error().message()));
      }
      model_ = std::move(*model);
    }
    if (!model_) return InvalidArgumentError(fmt::format("{}: test {}: no model", name_, test_));
    for (const YAML::Node& t : stage["tuples"]) {
      auto tuple = TupleOf(t);
      if (!tuple) return Bad(tuple.error());
      if (Status s = ValidateTuple(*model_, *tuple); !s.ok()) return Bad(s);
      written_.push_back(std::move(*tuple));
    }
    index_ = TupleIndex();
    staged_.clear();
    for (const TupleKey& t : written_) {
      if (mode_ == TupleMode::kWritten) {
        index_.Add(t);
      } else if (ValidateTuple(*model_, t).ok()) {
        // As contextual tuples, those the current model allows (it would
        // refuse the others, as a write would).
        staged_.push_back(t);
      }
    }
    for (const YAML::Node& a : stage["checkAssertions"]) BULWARK_RETURN_IF_ERROR(CheckAssertion(a));
    for (const YAML::Node& a : stage["listObjectsAssertions"]) {
      BULWARK_RETURN_IF_ERROR(ListObjectsAssertion(a));
    }
    for (const YAML::Node& a : stage["listUsersAssertions"]) {
      BULWARK_RETURN_IF_ERROR(ListUsersAssertion(a));
    }
    return OkStatus();
  }

  Status Bad(const Status& s) const {
    return InvalidArgumentError(fmt::format("{}: test {}: {}", name_, test_, s.message()));
  }

  Result<std::vector<TupleKey>> Contextual(const YAML::Node& a) {
    std::vector<TupleKey> out = staged_;
    for (const YAML::Node& t : a["contextualTuples"]) {
      BULWARK_ASSIGN_OR_RETURN(TupleKey key, TupleOf(t));
      out.push_back(std::move(key));
    }
    return out;
  }

  // Records the outcome of one assertion.
  template <typename T, typename Show>
  void Expect(const YAML::Node& a, const std::string& query, const Result<T>& got, const T& want,
              Show show) {
    std::string failure;
    if (a["errorCode"]) {
      if (got) {
        failure =
            fmt::format("expected error {}, got {}", a["errorCode"].as<std::string>(), show(*got));
      }
    } else if (!got) {
      failure = fmt::format("expected {}, got error: {}", show(want), got.error().message());
    } else if (!(*got == want)) {
      failure = fmt::format("expected {}, got {}", show(want), show(*got));
    }
    if (failure.empty()) {
      ++report_.passed;
    } else {
      ++report_.failed;
      report_.failures.push_back(fmt::format("{}: {}: {}: {}", name_, test_, query, failure));
    }
  }

  Status CheckAssertion(const YAML::Node& a) {
    const YAML::Node tuple = a["tuple"];
    const std::string query =
        fmt::format("check {} {} {}", tuple["user"].as<std::string>(""),
                    tuple["relation"].as<std::string>(""), tuple["object"].as<std::string>(""));
    Result<bool> got = [&]() -> Result<bool> {
      CheckRequest request;
      BULWARK_ASSIGN_OR_RETURN(request.object, ParseObject(tuple["object"].as<std::string>("")));
      BULWARK_ASSIGN_OR_RETURN(request.user, ParseUser(tuple["user"].as<std::string>("")));
      request.relation = tuple["relation"].as<std::string>("");
      BULWARK_ASSIGN_OR_RETURN(request.contextual_tuples, Contextual(a));
      BULWARK_ASSIGN_OR_RETURN(request.context, ContextOf(a["context"]));
      BULWARK_ASSIGN_OR_RETURN(CheckResult r, fga::Check(*model_, index_, request));
      return r.allowed;
    }();
    const bool want = a["expectation"].as<bool>(false);
    Expect(a, query, got, want, [](bool b) { return std::string(b ? "true" : "false"); });
    return OkStatus();
  }

  static std::vector<std::string> Want(const YAML::Node& a) {
    std::vector<std::string> want;
    if (a["expectation"] && a["expectation"].IsSequence()) {
      for (const YAML::Node& o : a["expectation"]) want.push_back(o.as<std::string>());
    }
    std::sort(want.begin(), want.end());
    want.erase(std::unique(want.begin(), want.end()), want.end());
    return want;
  }

  Status ListObjectsAssertion(const YAML::Node& a) {
    const YAML::Node r = a["request"];
    const std::string query =
        fmt::format("list-objects {} {} {}", r["user"].as<std::string>(""),
                    r["relation"].as<std::string>(""), r["type"].as<std::string>(""));
    Result<std::vector<std::string>> got = [&]() -> Result<std::vector<std::string>> {
      ListObjectsRequest request;
      request.type = r["type"].as<std::string>("");
      request.relation = r["relation"].as<std::string>("");
      BULWARK_ASSIGN_OR_RETURN(request.user, ParseUser(r["user"].as<std::string>("")));
      BULWARK_ASSIGN_OR_RETURN(request.contextual_tuples, Contextual(a));
      BULWARK_ASSIGN_OR_RETURN(request.context, ContextOf(a["context"]));
      return fga::ListObjects(*model_, index_, request);
    }();
    Expect(a, query, got, Want(a), Join);
    return OkStatus();
  }

  Status ListUsersAssertion(const YAML::Node& a) {
    const YAML::Node r = a["request"];
    std::vector<std::string> filters;
    for (const YAML::Node& f : r["filters"]) filters.push_back(f.as<std::string>());
    const std::string query =
        fmt::format("list-users {} {} {}", Join(filters), r["relation"].as<std::string>(""),
                    r["object"].as<std::string>(""));
    Result<std::vector<std::string>> got = [&]() -> Result<std::vector<std::string>> {
      ListUsersRequest request;
      BULWARK_ASSIGN_OR_RETURN(request.object, ParseObject(r["object"].as<std::string>("")));
      request.relation = r["relation"].as<std::string>("");
      request.filters = filters;
      BULWARK_ASSIGN_OR_RETURN(request.contextual_tuples, Contextual(a));
      BULWARK_ASSIGN_OR_RETURN(request.context, ContextOf(a["context"]));
      return fga::ListUsers(*model_, index_, request);
    }();
    Expect(a, query, got, Want(a), Join);
    return OkStatus();
  }

  const std::string& name_;
  TupleMode mode_;
  TestReport& report_;
  std::string test_;
  std::optional<Model> model_;
  std::vector<TupleKey> written_;
  std::vector<TupleKey> staged_;
  TupleIndex index_;
};

}  // namespace

Result<TestReport> RunRelationTests(const std::string& text, const std::string& name,
                                    TupleMode mode) {
  TestReport report;
  try {
    const YAML::Node root = YAML::Load(text);
    Runner runner(name, mode, report);
    BULWARK_RETURN_IF_ERROR(runner.Run(root));
  } catch (const YAML::Exception& e) {
    return Err(InvalidArgumentError(fmt::format("{}: {}", name, e.what())));
  }
  return report;
}

}  // namespace bulwark::policy::fga

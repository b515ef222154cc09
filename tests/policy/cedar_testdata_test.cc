// Runs the Cedar integration tests of the shared test data: for every
// request, the decision, the determining policies and the erroring policies
// must equal the expected ones.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "policy/cedar_evaluator.h"
#include "policy/cedar_parser.h"

namespace bulwark::policy::cedar {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string Root() {
  const char* env = std::getenv("BULWARK_TESTDATA");
  return std::string(env != nullptr ? env : BULWARK_TESTDATA_DIR) + "/cedar";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

EntityUid Uid(const json::value& v) {
  return {std::string(v.at("type").as_string()), std::string(v.at("id").as_string())};
}

std::set<std::string> Strings(const json::value& v) {
  std::set<std::string> out;
  for (const auto& s : v.as_array()) out.insert(std::string(s.as_string()));
  return out;
}

TEST(CedarTestDataTest, EveryRequestDecidesAsExpected) {
  int passed = 0, failed = 0;
  for (const auto& entry : fs::recursive_directory_iterator(Root() + "/tests")) {
    if (entry.path().extension() != ".json") continue;
    const json::value test = json::parse(ReadFile(entry.path()));
    auto policies =
        ParsePolicies(ReadFile(Root() + "/" + std::string(test.at("policies").as_string())));
    ASSERT_TRUE(policies.has_value()) << entry.path();
    auto entities =
        Entities::FromJson(ReadFile(Root() + "/" + std::string(test.at("entities").as_string())));
    ASSERT_TRUE(entities.has_value()) << entry.path() << entities.error().message();
    for (const auto& r : test.at("requests").as_array()) {
      Request request{Uid(r.at("principal")), Uid(r.at("action")), Uid(r.at("resource"))};
      auto context = ValueFromJson(json::serialize(r.at("context")));
      ASSERT_TRUE(context.has_value()) << entry.path();
      request.context = *context;
      Decision d = Authorize(*policies, request, *entities);
      std::set<std::string> reasons(d.reasons.begin(), d.reasons.end());
      std::set<std::string> errors;
      for (const auto& e : d.errors) errors.insert(e.policy_id);
      const bool ok = (d.allow ? "allow" : "deny") == r.at("decision").as_string() &&
                      reasons == Strings(r.at("reason")) && errors == Strings(r.at("errors"));
      ok ? ++passed : ++failed;
      EXPECT_TRUE(ok) << entry.path().filename() << " " << r.at("description").as_string()
                      << ": got " << (d.allow ? "allow" : "deny") << " reasons "
                      << ::testing::PrintToString(reasons) << " errors "
                      << ::testing::PrintToString(errors)
                      << (d.errors.empty() ? "" : " (" + d.errors[0].message + ")");
    }
  }
  std::cout << passed << " passed, " << failed << " failed\n";
}

}  // namespace
}  // namespace bulwark::policy::cedar

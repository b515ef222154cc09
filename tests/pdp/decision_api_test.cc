// The decision API: the token guards every call, decisions and their reasons
// come back as JSON (one or a batch), each decision is audited, and bad
// requests get a clear status naming the field.
#include "pdp/decision_api.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "audit/file_audit_sink.h"
#include "identity/static_token.h"
#include "net/request_path.h"

namespace bulwark::pdp {
namespace {

namespace json = boost::json;
namespace cedar = policy::cedar;
constexpr std::string_view kToken = "a-decision-api-token-of-32-chars-or-more";

class DecisionApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto policies = cedar::PolicySet::Parse(R"(
      @id("editors-edit")
      permit (principal in Role::"editor", action == Action::"edit", resource);
      @id("office-only")
      forbid (principal, action, resource)
        unless { context has ip && context.ip.isInRange(ip("10.0.0.0/8")) };
    )");
    ASSERT_TRUE(policies.has_value()) << policies.error().message();
    auto entities = cedar::Entities::FromJson(R"([
      {"uid": {"type": "User", "id": "eve"}, "attrs": {}, "parents": [{"type": "Role", "id": "editor"}]},
      {"uid": {"type": "Role", "id": "editor"}, "attrs": {}, "parents": []}])");
    ASSERT_TRUE(entities.has_value());
    audit_path_ = (std::filesystem::temp_directory_path() /
                   ("bulwark-pdp-audit-" + std::to_string(::getpid()) + ".jsonl"))
                      .string();
    auto sink = audit::FileAuditSink::Open({.path = audit_path_});
    ASSERT_TRUE(sink.has_value()) << sink.error().message();
    sink_ = std::move(*sink);
    queue_ = std::move(*audit::AuditQueue::Create(*sink_));
    api_ = std::make_unique<DecisionApi>(
        DecisionApiOptions{.token_sha256 = *identity::HashStaticToken(kToken, "token")},
        std::make_shared<cedar::FixedSnapshot>(cedar::CedarSnapshot{
            std::move(*policies), std::make_shared<const cedar::Entities>(std::move(*entities)),
            schema_}),
        queue_.get(), clock_);
  }
  void TearDown() override {
    api_.reset();
    if (queue_) queue_->Stop();
    std::filesystem::remove(audit_path_);
  }

  net::HttpResponse Call(std::string body, std::string target = "/v1/authorize",
                         std::string token = std::string(kToken), std::string method = "POST",
                         std::string content_type = "application/json") {
    net::HttpRequest request{.method = std::move(method), .target = std::move(target)};
    if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
    if (!content_type.empty()) request.headers.emplace_back("Content-Type", content_type);
    request.body = std::move(body);
    request.remote_address = "10.1.2.3";
    std::optional<net::HttpResponse> response =
        api_->Handle(request, net::NormalizeRequestTarget(request.target)->path);
    EXPECT_TRUE(response.has_value());
    return response.value_or(net::HttpResponse{.status = 0});
  }
  static json::object Body(const net::HttpResponse& r) { return json::parse(r.body).as_object(); }

  static constexpr std::string_view kEdit =
      R"({"principal": {"type": "User", "id": "eve"}, "action": "Action::\"edit\"",
          "resource": {"type": "Doc", "id": "d"},
          "context": {"ip": {"__extn": {"fn": "ip", "arg": "10.9.8.7"}}}})";

  FakeClock clock_{1'800'000'000};
  std::string audit_path_;
  std::unique_ptr<audit::FileAuditSink> sink_;
  std::unique_ptr<audit::AuditQueue> queue_;
  std::unique_ptr<DecisionApi> api_;
  std::shared_ptr<const cedar::Schema> schema_;  // set by a test before SetUp's API is rebuilt
};

TEST_F(DecisionApiTest, DecidesAndExplains) {
  net::HttpResponse r = Call(std::string(kEdit));
  ASSERT_EQ(r.status, 200) << r.body;
  json::object body = Body(r);
  EXPECT_EQ(body["decision"], "allow");
  EXPECT_EQ(body["reasons"], (json::array{"editors-edit"}));
  EXPECT_TRUE(body["errors"].as_array().empty());

  // From outside the office network the forbid wins.
  std::string outside(kEdit);
  outside.replace(outside.find("10.9.8.7"), 8, "192.0.2.1");
  body = Body(Call(outside));
  EXPECT_EQ(body["decision"], "deny");
  EXPECT_EQ(body["reasons"], (json::array{"office-only"}));

  // A principal with no role: default deny, no reasons.
  body = Body(Call(R"({"principal": "User::\"bob\"", "action": "Action::\"edit\"",
                       "resource": "Doc::\"d\"", "context": {"ip": {"__extn": {"fn": "ip", "arg": "10.0.0.1"}}}})"));
  EXPECT_EQ(body["decision"], "deny");
  EXPECT_TRUE(body["reasons"].as_array().empty());
}

TEST_F(DecisionApiTest, ErroringPoliciesAreReported) {
  // context.ip is a string: the forbid's condition fails to evaluate, so it
  // is skipped and reported, and the permit decides.
  json::object body = Body(Call(R"({"principal": "User::\"eve\"", "action": "Action::\"edit\"",
                                    "resource": "Doc::\"d\"", "context": {"ip": "10.0.0.1"}})"));
  EXPECT_EQ(body["decision"], "allow");
  ASSERT_EQ(body["errors"].as_array().size(), 1u);
  EXPECT_EQ(body["errors"].as_array()[0].as_object().at("policy"), "office-only");
}

TEST_F(DecisionApiTest, Batch) {
  const std::string batch = R"({"requests": [)" + std::string(kEdit) +
                            R"(, {"principal": "User::\"bob\"", "action": "Action::\"edit\"",
                               "resource": "Doc::\"d\""}]})";
  net::HttpResponse r = Call(batch, "/v1/authorize/batch");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::object body = Body(r);
  const json::array& results = body.at("results").as_array();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].as_object().at("decision"), "allow");
  EXPECT_EQ(results[1].as_object().at("decision"), "deny");

  std::string big = R"({"requests": [)";
  for (size_t i = 0; i <= kMaxBatch; ++i) big += (i ? "," : "") + std::string(kEdit);
  EXPECT_EQ(Call(big + "]}", "/v1/authorize/batch").status, 400);
  r = Call(R"({"requests": [{"principal": "nope"}]})", "/v1/authorize/batch");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("requests[0]: principal"), std::string::npos) << r.body;
}

TEST_F(DecisionApiTest, RefusesWithoutTheToken) {
  net::HttpResponse r = Call(std::string(kEdit), "/v1/authorize", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(std::find(r.headers.begin(), r.headers.end(),
                      std::pair<std::string, std::string>{"WWW-Authenticate",
                                                          "Bearer realm=\"bulwark-pdp\""}),
            r.headers.end());
  // A token that does not match is an invalid_token (RFC 6750 section 3).
  r = Call(std::string(kEdit), "/v1/authorize", std::string(kToken) + "x");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(
      std::find(r.headers.begin(), r.headers.end(),
                std::pair<std::string, std::string>{
                    "WWW-Authenticate", "Bearer realm=\"bulwark-pdp\", error=\"invalid_token\""}),
      r.headers.end());
  EXPECT_EQ(Call(std::string(kEdit), "/v1/authorize", "short").status, 401);
  // Two Authorization headers: refused, not the first or the last one taken.
  net::HttpRequest twice{.method = "POST", .target = "/v1/authorize"};
  twice.headers = {{"Authorization", "Bearer " + std::string(kToken)},
                   {"Authorization", "Bearer " + std::string(kToken)},
                   {"Content-Type", "application/json"}};
  twice.body = std::string(kEdit);
  EXPECT_EQ(api_->Handle(twice, "/v1/authorize")->status, 401);
}

TEST_F(DecisionApiTest, BadRequestsGetClearErrors) {
  EXPECT_EQ(Call("", "/v1/authorize", std::string(kToken), "GET").status, 405);
  EXPECT_EQ(
      Call(std::string(kEdit), "/v1/authorize", std::string(kToken), "POST", "text/plain").status,
      415);
  EXPECT_EQ(Call("{not json").status, 400);
  net::HttpResponse r = Call(R"({"principal": "User::\"a\"", "action": "Action::\"b\"",
                                 "resource": "R::\"c\"", "extra": 1})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("unknown field \\\"extra\\\""), std::string::npos) << r.body;
  r = Call(R"({"principal": {"type": "User"}, "action": "Action::\"b\"", "resource": "R::\"c\""})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("principal"), std::string::npos);
  r = Call(R"({"principal": "User::\"a\"", "action": "Action::\"b\"", "resource": "R::\"c\"",
               "context": {"x": 1.5}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("context"), std::string::npos);
  // Other paths are not the decision API's.
  net::HttpRequest other{.method = "POST", .target = "/v1/other"};
  EXPECT_FALSE(api_->Handle(other, "/v1/other").has_value());
}

TEST_F(DecisionApiTest, WithASchemaRequestsAreReadThroughItAndMustFit) {
  auto schema = cedar::Schema::Parse(R"(
    entity Role; entity User in [Role]; entity Doc;
    action edit appliesTo { principal: User, resource: Doc, context: { ip?: ipaddr } };)");
  ASSERT_TRUE(schema.has_value()) << schema.error().message();
  schema_ = std::make_shared<const cedar::Schema>(std::move(*schema));
  TearDown();
  SetUp();
  // The schema says ip is an ipaddr: a plain string is read as one.
  net::HttpResponse r = Call(R"({"principal": "User::\"eve\"", "action": "Action::\"edit\"",
                                 "resource": "Doc::\"d\"", "context": {"ip": "10.9.8.7"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["decision"], "allow");
  // Requests that do not fit the schema are refused, not decided.
  r = Call(
      R"({"principal": "Doc::\"x\"", "action": "Action::\"edit\"", "resource": "Doc::\"d\""})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("principal type Doc"), std::string::npos) << r.body;
  r = Call(R"({"principal": "User::\"eve\"", "action": "Action::\"edit\"",
               "resource": "Doc::\"d\"", "context": {"ip": "not-an-ip"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("context.ip"), std::string::npos) << r.body;
  r = Call(
      R"({"principal": "User::\"eve\"", "action": "Action::\"delete\"", "resource": "Doc::\"d\""})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("not declared"), std::string::npos) << r.body;
}

TEST_F(DecisionApiTest, EveryDecisionIsAudited) {
  ASSERT_EQ(Call(std::string(kEdit)).status, 200);
  queue_->Stop();
  std::ifstream in(audit_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string log = ss.str();
  EXPECT_NE(log.find(R"("subject":"User::\"eve\"")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("route":"pdp")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("decision":"allow")"), std::string::npos) << log;
  EXPECT_NE(log.find("editors-edit"), std::string::npos) << log;
  EXPECT_EQ(log.find(kToken), std::string::npos);  // the token is never logged
}

// Calls refused for their token are decisions too: someone probing for the
// token leaves a trail, as at the admin API, and what they sent is not in it.
TEST_F(DecisionApiTest, CallsRefusedForTheTokenAreAudited) {
  ASSERT_EQ(Call(std::string(kEdit), "/v1/authorize", "").status, 401);
  ASSERT_EQ(Call(std::string(kEdit), "/v1/authorize/batch", "guessed-token-value").status, 401);
  queue_->Stop();
  std::ifstream in(audit_path_);
  std::vector<json::object> records;
  for (std::string line; std::getline(in, line);) {
    records.push_back(json::parse(line).as_object());
  }
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].at("reason"), "pdp token missing");
  EXPECT_EQ(records[1].at("reason"), "pdp token invalid");
  for (const json::object& record : records) {
    EXPECT_EQ(record.at("decision"), "deny");
    EXPECT_EQ(record.at("status"), 401);
    EXPECT_EQ(record.at("route"), "pdp");
    EXPECT_EQ(record.at("client_ip"), "10.1.2.3");
  }
  EXPECT_EQ(records[1].at("resource"), "/v1/authorize/batch");
  EXPECT_EQ(json::serialize(records[1]).find("guessed-token-value"), std::string::npos);
}

}  // namespace
}  // namespace bulwark::pdp

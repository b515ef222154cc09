// The id each request is known by: made fresh, kept from a trusted proxy when
// asked, or not made at all.
#include "gateway/request_id.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>
#include <thread>

#include "gateway_fixture.h"

namespace bulwark::gateway::testing {
namespace {

const std::regex kUuidV4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

TEST(RequestIdTest, NewIdsAreVersion4UuidsThatDoNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    std::string id = NewRequestId();
    ASSERT_TRUE(std::regex_match(id, kUuidV4)) << id;
    ASSERT_TRUE(seen.insert(std::move(id)).second);
  }
  // Another thread draws its own bytes: its ids do not meet this thread's.
  std::thread([&] {
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(NewRequestId()).second);
  }).join();
}

TEST(RequestIdTest, WellFormedIdsAreThoseSafeInAHeaderALogAndJson) {
  for (std::string_view id :
       {"0b7c9a1e-3f2d-4c8b-9a6e-5d4c3b2a1f0e", "a", "00-4bf92f3577b34da6a3ce929d0e0e4736-01",
        "Zm9vYmFy+/=", "req_42.1:x"}) {
    EXPECT_TRUE(IsWellFormedRequestId(id)) << id;
  }
  EXPECT_TRUE(IsWellFormedRequestId(std::string(128, 'a')));
  EXPECT_FALSE(IsWellFormedRequestId(std::string(129, 'a')));
  for (std::string_view id : {"", "a b", "a\"b", "a\\b", "a,b", "a;b", "\xc3\xa9", "a\tb"}) {
    EXPECT_FALSE(IsWellFormedRequestId(id)) << id;
  }
  EXPECT_FALSE(IsWellFormedRequestId(std::string_view("a\0b", 3)));
}

class RequestIdGatewayTest : public GatewayTest {
 protected:
  std::unique_ptr<Gateway> Make(RequestIdMode mode) {
    GatewayOptions options = Options(
        {{.name = "public", .path_prefix = "/public", .authn = {.mode = AuthnMode::kNone}},
         {.name = "orders", .path_prefix = "/orders", .authz = {.scopes = {"orders:read"}}}});
    options.request_id = mode;
    auto gw = Gateway::Create(std::move(options), clock_);
    EXPECT_TRUE(gw.has_value()) << gw.error().ToString();
    return gw ? std::move(*gw) : nullptr;
  }
  // Decides GET `target` with the X-Request-Id fields `ids`.
  static Decision DecideWith(const Gateway& gw, std::string_view target,
                             std::vector<std::string> ids) {
    HeaderList headers = {{"Host", "api.example"}};
    for (std::string& id : ids) headers.emplace_back("X-Request-Id", std::move(id));
    RequestFacts facts{
        .method = "GET", .target = target, .client_ip = "192.0.2.7", .headers = &headers};
    facts.host = FillCredentialFacts(headers, facts);
    return gw.Decide(facts);
  }
};

// By default a client cannot choose the id its request is audited under:
// allowed or refused, the request gets a new one.
TEST_F(RequestIdGatewayTest, GenerateGivesEveryDecisionANewId) {
  auto gw = Make(RequestIdMode::kGenerate);
  const Decision allowed = DecideWith(*gw, "/public/x", {"chosen-by-client"});
  EXPECT_EQ(allowed.status, 200);
  EXPECT_TRUE(std::regex_match(allowed.request_id, kUuidV4)) << allowed.request_id;
  const Decision refused = DecideWith(*gw, "/orders/1", {});
  EXPECT_EQ(refused.status, 401);
  EXPECT_TRUE(std::regex_match(refused.request_id, kUuidV4)) << refused.request_id;
  const Decision bad_path = DecideWith(*gw, "/public/%2e%2e%2f", {});
  EXPECT_EQ(bad_path.status, 400);
  EXPECT_FALSE(bad_path.request_id.empty());
  EXPECT_NE(DecideWith(*gw, "/public/x", {}).request_id, allowed.request_id);
}

TEST_F(RequestIdGatewayTest, PreserveKeepsOneWellFormedIdAndReplacesTheRest) {
  auto gw = Make(RequestIdMode::kPreserve);
  EXPECT_EQ(DecideWith(*gw, "/public/x", {"4bf92f3577b34da6"}).request_id, "4bf92f3577b34da6");
  EXPECT_EQ(DecideWith(*gw, "/orders/1", {"4bf92f3577b34da6"}).request_id, "4bf92f3577b34da6");
  // Malformed (it would land in logs and JSON as sent), or two of them: new.
  for (const auto& ids : std::vector<std::vector<std::string>>{
           {"a b"}, {"x\"y"}, {std::string(129, 'a')}, {""}, {"one", "two"}, {}}) {
    const Decision d = DecideWith(*gw, "/public/x", ids);
    EXPECT_TRUE(std::regex_match(d.request_id, kUuidV4)) << d.request_id;
  }
}

TEST_F(RequestIdGatewayTest, OffMakesNoId) {
  auto gw = Make(RequestIdMode::kOff);
  EXPECT_EQ(DecideWith(*gw, "/public/x", {"4bf92f3577b34da6"}).request_id, "");
}

}  // namespace
}  // namespace bulwark::gateway::testing

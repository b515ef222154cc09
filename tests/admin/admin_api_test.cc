// The admin API over a real (memory) store: the admin token guards every
// call, API keys are created, listed, read and revoked, and bad requests get
// a clear status without leaking anything.
#include "admin/admin_api.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "net/request_path.h"
#include "store/open_store.h"

namespace bulwark::admin {
namespace {

namespace json = boost::json;
constexpr std::string_view kToken = "an-admin-token-of-at-least-32-characters";

class AdminApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(*store::OpenStore({.backend = store::StoreOptions::Backend::kMemory}));
    service_ = std::make_unique<identity::ApiKeyService>(*store_, clock_);
    api_ = std::make_unique<AdminApi>(AdminOptions{.token_sha256 = *HashAdminToken(kToken)},
                                      *service_, nullptr, clock_);
  }

  net::HttpResponse Call(std::string method, std::string target, std::string body = "",
                         std::string token = std::string(kToken),
                         std::string content_type = "application/json",
                         std::string peer = "127.0.0.1") {
    net::HttpRequest request{.method = std::move(method), .target = std::move(target)};
    if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
    if (!content_type.empty()) request.headers.emplace_back("Content-Type", content_type);
    request.body = std::move(body);
    request.remote_address = std::move(peer);
    std::optional<net::HttpResponse> response = api_->Handle(request, Path(request));
    EXPECT_TRUE(response.has_value());
    return response.value_or(net::HttpResponse{.status = 0});
  }

  // The normalized path, as the server computes it for its handlers.
  static std::string Path(const net::HttpRequest& request) {
    return net::NormalizeRequestTarget(request.target)->path;
  }

  static json::object Body(const net::HttpResponse& r) { return json::parse(r.body).as_object(); }
  static std::string HeaderOf(const net::HttpResponse& r, std::string_view name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }

  FakeClock clock_{1'800'000'000};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<identity::ApiKeyService> service_;
  std::unique_ptr<AdminApi> api_;
};

constexpr std::string_view kKeys = "/_bulwark/admin/v1/api-keys";

TEST_F(AdminApiTest, CreatesListsReadsAndRevokesApiKeys) {
  net::HttpResponse created =
      Call("POST", std::string(kKeys),
           R"({"name":"deploys","subject":"ci-bot","scopes":["deploy"],"ttl_seconds":86400})");
  ASSERT_EQ(created.status, 201) << created.body;
  json::object key = Body(created);
  const std::string id(key["id"].as_string());
  EXPECT_TRUE(std::string_view(key["key"].as_string()).starts_with("bwk_" + id + "_"));
  EXPECT_EQ(key["expires_at"].as_int64(), 1'800'000'000 + 86400);
  bool no_store = false;
  for (const auto& [k, v] : created.headers) no_store |= k == "Cache-Control" && v == "no-store";
  EXPECT_TRUE(no_store);

  net::HttpResponse list = Call("GET", std::string(kKeys));
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(Body(list)["api_keys"].as_array().size(), 1u);
  // Neither the key nor its hash is ever listed.
  EXPECT_EQ(list.body.find("bwk_"), std::string::npos);
  EXPECT_EQ(list.body.find("hash"), std::string::npos);

  net::HttpResponse one = Call("GET", std::string(kKeys) + "/" + id);
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(Body(one)["subject"].as_string(), "ci-bot");
  EXPECT_TRUE(Body(one)["revoked_at"].is_null());

  net::HttpResponse revoked = Call("DELETE", std::string(kKeys) + "/" + id);
  ASSERT_EQ(revoked.status, 200);
  EXPECT_EQ(Body(revoked)["revoked_at"].as_int64(), 1'800'000'000);
  EXPECT_EQ(Call("DELETE", std::string(kKeys) + "/0000000000000000").status, 404);
  EXPECT_EQ(Call("GET", std::string(kKeys) + "/nope").status, 404);
}

TEST_F(AdminApiTest, EveryCallNeedsTheAdminToken) {
  for (const std::string& token : {std::string(), std::string("wrong"), std::string(kToken) + "x",
                                   std::string(kToken).substr(1)}) {
    net::HttpResponse r = Call("GET", std::string(kKeys), "", token);
    EXPECT_EQ(r.status, 401) << token;
    EXPECT_NE(r.body.find("admin token required"), std::string::npos);
    // RFC 6750 section 3: a token that was sent and does not match is an
    // invalid_token; no token, a bare challenge.
    std::string challenge;
    for (const auto& [name, value] : r.headers) {
      if (name == "WWW-Authenticate") challenge = value;
    }
    EXPECT_EQ(challenge, token.empty() ? "Bearer realm=\"bulwark-admin\""
                                       : "Bearer realm=\"bulwark-admin\", error=\"invalid_token\"")
        << token;
  }
  net::HttpResponse r = Call("POST", std::string(kKeys), R"({"name":"x","subject":"y"})", "wrong");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(service_->List()->size(), 0u);
}

// From an address the API is not open to, even the admin token gets 403,
// and nothing changes; the server reads no body of such a call.
TEST_F(AdminApiTest, CallsFromAnAddressItIsNotOpenToAreRefused) {
  api_ = std::make_unique<AdminApi>(
      AdminOptions{.token_sha256 = *HashAdminToken(kToken),
                   .peer_allowed = [](std::string_view peer) { return peer == "10.0.0.9"; }},
      *service_, nullptr, clock_);
  const std::string create = R"({"name":"x","subject":"y"})";
  net::HttpResponse r =
      Call("POST", std::string(kKeys), create, std::string(kToken), "application/json", "10.0.0.8");
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("not open to this address"), std::string::npos) << r.body;
  EXPECT_EQ(service_->List()->size(), 0u);
  net::HttpRequest head{.method = "POST", .target = std::string(kKeys)};
  head.headers.emplace_back("Authorization", "Bearer " + std::string(kToken));
  head.remote_address = "10.0.0.8";
  EXPECT_FALSE(api_->TokenAccepted(head));
  head.remote_address = "10.0.0.9";
  EXPECT_TRUE(api_->TokenAccepted(head));
  EXPECT_EQ(
      Call("POST", std::string(kKeys), create, std::string(kToken), "application/json", "10.0.0.9")
          .status,
      201);
  EXPECT_EQ(Call("GET", std::string(kKeys), "", "wrong", "application/json", "10.0.0.9").status,
            401);
}

TEST_F(AdminApiTest, RefusesBadRequestsClearly) {
  EXPECT_EQ(Call("POST", std::string(kKeys), "not json").status, 400);
  EXPECT_EQ(Call("POST", std::string(kKeys), R"({"name":"x"})").status, 400);  // no subject
  net::HttpResponse unknown =
      Call("POST", std::string(kKeys), R"({"name":"x","subject":"y","admin":true})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(Body(unknown)["error"].as_string(), "admin: unknown field");
  EXPECT_EQ(HeaderOf(unknown, "X-Content-Type-Options"), "nosniff");
  // A member twice: a lenient parser keeps one, and what read the body
  // before (a proxy, a log) may have read the other.
  EXPECT_EQ(Call("POST", std::string(kKeys), R"({"name":"x","subject":"y","name":"z"})").status,
            400);
  EXPECT_EQ(
      Call("POST", std::string(kKeys), R"({"name":"x","subject":"y","subject":"root"})").status,
      400);
  EXPECT_EQ(Call("POST", std::string(kKeys), R"({"name":"x","subject":"y","scopes":"a"})").status,
            400);
  // A form post (what a cross-site page can send) is not accepted.
  EXPECT_EQ(Call("POST", std::string(kKeys), R"({"name":"x","subject":"y"})", std::string(kToken),
                 "application/x-www-form-urlencoded")
                .status,
            415);
  EXPECT_EQ(Call("PUT", std::string(kKeys)).status, 405);
  EXPECT_EQ(Call("GET", "/_bulwark/admin/v1/other").status, 404);
  EXPECT_EQ(service_->List()->size(), 0u);
}

TEST_F(AdminApiTest, JudgesTheNormalizedPath) {
  // Other paths are not the admin API's; tricks that lead into it are.
  net::HttpRequest other{.method = "GET", .target = "/orders"};
  EXPECT_FALSE(api_->Handle(other, Path(other)).has_value());
  EXPECT_EQ(Call("GET", "//_bulwark/admin/v1/api-keys").status, 200);
  EXPECT_EQ(Call("GET", "/x/../_bulwark/admin/v1/api-keys", "", "").status, 401);
}

TEST(AdminTokenTest, MustBeLongAndPlain) {
  EXPECT_FALSE(HashAdminToken("short").has_value());
  EXPECT_FALSE(HashAdminToken(std::string(40, 'a') + " b").has_value());
  // Only what a Bearer credential may carry (RFC 6750's b64token).
  for (const char* bad : {"!", "$", ",", "\"", "\t", "=a", "\x80"}) {
    EXPECT_FALSE(HashAdminToken(std::string(40, 'a') + bad).has_value()) << bad;
  }
  EXPECT_TRUE(HashAdminToken(std::string(40, 'a') + "-._~+/==").has_value());
  EXPECT_EQ(HashAdminToken(kToken)->size(), 32u);
}

}  // namespace
}  // namespace bulwark::admin

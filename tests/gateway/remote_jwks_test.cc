// Issuers whose keys come from a jwks_uri: a real HTTPS server (Bulwark's own
// listener with a test CA) plays the identity provider. Fetched at start,
// refetched when a token names an unknown kid (at most once per interval,
// however many such tokens come), last good keys kept when the provider
// fails, nothing trusted over a connection that does not verify.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include "gateway/jwt_authenticator.h"
#include "jose/jwk.h"
#include "jose/jwt.h"
#include "net/http_server.h"
#include "testing/test_pki.h"

namespace bulwark::gateway {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kNow = 1'800'000'000;

class RemoteJwksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("bulwark-jwks-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    bulwark::testing::TestCa ca("IdP CA");
    auto cert = ca.Issue({.common_name = "localhost", .dns = {"localhost"}, .server = true});
    bulwark::testing::WriteFile((dir_ / "ca.pem").string(), ca.cert_pem());
    bulwark::testing::WriteFile((dir_ / "idp.pem").string(), cert.cert_pem);
    bulwark::testing::WriteFile((dir_ / "idp.key").string(), cert.key_pem);
    key1_ = jose::Jwk::Generate(jose::JwsAlgorithm::kES256, "k1").value();
    key2_ = jose::Jwk::Generate(jose::JwsAlgorithm::kES256, "k2").value();
    Serve(200, Jwks({&*key1_}));

    net::HttpServerOptions options;
    options.threads = 1;
    options.tls = net::TlsServerOptions{.cert_file = (dir_ / "idp.pem").string(),
                                        .key_file = (dir_ / "idp.key").string()};
    auto server = net::HttpServer::Start(options, [this](const net::HttpRequest& request) {
      fetches_.fetch_add(1);
      std::lock_guard<std::mutex> lock(mu_);
      if (request.target != "/jwks") return net::HttpResponse{.status = 404};
      return net::HttpResponse{
          .status = status_, .headers = {{"Content-Type", "application/json"}}, .body = body_};
    });
    ASSERT_TRUE(server.has_value());
    idp_ = std::move(*server);
  }
  void TearDown() override {
    idp_.reset();
    fs::remove_all(dir_);
  }

  static std::string Jwks(std::vector<const jose::Jwk*> keys) {
    std::string out = "{\"keys\":[";
    for (size_t i = 0; i < keys.size(); ++i) {
      out += (i ? "," : "") + keys[i]->PublicJwk()->ToJson();
    }
    return out + "]}";
  }
  void Serve(int status, std::string body) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    body_ = std::move(body);
  }

  JwtIssuerConfig Issuer(std::chrono::milliseconds min_refetch = std::chrono::milliseconds(50)) {
    return {.name = "idp",
            .issuer = "https://idp.example",
            .audiences = {"api"},
            .jwks_uri = "https://localhost:" + std::to_string(idp_->port()) + "/jwks",
            .jwks_ca_file = (dir_ / "ca.pem").string(),
            .jwks_refresh_interval = std::chrono::hours(1),
            .jwks_min_refetch_interval = min_refetch};
  }

  std::string Token(const jose::Jwk& key) {
    return *jose::SignJwt(
        key,
        {{"iss", "https://idp.example"}, {"sub", "alice"}, {"aud", "api"}, {"exp", kNow + 600}});
  }

  // Retries for up to two seconds: a refetch happens in the background.
  bool EventuallyVerifies(const JwtAuthenticator& auth, const std::string& token) {
    for (int i = 0; i < 200; ++i) {
      if (auth.Authenticate(token).has_value()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  fs::path dir_;
  FakeClock clock_{kNow};
  std::optional<jose::Jwk> key1_, key2_;
  std::mutex mu_;
  int status_ = 200;
  std::string body_;
  std::atomic<int> fetches_{0};
  std::unique_ptr<net::HttpServer> idp_;
};

TEST_F(RemoteJwksTest, FetchesKeysAtStart) {
  auto auth = JwtAuthenticator::Create({Issuer()}, clock_);
  ASSERT_TRUE(auth.has_value()) << auth.error().ToString();
  EXPECT_EQ(fetches_.load(), 1);
  auto p = (*auth)->Authenticate(Token(*key1_));
  ASSERT_TRUE(p.has_value()) << p.error().ToString();
  EXPECT_EQ((*p)->subject(), "alice");
  EXPECT_FALSE((*auth)->Authenticate(Token(*key2_)).has_value());
}

TEST_F(RemoteJwksTest, UnknownKidTriggersARefetchAfterRotation) {
  auto auth = *JwtAuthenticator::Create({Issuer()}, clock_);
  Serve(200, Jwks({&*key1_, &*key2_}));  // the provider rotates in k2
  const std::string token = Token(*key2_);
  EXPECT_FALSE(auth->Authenticate(token).has_value());  // this one is refused...
  EXPECT_TRUE(EventuallyVerifies(*auth, token));        // ...the next ones pass
  EXPECT_TRUE(auth->Authenticate(Token(*key1_)).has_value());
}

// A caller that can wait is told when the refetch its token asked for
// starts at once, and KeyFetches(refetch) tells it when that issuer's fetch
// is done.
TEST_F(RemoteJwksTest, SaysWhenAnUnknownKidIsWorthWaitingFor) {
  auto auth = *JwtAuthenticator::Create({Issuer(std::chrono::milliseconds(100))}, clock_);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // the interval has passed
  Serve(200, Jwks({&*key1_, &*key2_}));
  const std::string token = Token(*key2_);
  JwksRefetch refetch;
  EXPECT_FALSE(auth->Authenticate(token, {}, &refetch).has_value());
  ASSERT_TRUE(refetch.pending);
  EXPECT_EQ(refetch.after, 1u);  // the fetch at start
  EXPECT_NE(refetch.issuer, nullptr);
  for (int i = 0; i < 200 && auth->KeyFetches(refetch) <= refetch.after; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(auth->KeyFetches(refetch), refetch.after);
  EXPECT_TRUE(auth->Authenticate(token).has_value());  // the one more try succeeds

  // Within the interval no refetch can start: nothing to wait for.
  auto forged = *jose::Jwk::Generate(jose::JwsAlgorithm::kES256, "made-up");
  JwksRefetch none;
  EXPECT_FALSE(auth->Authenticate(Token(forged), {}, &none).has_value());
  EXPECT_FALSE(none.pending);
}

TEST_F(RemoteJwksTest, AFloodOfUnknownKidsCostsOneFetchPerInterval) {
  auto auth = *JwtAuthenticator::Create({Issuer(std::chrono::seconds(30))}, clock_);
  ASSERT_EQ(fetches_.load(), 1);
  // The refetch interval counts from the fetch at start, so none is due yet.
  for (int i = 0; i < 200; ++i) {
    auto forged = *jose::Jwk::Generate(jose::JwsAlgorithm::kES256, "made-up-" + std::to_string(i));
    JwksRefetch refetch;
    EXPECT_FALSE(auth->Authenticate(Token(forged), {}, &refetch).has_value());
    EXPECT_FALSE(refetch.pending);  // no request is held for a fetch that cannot start
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(fetches_.load(), 1);
}

TEST_F(RemoteJwksTest, KeepsLastGoodKeysWhenTheProviderFails) {
  auto auth = *JwtAuthenticator::Create({Issuer()}, clock_);
  const std::string token = Token(*key1_);
  for (auto [status, body] : std::vector<std::pair<int, std::string>>{
           {500, "oops"}, {200, "not json"}, {200, "{\"keys\":[]}"}, {404, ""}}) {
    Serve(status, body);
    EXPECT_EQ(auth->RefreshRemoteKeysNow(), 0) << status << " " << body;
    EXPECT_TRUE(auth->Authenticate(token).has_value()) << status << " " << body;
  }
  idp_.reset();  // down altogether
  EXPECT_EQ(auth->RefreshRemoteKeysNow(), 0);
  EXPECT_TRUE(auth->Authenticate(token).has_value());
}

TEST_F(RemoteJwksTest, StartsWithoutKeysWhenTheProviderIsDownAndRecovers) {
  Serve(503, "");
  auto auth = JwtAuthenticator::Create({Issuer()}, clock_);
  ASSERT_TRUE(auth.has_value());  // not fatal: retried in the background
  const std::string token = Token(*key1_);
  EXPECT_FALSE((*auth)->Authenticate(token).has_value());  // fail closed meanwhile
  Serve(200, Jwks({&*key1_}));
  EXPECT_TRUE(EventuallyVerifies(**auth, token));
}

// Keys no fetch has confirmed for jwks_max_stale are dropped, whatever
// keeps the fetches from succeeding (a set emptied of keys, an error, the
// provider gone): a key the provider rotated out is not trusted for ever.
// A fetch that brings the same set again confirms it; one that succeeds
// after the drop brings the keys back.
TEST_F(RemoteJwksTest, KeysNoFetchConfirmsForMaxStaleAreDropped) {
  using std::chrono::milliseconds;
  JwtIssuerConfig config = Issuer();
  config.jwks_refresh_interval = milliseconds(100);  // the refresher fetches too
  config.jwks_max_stale = milliseconds(600);
  auto auth = *JwtAuthenticator::Create({config}, clock_);
  const std::string token = Token(*key1_);
  for (int i = 0; i < 4; ++i) {  // 800 ms of the same set, fetched again and again
    std::this_thread::sleep_for(milliseconds(200));
    EXPECT_EQ(auth->RefreshRemoteKeysNow(), 1);
    EXPECT_TRUE(auth->Authenticate(token).has_value()) << i;
  }
  for (auto [status, body] :
       std::vector<std::pair<int, std::string>>{{200, "{\"keys\":[]}"}, {503, "down"}}) {
    Serve(status, body);
    EXPECT_EQ(auth->RefreshRemoteKeysNow(), 0);
    EXPECT_TRUE(auth->Authenticate(token).has_value()) << "kept while fresh: " << body;
    std::this_thread::sleep_for(milliseconds(700));
    EXPECT_EQ(auth->RefreshRemoteKeysNow(), 0);
    EXPECT_FALSE(auth->Authenticate(token).has_value()) << "dropped when stale: " << body;
    Serve(200, Jwks({&*key1_}));
    EXPECT_EQ(auth->RefreshRemoteKeysNow(), 1);
    EXPECT_TRUE(auth->Authenticate(token).has_value()) << "back after: " << body;
  }
}

// Shorter than two refreshes, one refresh that failed would drop the keys.
TEST_F(RemoteJwksTest, RefusesAMaxStaleShorterThanTwoRefreshes) {
  JwtIssuerConfig config = Issuer();
  config.jwks_max_stale = 2 * config.jwks_refresh_interval - std::chrono::milliseconds(1);
  EXPECT_EQ(JwtAuthenticator::Create({config}, clock_).error().code(),
            StatusCode::kInvalidArgument);
  config.jwks_max_stale = 2 * config.jwks_refresh_interval;
  EXPECT_TRUE(JwtAuthenticator::Create({config}, clock_).has_value());
}

// An empty answer before any set was taken is a failed fetch (retried
// soon), not the set it would be if it repeated the last one taken.
TEST_F(RemoteJwksTest, AnEmptyAnswerBeforeAnyKeysIsAFailedFetch) {
  Serve(200, "");
  auto auth = *JwtAuthenticator::Create({Issuer()}, clock_);
  EXPECT_EQ(auth->RefreshRemoteKeysNow(), 0);
  const std::string token = Token(*key1_);
  EXPECT_FALSE(auth->Authenticate(token).has_value());
  Serve(200, Jwks({&*key1_}));
  EXPECT_EQ(auth->RefreshRemoteKeysNow(), 1);
  EXPECT_TRUE(auth->Authenticate(token).has_value());
}

// A provider's set is published: a secret there (an HMAC key, a private
// half) is known to anyone, so no token it signs passes, while the set's
// public keys still verify. A set of secrets alone is a failed fetch that
// keeps the last good keys.
TEST_F(RemoteJwksTest, NeverTrustsTheSecretsAPublishedSetHolds) {
  const auto hmac = *jose::Jwk::Generate(jose::JwsAlgorithm::kHS256, "shared");
  const auto leaked = *jose::Jwk::Generate(jose::JwsAlgorithm::kES256, "leaked");
  Serve(200, "{\"keys\":[" + hmac.ToJson(/*include_private=*/true) + "," +
                 leaked.ToJson(/*include_private=*/true) + "," + key1_->PublicJwk()->ToJson() +
                 "]}");
  auto auth = *JwtAuthenticator::Create({Issuer()}, clock_);
  EXPECT_TRUE(auth->Authenticate(Token(*key1_)).has_value());
  EXPECT_FALSE(auth->Authenticate(Token(hmac)).has_value());
  EXPECT_FALSE(auth->Authenticate(Token(leaked)).has_value());

  Serve(200, "{\"keys\":[" + hmac.ToJson(/*include_private=*/true) + "]}");
  EXPECT_EQ(auth->RefreshRemoteKeysNow(), 0);
  EXPECT_TRUE(auth->Authenticate(Token(*key1_)).has_value());
  EXPECT_FALSE(auth->Authenticate(Token(hmac)).has_value());
}

TEST_F(RemoteJwksTest, TrustsNothingOverAConnectionThatDoesNotVerify) {
  JwtIssuerConfig untrusted = Issuer();
  bulwark::testing::TestCa other("Other CA");
  bulwark::testing::WriteFile((dir_ / "other.pem").string(), other.cert_pem());
  untrusted.jwks_ca_file = (dir_ / "other.pem").string();
  auto auth = *JwtAuthenticator::Create({untrusted}, clock_);
  EXPECT_FALSE(auth->Authenticate(Token(*key1_)).has_value());

  JwtIssuerConfig wrong_name = Issuer();
  wrong_name.jwks_uri = "https://127.0.0.1:" + std::to_string(idp_->port()) + "/jwks";
  auto auth2 = *JwtAuthenticator::Create({wrong_name}, clock_);  // cert names localhost only
  EXPECT_FALSE(auth2->Authenticate(Token(*key1_)).has_value());
}

// A provider that takes connections and never answers (a listening socket
// nobody accepts on): every fetch from it lasts its whole timeout.
class SilentProvider {
 public:
  SilentProvider() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
      ADD_FAILURE() << "silent provider: " << std::strerror(errno);
    }
    port_ = ntohs(addr.sin_port);
  }
  ~SilentProvider() { ::close(fd_); }
  SilentProvider(const SilentProvider&) = delete;
  SilentProvider& operator=(const SilentProvider&) = delete;
  std::string Uri() const { return "https://localhost:" + std::to_string(port_) + "/jwks"; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// Providers that do not answer are waited for together at start: start
// takes about one fetch timeout, not one per provider.
TEST_F(RemoteJwksTest, StartWaitsForSilentProvidersTogether) {
  SilentProvider silent;
  std::vector<JwtIssuerConfig> configs;
  for (int i = 0; i < 3; ++i) {
    JwtIssuerConfig config = Issuer();
    config.name = "silent-" + std::to_string(i);
    config.issuer = "https://silent-" + std::to_string(i) + ".example";
    config.jwks_uri = silent.Uri();
    config.jwks_fetch_timeout = std::chrono::milliseconds(700);
    configs.push_back(std::move(config));
  }
  configs.push_back(Issuer());
  const auto start = std::chrono::steady_clock::now();
  auto auth = JwtAuthenticator::Create(std::move(configs), clock_);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(auth.has_value()) << auth.error().ToString();
  EXPECT_GE(took, std::chrono::milliseconds(600));  // it did wait for them
  // One after another would take 2100 ms at the least.
  EXPECT_LT(took, std::chrono::milliseconds(1900)) << "one after another, not together";
  EXPECT_TRUE((*auth)->Authenticate(Token(*key1_)).has_value());
}

// One provider that does not answer holds back no other's refetch: a
// token of a key another provider has just rotated in verifies at once,
// while the silent one's fetches keep timing out.
TEST_F(RemoteJwksTest, ASilentProviderHoldsBackNoOtherRefetch) {
  SilentProvider silent;
  JwtIssuerConfig quiet = Issuer();
  quiet.name = "quiet";
  quiet.issuer = "https://quiet.example";
  quiet.jwks_uri = silent.Uri();
  quiet.jwks_fetch_timeout = std::chrono::milliseconds(2500);
  quiet.jwks_min_refetch_interval = std::chrono::milliseconds(10);  // fetched again and again
  auto auth = *JwtAuthenticator::Create({quiet, Issuer()}, clock_);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // its next fetch is under way
  Serve(200, Jwks({&*key1_, &*key2_}));                         // the other rotates in k2
  const std::string token = Token(*key2_);
  EXPECT_FALSE(auth->Authenticate(token).has_value());
  bool verified = false;
  for (int i = 0; i < 100 && !verified; ++i) {  // a second, well within the silent fetch
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    verified = auth->Authenticate(token).has_value();
  }
  EXPECT_TRUE(verified);
}

TEST_F(RemoteJwksTest, RefusesBadIssuerConfigs) {
  JwtIssuerConfig both = Issuer();
  both.jwks_file = "keys.json";
  EXPECT_EQ(JwtAuthenticator::Create({both}, clock_).error().code(), StatusCode::kInvalidArgument);
  JwtIssuerConfig neither = Issuer();
  neither.jwks_uri.clear();
  EXPECT_EQ(JwtAuthenticator::Create({neither}, clock_).error().code(),
            StatusCode::kInvalidArgument);
  // Plain http to anything but loopback, user info, other schemes.
  for (const char* uri : {"http://idp.example/jwks", "https://user:pw@idp.example/jwks",
                          "ftp://idp.example/jwks", "https://idp.example/jwks#x", "jwks.json"}) {
    JwtIssuerConfig bad = Issuer();
    bad.jwks_uri = uri;
    EXPECT_EQ(JwtAuthenticator::Create({bad}, clock_).error().code(), StatusCode::kInvalidArgument)
        << uri;
  }
}

}  // namespace
}  // namespace bulwark::gateway

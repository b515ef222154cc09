// TLS listeners: versions, client certificates (mTLS) against a CA bundle and
// a CRL, the SPIFFE ID of the peer, and certificate hot reload by a
// Kubernetes-style symlink swap without dropping open connections.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http_test_client.h"
#include "net/async_http_server.h"
#include "net/http_server.h"
#include "net/streamed_body.h"
#include "net/tls.h"
#include "net/tunnel.h"
#include "testing/test_pki.h"
#include "testing/tls_test_client.h"

namespace bulwark::net {
namespace {

namespace fs = std::filesystem;
using bulwark::net::testing::TestClient;
using bulwark::testing::IssuedCert;
using bulwark::testing::TestCa;
using bulwark::testing::TlsClientOptions;
using bulwark::testing::TlsTestClient;
using bulwark::testing::WriteFile;

// Answers with what the server knows of the connection's TLS.
// Eight MiB that no prefix or shift of repeats: more than a socket buffer
// holds, so the server's TLS writes must wait for the client to read.
std::string BigBody() {
  std::string body(8 << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i)
    body[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return body;
}

// Under one TLS record (16 KiB), and told apart by `n`.
std::string MediumBody(int n) {
  std::string body = std::to_string(n) + ":";
  body.resize(15000, static_cast<char>('a' + n % 26));
  return body;
}

// Whether the credential of the tunnels at /echo-revocable stands.
std::atomic<bool> revocable_stands{true};

// Once switched, echoes what the client sends until the connection ends.
class EchoTunnel final : public Tunnel {
 public:
  explicit EchoTunnel(const std::atomic<bool>* stands = nullptr) : stands_(stands) {}
  std::string_view EndedCredential() const override {
    return stands_ == nullptr || stands_->load() ? "" : "API key";
  }
  boost::asio::awaitable<void> Run(TunnelEnd& client, std::string_view) override {
    std::string buffer(4096, '\0');
    client.ExpireAfter(std::chrono::seconds(30));
    for (;;) {
      const auto [read, n] = co_await client.ReadSome(boost::asio::buffer(buffer));
      if (read || co_await client.WriteAll(boost::asio::buffer(buffer.data(), n))) break;
    }
    client.Shutdown();
    client.Close();
  }

 private:
  const std::atomic<bool>* stands_;
};

HttpResponse DescribeTls(const HttpRequest& request) {
  if (request.target == "/big") return {.status = 200, .body = BigBody()};
  if (request.target == "/echo" || request.target == "/echo-revocable") {
    return {.status = 101,
            .headers = {{"Upgrade", "echo"}},
            .tunnel = std::make_shared<EchoTunnel>(request.target == "/echo" ? nullptr
                                                                             : &revocable_stands)};
  }
  if (request.target.starts_with("/medium/")) {
    return {.status = 200, .body = MediumBody(std::stoi(request.target.substr(8)))};
  }
  if (!request.tls) return {.status = 200, .body = "plaintext"};
  const TlsConnectionInfo& tls = *request.tls;
  return {.status = 200,
          .body = "version=" + tls.version + "\nverified=" + (tls.client_verified ? "1" : "0") +
                  "\nspiffe=" + tls.spiffe_id + "\nsubject=" + tls.client_subject +
                  "\nsha256=" + std::to_string(tls.client_cert_sha256.size()) + "\nsni=" + tls.sni};
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("bulwark-tls-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    server_cert_ = ca_.Issue(
        {.common_name = "localhost", .dns = {"localhost"}, .ips = {"127.0.0.1"}, .server = true});
    WriteFile(Path("ca.pem"), ca_.cert_pem());
    WriteFile(Path("server.pem"), server_cert_.cert_pem);
    WriteFile(Path("server.key"), server_cert_.key_pem);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  TlsServerOptions Tls(ClientAuth auth = ClientAuth::kNone) const {
    return {.cert_file = Path("server.pem"),
            .key_file = Path("server.key"),
            .client_ca_file = auth == ClientAuth::kNone ? "" : Path("ca.pem"),
            .client_auth = auth,
            .reload_interval = std::chrono::milliseconds(20)};
  }

  Status Start(TlsServerOptions tls, bool io_uring = true) {
    HttpServerOptions options;
    options.threads = 1;
    options.io_uring = io_uring;
    options.tls = std::move(tls);
    auto server = HttpServer::Start(options, DescribeTls);
    if (!server) return server.error();
    server_ = std::move(*server);
    return OkStatus();
  }

  // Starts with `crl` as the CRL file (crl.pem), client certificates optional.
  Status StartWithCrl(const std::string& crl) {
    WriteFile(Path("crl.pem"), crl);
    TlsServerOptions tls = Tls(ClientAuth::kOptional);
    tls.crl_file = Path("crl.pem");
    return Start(tls);
  }

  // Writes a client certificate and key as <name>.pem / <name>.key.
  void WriteClient(const std::string& name, const IssuedCert& cert) {
    WriteFile(Path(name + ".pem"), cert.cert_pem);
    WriteFile(Path(name + ".key"), cert.key_pem);
  }

  TlsClientOptions Client(const std::string& name = "") const {
    TlsClientOptions o{.ca_file = Path("ca.pem")};
    if (!name.empty()) {
      o.cert_file = Path(name + ".pem");
      o.key_file = Path(name + ".key");
    }
    return o;
  }

  // The server refuses the client's certificate (or its absence). Under TLS
  // 1.3 the client finishes its side of the handshake first, so the refusal
  // shows on the first read; the handshake completing proves the client did
  // present what it was given.
  void ExpectRefused(const std::string& name) {
    TlsTestClient client(server_->port(), Client(name));
    ASSERT_TRUE(client.handshake_ok()) << name;
    EXPECT_FALSE(client.Get("/").has_value()) << name;
  }

  // Writes a CRL that revokes `cert` and waits until the server refuses the
  // client certificate `name` (the new CRL is in force for new connections).
  void Revoke(const IssuedCert& cert, const std::string& name) {
    WriteFile(Path("crl.pem"), ca_.Crl({cert.serial}));
    bool refused = false;
    for (int i = 0; i < 200 && !refused; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      TlsTestClient fresh(server_->port(), Client(name));
      refused = fresh.handshake_ok() && !fresh.Get("/").has_value();
    }
    ASSERT_TRUE(refused);
  }

  // Switches `client`'s connection to the echo tunnel and sees it echo.
  static void OpenEcho(TlsTestClient& client) {
    auto switched = client.Get("/echo");
    ASSERT_TRUE(switched.has_value());
    ASSERT_EQ(switched->status, 101);
    ASSERT_TRUE(client.SendData("ping"));
    EXPECT_EQ(client.ReadData(), "ping");
  }

  // `ended`'s tunnel was ended by the server (not echoing, and not merely
  // silent until the client's 5 s receive timeout); `other`'s echoes still.
  static void ExpectEndedWhileTheOtherRunsOn(TlsTestClient& ended, TlsTestClient& other) {
    ended.SendData("late");  // may still be taken by the socket
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(ended.ReadData(), std::nullopt);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
    ASSERT_TRUE(other.SendData("still"));
    EXPECT_EQ(other.ReadData(), "still");
  }

  fs::path dir_;
  TestCa ca_{"Bulwark Test CA"};
  IssuedCert server_cert_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(TlsTest, ServesTls13ByDefault) {
  ASSERT_TRUE(Start(Tls()).ok());
  TlsTestClient client(server_->port(), Client());
  ASSERT_TRUE(client.handshake_ok()) << client.failure();
  EXPECT_EQ(client.version(), "TLSv1.3");
  auto response = client.Get("/");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->body.find("version=TLSv1.3\nverified=0\nspiffe=\n"), std::string::npos);
  EXPECT_NE(response->body.find("sni=localhost"), std::string::npos);
  // Keep-alive works over TLS.
  auto again = client.Get("/again");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->status, 200);
}

TEST_F(TlsTest, ALargeResponseArrivesWholeAndTheConnectionStaysUsable) {
  ASSERT_TRUE(Start(Tls()).ok());
  TlsTestClient client(server_->port(), Client());
  ASSERT_TRUE(client.handshake_ok()) << client.failure();
  for (int round = 0; round < 2; ++round) {
    auto response = client.Get("/big");
    ASSERT_TRUE(response.has_value()) << round;
    EXPECT_EQ(response->status, 200);
    ASSERT_EQ(response->body.size(), size_t{8} << 20);
    EXPECT_TRUE(response->body == BigBody()) << round;
  }
  auto after = client.Get("/after");
  ASSERT_TRUE(after.has_value());
  EXPECT_NE(after->body.find("version=TLSv1.3"), std::string::npos);
}

// Responses under a record's size are sealed and sent with the io thread's
// other sends (through io_uring where it runs), and requests that arrive
// together are read ahead into OpenSSL's buffer. A thousand pipelined
// requests, read back only after a pause in which the server's sends fill
// the socket, each get their own response, whole and in order.
TEST_F(TlsTest, PipelinedResponsesArriveWholeAndInOrderWhenTheSocketFills) {
  for (const bool io_uring : {true, false}) {
    if (io_uring && !testing::IoUringAvailable()) continue;
    ASSERT_TRUE(Start(Tls(), io_uring).ok());
    TlsTestClient client(server_->port(), Client());
    ASSERT_TRUE(client.handshake_ok()) << client.failure();
    constexpr int kRequests = 1000;  // 15 MB of responses
    for (int i = 0; i < kRequests; ++i) {
      ASSERT_TRUE(client.Send("/medium/" + std::to_string(i))) << i;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    for (int i = 0; i < kRequests; ++i) {
      auto response = client.Receive();
      ASSERT_TRUE(response.has_value()) << "io_uring " << io_uring << ", response " << i;
      ASSERT_EQ(response->status, 200);
      ASSERT_TRUE(response->body == MediumBody(i)) << "io_uring " << io_uring << ", response " << i;
    }
    server_.reset();
  }
}

TEST_F(TlsTest, RefusesTls12UnlessAllowed) {
  ASSERT_TRUE(Start(Tls()).ok());
  TlsClientOptions old = Client();
  old.tls12_only = true;
  TlsTestClient refused(server_->port(), old);
  EXPECT_FALSE(refused.handshake_ok());
  EXPECT_FALSE(refused.Get("/").has_value());

  server_.reset();
  TlsServerOptions tls = Tls();
  tls.allow_tls12 = true;
  ASSERT_TRUE(Start(tls).ok());
  TlsTestClient allowed(server_->port(), old);
  ASSERT_TRUE(allowed.handshake_ok());
  EXPECT_EQ(allowed.version(), "TLSv1.2");
  auto response = allowed.Get("/");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
}

// Keys are agreed on X25519 or P-256 by default. A client that offers only a
// finite-field group (which would cost the server a hundred X25519
// handshakes, D(HE)at) or a curve left out is refused, under TLS 1.3 and
// 1.2 alike; `groups` sets the curves, and a name that is not one of them
// does not start. (Under TLS 1.2 a client's groups must also hold the curve
// of the server's ECDSA certificate, P-256 here.)
TEST_F(TlsTest, AgreesKeysOnTheConfiguredCurvesAlone) {
  TlsServerOptions tls = Tls();
  tls.allow_tls12 = true;
  ASSERT_TRUE(Start(tls).ok());
  for (const bool tls12 : {false, true}) {
    TlsClientOptions client = Client();
    client.tls12_only = tls12;
    for (const auto& [offered, agreed] :
         {std::pair{"X25519:P-256", "X25519"}, std::pair{"P-256", "prime256v1"},
          std::pair{"P-384:P-256", "prime256v1"}, std::pair{"ffdhe2048", ""},
          std::pair{"ffdhe8192", ""}, std::pair{"P-384", ""}, std::pair{"P-521:X448", ""}}) {
      client.groups = offered;
      TlsTestClient connection(server_->port(), client);
      EXPECT_EQ(connection.group(), agreed) << offered << (tls12 ? " TLS 1.2" : "");
      EXPECT_EQ(connection.Get("/").has_value(), agreed[0] != '\0') << offered;
    }
  }
  server_.reset();

  tls.groups = {"P-384", "X25519"};
  ASSERT_TRUE(Start(tls).ok());
  TlsClientOptions client = Client();
  client.groups = "X25519:P-384";  // a key share for X25519 only
  TlsTestClient either(server_->port(), client);
  EXPECT_EQ(either.group(), "X25519");
  client.groups = "P-384";
  TlsTestClient p384(server_->port(), client);
  EXPECT_EQ(p384.group(), "secp384r1");
  client.groups = "P-256";
  TlsTestClient p256(server_->port(), client);
  EXPECT_FALSE(p256.handshake_ok());
  server_.reset();

  for (const std::vector<std::string>& groups :
       {std::vector<std::string>{}, std::vector<std::string>{"ffdhe2048"},
        std::vector<std::string>{"X25519", "X25519"}, std::vector<std::string>{"prime256v1"}}) {
    tls.groups = groups;
    EXPECT_FALSE(Start(tls).ok()) << (groups.empty() ? "none" : groups[0]);
  }
}

TEST_F(TlsTest, PlaintextOnATlsPortGetsNoHttpAnswer) {
  ASSERT_TRUE(Start(Tls()).ok());
  TestClient plain(server_->port());
  ASSERT_TRUE(plain.connected());
  ASSERT_TRUE(plain.Send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  EXPECT_FALSE(plain.ReadResponse().has_value());
  EXPECT_TRUE(plain.WaitForClose());
}

TEST_F(TlsTest, StalledHandshakeIsCutAtTheHeaderDeadline) {
  HttpServerOptions options;
  options.threads = 1;
  options.tls = Tls();
  options.header_read_timeout = std::chrono::milliseconds(200);
  auto server = HttpServer::Start(options, DescribeTls);
  ASSERT_TRUE(server.has_value());
  TestClient silent((*server)->port());
  ASSERT_TRUE(silent.connected());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.WaitForClose(std::chrono::seconds(3)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

// A TLS listener asks admit_tls_client, with the client's key, before each
// handshake: a connection it turns away is closed with none of the
// handshake done, and gives back its place under the per-client cap. A
// plaintext listener never asks.
TEST_F(TlsTest, AConnectionTurnedAwayBeforeItsHandshakeGetsNone) {
  std::mutex mu;
  std::vector<std::string> asked;  // guarded by mu
  std::atomic<bool> admit{true};
  HttpServerOptions options;
  options.threads = 1;
  options.tls = Tls();
  options.max_connections_per_client = 3;
  options.admit_tls_client = [&](std::string_view client) {
    std::lock_guard<std::mutex> lock(mu);
    asked.emplace_back(client);
    return admit.load();
  };
  auto server = HttpServer::Start(options, DescribeTls);
  ASSERT_TRUE(server.has_value()) << server.error().ToString();
  TlsTestClient first((*server)->port(), Client());
  TlsTestClient second((*server)->port(), Client());
  ASSERT_TRUE(first.handshake_ok()) << first.failure();
  ASSERT_TRUE(second.handshake_ok()) << second.failure();
  admit = false;
  for (int i = 0; i < 3; ++i) {
    TlsTestClient turned_away((*server)->port(), Client());
    EXPECT_FALSE(turned_away.handshake_ok()) << i;
  }
  admit = true;
  TlsTestClient third((*server)->port(), Client());  // the cap's third place is free
  ASSERT_TRUE(third.handshake_ok()) << third.failure();
  auto response = third.Get("/");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(asked, std::vector<std::string>(6, "127.0.0.1"));
  }

  options.tls.reset();
  admit = false;
  auto plain = HttpServer::Start(options, DescribeTls);
  ASSERT_TRUE(plain.has_value());
  TestClient client((*plain)->port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto answer = client.ReadResponse();
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 200);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(asked.size(), 6u);
}

TEST_F(TlsTest, RequiredClientCertificateGivesSpiffeIdentity) {
  ASSERT_TRUE(Start(Tls(ClientAuth::kRequired)).ok());
  WriteClient("web", ca_.Issue({.common_name = "web",
                                .uris = {"spiffe://prod.example/ns/shop/sa/web"},
                                .client = true}));
  TlsTestClient client(server_->port(), Client("web"));
  ASSERT_TRUE(client.handshake_ok()) << client.failure();
  auto response = client.Get("/");
  ASSERT_TRUE(response.has_value());
  EXPECT_NE(response->body.find("verified=1\nspiffe=spiffe://prod.example/ns/shop/sa/web\n"),
            std::string::npos)
      << response->body;
  EXPECT_NE(response->body.find("subject=CN=web,O=Bulwark Test"), std::string::npos);
  EXPECT_NE(response->body.find("sha256=32"), std::string::npos);
}

TEST_F(TlsTest, RequiredClientCertificateRefusesClientsWithout) {
  ASSERT_TRUE(Start(Tls(ClientAuth::kRequired)).ok());
  ExpectRefused("");
}

TEST_F(TlsTest, RefusesCertificateFromAnotherCa) {
  ASSERT_TRUE(Start(Tls(ClientAuth::kRequired)).ok());
  TestCa rogue("Rogue CA");
  WriteClient("rogue", rogue.Issue({.common_name = "web",
                                    .uris = {"spiffe://prod.example/ns/shop/sa/web"},
                                    .client = true}));
  ExpectRefused("rogue");
}

TEST_F(TlsTest, RefusesExpiredAndNotYetValidCertificates) {
  ASSERT_TRUE(Start(Tls(ClientAuth::kRequired)).ok());
  WriteClient("expired", ca_.Issue({.common_name = "old",
                                    .client = true,
                                    .not_before = std::chrono::seconds(-7200),
                                    .not_after = std::chrono::seconds(-3600)}));
  WriteClient("future", ca_.Issue({.common_name = "new",
                                   .client = true,
                                   .not_before = std::chrono::seconds(3600),
                                   .not_after = std::chrono::seconds(7200)}));
  ExpectRefused("expired");
  ExpectRefused("future");
}

TEST_F(TlsTest, RefusesServerOnlyCertificateAsClient) {
  ASSERT_TRUE(Start(Tls(ClientAuth::kRequired)).ok());
  WriteClient("server-only", ca_.Issue({.common_name = "svc", .server = true}));
  ExpectRefused("server-only");
}

TEST_F(TlsTest, RefusesRevokedCertificate) {
  const IssuedCert revoked =
      ca_.Issue({.common_name = "gone", .uris = {"spiffe://prod.example/gone"}, .client = true});
  const IssuedCert good =
      ca_.Issue({.common_name = "ok", .uris = {"spiffe://prod.example/ok"}, .client = true});
  WriteClient("revoked", revoked);
  WriteClient("good", good);
  WriteFile(Path("crl.pem"), ca_.Crl({revoked.serial}));
  TlsServerOptions tls = Tls(ClientAuth::kRequired);
  tls.crl_file = Path("crl.pem");
  ASSERT_TRUE(Start(tls).ok());
  ExpectRefused("revoked");
  auto response = TlsTestClient(server_->port(), Client("good")).Get("/");
  ASSERT_TRUE(response.has_value());
  EXPECT_NE(response->body.find("spiffe=spiffe://prod.example/ok\n"), std::string::npos);
}

// The client signs the handshake with its key (TLS 1.3's
// CertificateVerify), which a leaf for key agreement alone may not do
// (RFC 5280 section 4.2.1.3); OpenSSL's purpose check lets it through.
TEST_F(TlsTest, RefusesALeafWhoseKeyMayNotSign) {
  ASSERT_TRUE(Start(Tls(ClientAuth::kRequired)).ok());
  WriteClient("agree", ca_.Issue({.common_name = "agree",
                                  .uris = {"spiffe://prod.example/ns/shop/sa/agree"},
                                  .client = true,
                                  .key_usage = "critical,keyAgreement"}));
  WriteClient("both", ca_.Issue({.common_name = "both",
                                 .uris = {"spiffe://prod.example/ns/shop/sa/both"},
                                 .client = true,
                                 .key_usage = "critical,digitalSignature,keyAgreement"}));
  ExpectRefused("agree");
  auto response = TlsTestClient(server_->port(), Client("both")).Get("/");
  ASSERT_TRUE(response.has_value());
  EXPECT_NE(response->body.find("spiffe=spiffe://prod.example/ns/shop/sa/both\n"),
            std::string::npos);
}

// With SPIFFE bundles, a trust domain's IDs come only from its own CAs: a
// partner CA trusted for its own domain cannot mint the production
// domain's workloads, nor the production CA the partner's. Certificates
// without a SPIFFE ID come only from client_ca_file's CAs; a trust domain
// with no bundle is refused.
TEST_F(TlsTest, SpiffeBundlesTieEachTrustDomainToItsCas) {
  TestCa partner("Partner CA");
  WriteFile(Path("partner-ca.pem"), partner.cert_pem());
  WriteClient("own", ca_.Issue({.common_name = "own",
                                .uris = {"spiffe://prod.example/ns/shop/sa/web"},
                                .client = true}));
  WriteClient("partner", partner.Issue({.common_name = "partner",
                                        .uris = {"spiffe://partner.example/billing"},
                                        .client = true}));
  WriteClient("minted", partner.Issue({.common_name = "minted",
                                       .uris = {"spiffe://prod.example/ns/admin/sa/root"},
                                       .client = true}));
  WriteClient("crossed", ca_.Issue({.common_name = "crossed",
                                    .uris = {"spiffe://partner.example/billing"},
                                    .client = true}));
  WriteClient("elsewhere", ca_.Issue({.common_name = "elsewhere",
                                      .uris = {"spiffe://other.example/x"},
                                      .client = true}));
  WriteClient("plain", ca_.Issue({.common_name = "plain", .client = true}));
  WriteClient("partner-plain", partner.Issue({.common_name = "partner-plain", .client = true}));
  TlsServerOptions tls = Tls(ClientAuth::kRequired);
  tls.spiffe_bundles = {{"prod.example", Path("ca.pem")},
                        {"partner.example", Path("partner-ca.pem")}};
  ASSERT_TRUE(Start(tls).ok());
  for (const auto& [name, spiffe] :
       {std::pair<std::string, std::string>{"own", "spiffe://prod.example/ns/shop/sa/web"},
        {"partner", "spiffe://partner.example/billing"},
        {"plain", ""}}) {
    auto response = TlsTestClient(server_->port(), Client(name)).Get("/");
    ASSERT_TRUE(response.has_value()) << name;
    EXPECT_NE(response->body.find("verified=1\nspiffe=" + spiffe + "\n"), std::string::npos)
        << name << ": " << response->body;
  }
  ExpectRefused("minted");
  ExpectRefused("crossed");
  ExpectRefused("elsewhere");
  // A bundle's CAs are trusted for their domain's IDs alone: what they
  // issue without one (known by its subject DN) is refused.
  ExpectRefused("partner-plain");

  // Without bundles any trusted CA may issue any trust domain's IDs.
  WriteFile(Path("both.pem"), ca_.cert_pem() + partner.cert_pem());
  TlsServerOptions open = Tls(ClientAuth::kRequired);
  open.client_ca_file = Path("both.pem");
  ASSERT_TRUE(Start(open).ok());
  auto minted = TlsTestClient(server_->port(), Client("minted")).Get("/");
  ASSERT_TRUE(minted.has_value());
  EXPECT_NE(minted->body.find("spiffe=spiffe://prod.example/ns/admin/sa/root\n"),
            std::string::npos);
}

TEST_F(TlsTest, OptionalClientCertificate) {
  ASSERT_TRUE(Start(Tls(ClientAuth::kOptional)).ok());
  auto anonymous = TlsTestClient(server_->port(), Client()).Get("/");
  ASSERT_TRUE(anonymous.has_value());
  EXPECT_NE(anonymous->body.find("verified=0"), std::string::npos);

  WriteClient("web", ca_.Issue({.common_name = "web", .client = true}));
  auto identified = TlsTestClient(server_->port(), Client("web")).Get("/");
  ASSERT_TRUE(identified.has_value());
  EXPECT_NE(identified->body.find("verified=1\nspiffe=\n"), std::string::npos);

  // What a client presents must verify, even where a certificate is optional.
  TestCa rogue("Rogue CA");
  WriteClient("rogue", rogue.Issue({.common_name = "web", .client = true}));
  ExpectRefused("rogue");
}

TEST_F(TlsTest, SeveralUrisOrAnInvalidSpiffeIdGiveNoSpiffeIdentity) {
  ASSERT_TRUE(Start(Tls(ClientAuth::kRequired)).ok());
  WriteClient("two", ca_.Issue({.common_name = "two",
                                .uris = {"spiffe://a.example/x", "spiffe://b.example/y"},
                                .client = true}));
  WriteClient("bad", ca_.Issue({.common_name = "bad",
                                .uris = {"spiffe://Prod.Example/../admin"},
                                .client = true}));
  for (const char* name : {"two", "bad"}) {
    auto response = TlsTestClient(server_->port(), Client(name)).Get("/");
    ASSERT_TRUE(response.has_value()) << name;
    EXPECT_NE(response->body.find("verified=1\nspiffe=\n"), std::string::npos) << name;
  }
}

// An X509-SVID names a workload: a SPIFFE ID with a path, on a certificate
// that signs nothing (X509-SVID section 5.2). The trust domain's own ID, or
// a CA certificate of the bundle's CA, verifies as a client certificate but
// is no workload identity.
TEST_F(TlsTest, ATrustDomainIdOrACaCertificateGivesNoSpiffeIdentity) {
  ASSERT_TRUE(Start(Tls(ClientAuth::kRequired)).ok());
  WriteClient("root-id",
              ca_.Issue({.common_name = "td", .uris = {"spiffe://prod.example"}, .client = true}));
  // A CA (cA true) that signs nothing, and a leaf (cA false) that may sign
  // certificates or CRLs: each rule holds alone.
  WriteClient("intermediate", ca_.Issue({.common_name = "intermediate",
                                         .uris = {"spiffe://prod.example/ns/shop/sa/web"},
                                         .client = true,
                                         .ca = true}));
  WriteClient("signer", ca_.Issue({.common_name = "signer",
                                   .uris = {"spiffe://prod.example/ns/shop/sa/web"},
                                   .client = true,
                                   .signs = true}));
  for (const char* name : {"root-id", "intermediate", "signer"}) {
    auto response = TlsTestClient(server_->port(), Client(name)).Get("/");
    ASSERT_TRUE(response.has_value()) << name;
    EXPECT_NE(response->body.find("verified=1\nspiffe=\n"), std::string::npos)
        << name << ": " << response->body;
  }
}

// A client that offers ALPN protocols, none of them HTTP/1.1 or 1.0 (one
// that speaks only h2), is refused with no_application_protocol (RFC 7301
// section 3.2) rather than served a protocol it did not ask for.
TEST_F(TlsTest, AlpnWithoutHttp1IsRefused) {
  ASSERT_TRUE(Start(Tls()).ok());
  TlsClientOptions h2_only = Client();
  h2_only.alpn = {"h2"};
  TlsTestClient refused(server_->port(), h2_only);
  EXPECT_FALSE(refused.handshake_ok());
  EXPECT_NE(refused.failure().find("no application protocol"), std::string::npos)
      << refused.failure();

  TlsClientOptions both = Client();
  both.alpn = {"h2", "http/1.0", "http/1.1"};
  TlsTestClient served(server_->port(), both);
  ASSERT_TRUE(served.handshake_ok()) << served.failure();
  EXPECT_EQ(served.alpn(), "http/1.1");
  ASSERT_TRUE(served.Get("/").has_value());

  TlsClientOptions http10 = Client();  // as `curl -0` offers
  http10.alpn = {"http/1.0"};
  TlsTestClient old(server_->port(), http10);
  ASSERT_TRUE(old.handshake_ok()) << old.failure();
  EXPECT_EQ(old.alpn(), "http/1.0");

  TlsTestClient none(server_->port(), Client());  // no ALPN at all: served
  ASSERT_TRUE(none.handshake_ok()) << none.failure();
  EXPECT_EQ(none.alpn(), "");
}

// A session resumed brings back the chain it began with; once a
// certificate of it has expired (the leaf, or an intermediate the leaf
// outlives), the ticket is not taken and the client must make a full
// handshake, presenting a chain valid now (here none).
// On TLS 1.3 and on TLS 1.2 (RFC 5077 tickets), each ticket is checked.
TEST_F(TlsTest, ASessionDoesNotOutliveACertificateOfItsChain) {
  TlsServerOptions options = Tls(ClientAuth::kOptional);
  options.allow_tls12 = true;
  ASSERT_TRUE(Start(options).ok());
  WriteClient("brief", ca_.Issue({.common_name = "brief",
                                  .uris = {"spiffe://prod.example/ns/shop/sa/web"},
                                  .client = true,
                                  .not_after = std::chrono::seconds(3)}));
  // A leaf valid for a day under an intermediate valid for 3 s, sent as a
  // chain; the server trusts only the root.
  TestCa intermediate = ca_.Subordinate("Brief Intermediate", std::chrono::seconds(3));
  const IssuedCert under = intermediate.Issue(
      {.common_name = "under", .uris = {"spiffe://prod.example/ns/shop/sa/api"}, .client = true});
  WriteFile(Path("under.pem"), under.cert_pem + intermediate.cert_pem());
  WriteFile(Path("under.key"), under.key_pem);

  struct Case {
    std::string name, spiffe;
    TlsClientOptions resume;
  };
  std::vector<Case> cases;
  for (const bool tls12 : {false, true}) {
    TlsClientOptions resume = Client();
    resume.tls12_only = tls12;
    cases.push_back({"brief", "spiffe://prod.example/ns/shop/sa/web", resume});
    cases.push_back({"under", "spiffe://prod.example/ns/shop/sa/api", resume});
  }
  for (Case& c : cases) {
    SCOPED_TRACE(c.name + (c.resume.tls12_only ? " over TLS 1.2" : " over TLS 1.3"));
    std::string session;
    {
      TlsClientOptions full = Client(c.name);
      full.tls12_only = c.resume.tls12_only;
      TlsTestClient first(server_->port(), full);
      ASSERT_EQ(first.version(), c.resume.tls12_only ? "TLSv1.2" : "TLSv1.3");
      auto response = first.Get("/");
      ASSERT_TRUE(response.has_value());
      EXPECT_NE(response->body.find("spiffe=" + c.spiffe + "\n"), std::string::npos)
          << response->body;
      session = first.session();
    }
    ASSERT_FALSE(session.empty());
    c.resume.resume = session;  // no certificate of its own
    TlsTestClient again(server_->port(), c.resume);
    auto response = again.Get("/");
    ASSERT_TRUE(response.has_value());
    ASSERT_TRUE(again.resumed());  // while the chain is valid, it resumes
    EXPECT_NE(response->body.find("verified=1\nspiffe=" + c.spiffe + "\n"), std::string::npos)
        << response->body;
    c.resume.resume = again.session();  // renewed, as a client keeps resuming
    // The renewed ticket resumes too, before the chain expires.
    TlsTestClient renewed(server_->port(), c.resume);
    ASSERT_TRUE(renewed.Get("/").has_value());
    ASSERT_TRUE(renewed.resumed());
    c.resume.resume = renewed.session();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(4000));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name + (c.resume.tls12_only ? " over TLS 1.2" : " over TLS 1.3"));
    TlsTestClient late(server_->port(), c.resume);
    auto response = late.Get("/");
    ASSERT_TRUE(response.has_value());
    EXPECT_FALSE(late.resumed());
    EXPECT_NE(response->body.find("verified=0\nspiffe=\n"), std::string::npos) << response->body;
  }
}

// A full handshake refuses a chain whose CRL is past its next update; a
// resumed session, verified against nothing, must not outlive that either:
// its ticket is not taken, and the client, made to present its chain
// again, is refused until a current CRL is loaded. Nor does a connection
// opened before: its next request is answered 421.
TEST_F(TlsTest, ASessionDoesNotOutliveItsCrl) {
  WriteClient("web", ca_.Issue({.common_name = "web",
                                .uris = {"spiffe://prod.example/ns/shop/sa/web"},
                                .client = true}));
  ASSERT_TRUE(StartWithCrl(ca_.Crl({}, std::chrono::seconds(2))).ok());
  TlsTestClient first(server_->port(), Client("web"));
  auto response = first.Get("/");
  ASSERT_TRUE(response.has_value());
  EXPECT_NE(response->body.find("spiffe=spiffe://prod.example/ns/shop/sa/web\n"),
            std::string::npos);
  TlsClientOptions resume = Client();
  resume.resume = first.session();
  {
    TlsTestClient again(server_->port(), resume);
    ASSERT_TRUE(again.Get("/").has_value());
    ASSERT_TRUE(again.resumed());  // while the CRL is current, it resumes
    resume.resume = again.session();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  // A connection open since before keeps no identity past the CRL either.
  auto stale = first.Get("/stale");
  ASSERT_TRUE(stale.has_value());
  EXPECT_EQ(stale->status, 421);
  TlsTestClient late(server_->port(), resume);
  response = late.Get("/");
  ASSERT_TRUE(response.has_value());
  EXPECT_FALSE(late.resumed());
  EXPECT_NE(response->body.find("verified=0\nspiffe=\n"), std::string::npos) << response->body;
  ExpectRefused("web");  // the CRL has expired: fail closed
}

// A connection's client identity ends with its chain: once a certificate
// of it has expired, the connection's next request is answered 421 (send it
// again on a new connection, RFC 9110 section 15.5.20) and the connection
// closes, so a client that keeps its connection open keeps no identity past
// the chain's notAfter.
TEST_F(TlsTest, AConnectionsIdentityEndsWhenItsChainExpires) {
  WriteClient("brief", ca_.Issue({.common_name = "brief",
                                  .uris = {"spiffe://prod.example/ns/shop/sa/web"},
                                  .client = true,
                                  .not_after = std::chrono::seconds(2)}));
  ASSERT_TRUE(Start(Tls(ClientAuth::kOptional)).ok());
  TlsTestClient open(server_->port(), Client("brief"));
  auto response = open.Get("/");
  ASSERT_TRUE(response.has_value());
  EXPECT_NE(response->body.find("spiffe=spiffe://prod.example/ns/shop/sa/web\n"),
            std::string::npos);
  TlsTestClient anonymous(server_->port(), Client());
  ASSERT_TRUE(anonymous.Get("/").has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  response = open.Get("/later");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 421);
  EXPECT_FALSE(open.Get("/again").has_value());  // closed
  // A connection without a client certificate has no identity to lose.
  response = anonymous.Get("/later");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
}

// Nor does an identity outlast the trust it was verified against: once a
// reload takes a changed CRL (or CA bundle), each connection verified
// before it is answered 421 on its next request, and its client, made to
// connect again, is refused if its certificate was revoked. A connection
// without a client certificate is left alone.
TEST_F(TlsTest, AConnectionsIdentityEndsWhenTheCrlChanges) {
  const IssuedCert gone =
      ca_.Issue({.common_name = "gone", .uris = {"spiffe://prod.example/gone"}, .client = true});
  WriteClient("gone", gone);
  ASSERT_TRUE(StartWithCrl(ca_.Crl({})).ok());
  TlsTestClient open(server_->port(), Client("gone"));
  auto response = open.Get("/");
  ASSERT_TRUE(response.has_value());
  EXPECT_NE(response->body.find("spiffe=spiffe://prod.example/gone\n"), std::string::npos);
  TlsTestClient anonymous(server_->port(), Client());
  ASSERT_TRUE(anonymous.Get("/").has_value());

  ASSERT_NO_FATAL_FAILURE(Revoke(gone, "gone"));
  response = open.Get("/after");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 421);
  EXPECT_FALSE(open.Get("/again").has_value());
  response = anonymous.Get("/after");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
}

// A tunnel (a WebSocket, say) opened on a client certificate runs no longer
// than the certificate's chain: once a certificate of it has expired, its
// traffic ends, and the client must connect again. A tunnel opened without
// a client certificate runs on.
TEST_F(TlsTest, ATunnelEndsWhenItsClientChainExpires) {
  WriteClient("brief", ca_.Issue({.common_name = "brief",
                                  .uris = {"spiffe://prod.example/ns/shop/sa/web"},
                                  .client = true,
                                  .not_after = std::chrono::seconds(2)}));
  ASSERT_TRUE(Start(Tls(ClientAuth::kOptional)).ok());
  TlsTestClient bound(server_->port(), Client("brief"));
  TlsTestClient anonymous(server_->port(), Client());
  for (TlsTestClient* client : {&bound, &anonymous}) ASSERT_NO_FATAL_FAILURE(OpenEcho(*client));
  // Past the chain's end and the sweep that follows it (every second).
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  ExpectEndedWhileTheOtherRunsOn(bound, anonymous);
}

// A tunnel whose credential ends (an API key revoked: the gateway's tunnel
// says so) is ended by the io thread within about a second; another runs on.
TEST_F(TlsTest, ATunnelEndsOnceItsCredentialNoLongerStands) {
  revocable_stands = true;
  ASSERT_TRUE(Start(Tls()).ok());
  TlsTestClient revocable(server_->port(), Client());
  auto switched = revocable.Get("/echo-revocable");
  ASSERT_TRUE(switched.has_value());
  ASSERT_EQ(switched->status, 101);
  ASSERT_TRUE(revocable.SendData("ping"));
  EXPECT_EQ(revocable.ReadData(), "ping");
  TlsTestClient other(server_->port(), Client());
  ASSERT_NO_FATAL_FAILURE(OpenEcho(other));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // sweeps that find it standing
  ASSERT_TRUE(revocable.SendData("still"));
  EXPECT_EQ(revocable.ReadData(), "still");
  revocable_stands = false;
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // a sweep after
  ExpectEndedWhileTheOtherRunsOn(revocable, other);
}

// Nor does a tunnel outlast the trust its certificate was verified against:
// once a reload takes a changed CRL, the tunnel ends, and the revoked client
// cannot connect again. One without a client certificate runs on.
TEST_F(TlsTest, ATunnelEndsWhenTheCrlChanges) {
  const IssuedCert gone =
      ca_.Issue({.common_name = "gone", .uris = {"spiffe://prod.example/gone"}, .client = true});
  WriteClient("gone", gone);
  ASSERT_TRUE(StartWithCrl(ca_.Crl({})).ok());
  TlsTestClient bound(server_->port(), Client("gone"));
  TlsTestClient anonymous(server_->port(), Client());
  for (TlsTestClient* client : {&bound, &anonymous}) ASSERT_NO_FATAL_FAILURE(OpenEcho(*client));
  ASSERT_NO_FATAL_FAILURE(Revoke(gone, "gone"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // a sweep after it
  ExpectEndedWhileTheOtherRunsOn(bound, anonymous);
}

// Over TLS a body is readable a whole record at a time: a client on a slow
// link, well above the least rate, whose first 16 KiB record takes a second
// to arrive is not cut for the grace (300 ms here) having passed with
// nothing readable. A client below the rate still is.
TEST_F(TlsTest, ASlowLinkAboveTheLeastRateIsNotCutWhileARecordArrives) {
  HttpServerOptions options;
  options.threads = 1;
  options.tls = Tls();
  options.max_held_body_bytes = 16;
  options.body_read_timeout = std::chrono::seconds(2);
  options.min_body_bytes_per_second = 1000;
  options.min_body_rate_grace = std::chrono::milliseconds(300);
  auto server = StartAsyncHttpServer(
      std::move(options), [](HttpRequest& request) -> boost::asio::awaitable<HttpResponse> {
        const Status read = co_await ReadWholeBody(request, 1 << 20);
        if (!read.ok()) co_return HttpResponse{.status = StatusForBodyError(read)};
        co_return HttpResponse{.body = std::to_string(request.body.size())};
      });
  ASSERT_TRUE(server.has_value()) << server.error().ToString();
  const std::string head = "POST /up HTTP/1.1\r\nHost: localhost\r\nContent-Length: 16000\r\n\r\n";
  {
    // 16 KB/s, sixteen times the least rate: the record in about 1 s.
    TlsTestClient client((*server)->port(), Client());
    ASSERT_TRUE(client.SendData(head));
    const std::string wire = client.Seal(std::string(16000, 'u'));
    ASSERT_FALSE(wire.empty());
    ASSERT_TRUE(client.SendWire(wire, 2000, std::chrono::milliseconds(125)));
    auto response = client.Receive();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "16000");
  }
  {
    // 400 B/s, below it: cut (408) at the body timeout, long before the
    // record would be whole (40 s).
    TlsTestClient client((*server)->port(), Client());
    ASSERT_TRUE(client.SendData(head));
    const std::string wire = client.Seal(std::string(16000, 'u'));
    ASSERT_FALSE(wire.empty());
    std::thread slow(
        [&client, &wire] { client.SendWire(wire, 100, std::chrono::milliseconds(250)); });
    const auto start = std::chrono::steady_clock::now();
    auto response = client.Receive();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
    server->reset();  // closes the connection, ending the sender
    slow.join();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 408);
  }
}

TEST_F(TlsTest, StartFailsOnMissingOrMismatchedFiles) {
  TlsServerOptions missing = Tls();
  missing.cert_file = Path("nope.pem");
  EXPECT_EQ(Start(missing).code(), StatusCode::kNotFound);

  const IssuedCert other = ca_.Issue({.common_name = "other", .server = true});
  WriteFile(Path("other.key"), other.key_pem);
  TlsServerOptions mismatched = Tls();
  mismatched.key_file = Path("other.key");
  const Status status = Start(mismatched);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message().find("BEGIN"), std::string::npos);  // no key material in errors

  TlsServerOptions no_ca = Tls(ClientAuth::kRequired);
  no_ca.client_ca_file.clear();
  EXPECT_EQ(Start(no_ca).code(), StatusCode::kInvalidArgument);

  // A CRL file cut short (half written) is refused, not taken for the CRLs
  // before the cut: a reload keeps the set it had.
  const TestCa other_ca("Other CA");
  const std::string crls = ca_.Crl({}) + other_ca.Crl({});
  WriteFile(Path("cut.pem"), crls.substr(0, crls.size() * 3 / 4));
  TlsServerOptions cut = Tls(ClientAuth::kRequired);
  cut.crl_file = Path("cut.pem");
  EXPECT_EQ(Start(cut).code(), StatusCode::kInvalidArgument);
  WriteFile(Path("whole.pem"), crls);
  cut.crl_file = Path("whole.pem");
  EXPECT_TRUE(Start(cut).ok());
}

// Kubernetes mounts a secret as <dir>/tls.crt -> ..data/tls.crt with
// ..data -> ..<timestamp>, and rotates it by swapping ..data.
TEST_F(TlsTest, ReloadsOnSymlinkSwapWithoutDroppingConnections) {
  const fs::path mount = dir_ / "mount";
  auto write_version = [&](const std::string& version, const IssuedCert& cert) {
    fs::create_directories(mount / version);
    WriteFile((mount / version / "tls.crt").string(), cert.cert_pem);
    WriteFile((mount / version / "tls.key").string(), cert.key_pem);
  };
  write_version("..v1", server_cert_);
  fs::create_directory_symlink("..v1", mount / "..data");
  fs::create_symlink("..data/tls.crt", mount / "tls.crt");
  fs::create_symlink("..data/tls.key", mount / "tls.key");

  TlsServerOptions tls = Tls();
  tls.cert_file = (mount / "tls.crt").string();
  tls.key_file = (mount / "tls.key").string();
  ASSERT_TRUE(Start(tls).ok());

  TlsTestClient open(server_->port(), Client());
  ASSERT_TRUE(open.handshake_ok());
  ASSERT_TRUE(open.Get("/").has_value());
  EXPECT_EQ(open.server_cert_serial(), std::to_string(server_cert_.serial));

  const IssuedCert rotated = ca_.Issue(
      {.common_name = "localhost", .dns = {"localhost"}, .ips = {"127.0.0.1"}, .server = true});
  write_version("..v2", rotated);
  fs::create_directory_symlink("..v2", mount / "..data_tmp");
  fs::rename(mount / "..data_tmp", mount / "..data");  // the atomic swap
  fs::remove_all(mount / "..v1");

  std::string served;
  for (int i = 0; i < 200 && served != std::to_string(rotated.serial); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    TlsTestClient fresh(server_->port(), Client());
    if (fresh.handshake_ok()) served = fresh.server_cert_serial();
  }
  EXPECT_EQ(served, std::to_string(rotated.serial));

  // The connection opened before the swap is still served.
  auto response = open.Get("/after-swap");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
}

TEST_F(TlsTest, KeepsLastGoodCertificateWhenReloadFails) {
  ASSERT_TRUE(Start(Tls()).ok());
  // A key that does not match the certificate: the reload must not take.
  const IssuedCert other = ca_.Issue({.common_name = "other", .server = true});
  WriteFile(Path("server.key"), other.key_pem);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  TlsTestClient client(server_->port(), Client());
  ASSERT_TRUE(client.handshake_ok()) << client.failure();
  EXPECT_EQ(client.server_cert_serial(), std::to_string(server_cert_.serial));
  ASSERT_TRUE(client.Get("/").has_value());

  // Once the pair matches again, it loads.
  WriteFile(Path("server.pem"), other.cert_pem);
  std::string served;
  for (int i = 0; i < 200 && served != std::to_string(other.serial); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    TlsTestClient fresh(server_->port(),
                        TlsClientOptions{.ca_file = Path("ca.pem"), .server_name = "other"});
    served = fresh.server_cert_serial();
  }
  EXPECT_EQ(served, std::to_string(other.serial));
}

TEST(SpiffeIdTest, FollowsTheSpecification) {
  for (const char* good : {"spiffe://example.org", "spiffe://example.org/ns/web",
                           "spiffe://prod-1.example_x/a.b/C-d_e", "spiffe://a/b"}) {
    EXPECT_TRUE(IsSpiffeId(good)) << good;
  }
  for (const char* bad :
       {"", "spiffe://", "spiffe:///path", "SPIFFE://example.org", "spiffe://Example.org/x",
        "spiffe://example.org/", "spiffe://example.org//x", "spiffe://example.org/./x",
        "spiffe://example.org/../x", "spiffe://example.org/x?y", "spiffe://example.org/x#y",
        "spiffe://example.org:8443/x", "spiffe://user@example.org/x", "spiffe://example.org/%41",
        "https://example.org/x", "spiffe://exa mple.org"}) {
    EXPECT_FALSE(IsSpiffeId(bad)) << bad;
  }
  EXPECT_FALSE(IsSpiffeId("spiffe://example.org/" + std::string(2040, 'a')));
  EXPECT_EQ(SpiffeTrustDomain("spiffe://prod.example/ns/web"), "prod.example");
  EXPECT_EQ(SpiffeTrustDomain("spiffe://prod.example"), "prod.example");
  EXPECT_EQ(SpiffeTrustDomain("spiffe://prod.example/"), "");
}

}  // namespace
}  // namespace bulwark::net

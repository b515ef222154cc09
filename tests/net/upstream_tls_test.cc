// TLS to a service from a server's io thread, where the pool runs OpenSSL on
// the socket itself (net/tls_socket.h): large bodies both ways, a chunked
// answer read through Beast, a certificate that names another host, and a
// handshake the service never finishes.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/this_coro.hpp>

#include "http_test_client.h"
#include "net/async_http_server.h"
#include "net/upstream_pool.h"
#include "net/upstream_tls_context.h"
#include "testing/test_pki.h"

namespace bulwark::net {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using bulwark::testing::TestCa;

std::string Pattern(size_t size, int seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * seed + i / 97) % 26);
  return s;
}

// A TLS service on a real socket, one connection at a time, blocking
// OpenSSL. Each request's body (Content-Length) is read slowly at first, so
// the pool's writes must wait; GET /chunked is answered with `body` in 64 KiB
// chunks, any other request with its body's hash then `body`, framed by
// Content-Length. With `handshake` false it accepts and never answers. With
// `groups`, it agrees keys on those groups alone (an OpenSSL list).
class TlsService {
 public:
  TlsService(const bulwark::testing::IssuedCert& cert, std::string body, bool handshake = true,
             const std::string& groups = "")
      : body_(std::move(body)),
        handshake_(handshake),
        ctx_(ServerContext(cert, groups), SSL_CTX_free) {}

  uint16_t port() const { return loop_.port(); }
  int connections() const { return loop_.connections(); }

 private:
  // A server context with `cert`, made before the service's thread starts.
  static SSL_CTX* ServerContext(const bulwark::testing::IssuedCert& cert,
                                const std::string& groups) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (!groups.empty()) {
      EXPECT_EQ(SSL_CTX_set1_groups_list(ctx, groups.c_str()), 1);
    }
    BIO* cert_bio = BIO_new_mem_buf(cert.cert_pem.data(), static_cast<int>(cert.cert_pem.size()));
    BIO* key_bio = BIO_new_mem_buf(cert.key_pem.data(), static_cast<int>(cert.key_pem.size()));
    X509* x509 = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
    EXPECT_EQ(SSL_CTX_use_certificate(ctx, x509), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx, key), 1);
    // Asks for a client certificate and takes any, or none: GET
    // /client-serial tells which came.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
    X509_free(x509);
    EVP_PKEY_free(key);
    BIO_free(cert_bio);
    BIO_free(key_bio);
    return ctx;
  }

  void Serve(int fd) {
    if (!handshake_) {
      char c;
      while (::read(fd, &c, 1) == 1) {
      }
    } else {
      SSL* ssl = SSL_new(ctx_.get());
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1) Answer(ssl);
      SSL_free(ssl);
    }
    ::close(fd);
  }

  bool WriteAll(SSL* ssl, const std::string& data) {
    return data.empty() || SSL_write(ssl, data.data(), static_cast<int>(data.size())) > 0;
  }

  void Answer(SSL* ssl) {
    for (;;) {
      const std::optional<testing::ReceivedRequest> request =
          testing::ReadRequestSlowly([ssl](char* data, size_t size) {
            return static_cast<long>(SSL_read(ssl, data, static_cast<int>(size)));
          });
      if (!request) return;
      if (request->head.starts_with("GET /client-serial ")) {
        std::string serial = "none";
        if (X509* peer = SSL_get0_peer_certificate(ssl)) {
          int64_t number = 0;
          ASN1_INTEGER_get_int64(&number, X509_get0_serialNumber(peer));
          serial = std::to_string(number);
        }
        if (!WriteAll(ssl, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(serial.size()) +
                               "\r\n\r\n" + serial)) {
          return;
        }
        continue;
      }
      if (request->head.starts_with("GET /chunked ")) {
        if (!WriteAll(ssl, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")) return;
        constexpr size_t kChunk = 64 << 10;
        for (size_t at = 0; at < body_.size(); at += kChunk) {
          const std::string piece = body_.substr(at, kChunk);
          char size[32];
          std::snprintf(size, sizeof(size), "%zx\r\n", piece.size());
          if (!WriteAll(ssl, size + piece + "\r\n")) return;
        }
        if (!WriteAll(ssl, "0\r\n\r\n")) return;
        continue;
      }
      const std::string answer =
          std::to_string(std::hash<std::string>{}(request->body)) + "\n" + body_;
      if (!WriteAll(ssl, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(answer.size()) +
                             "\r\n\r\n" + answer)) {
        return;
      }
    }
  }

  const std::string body_;
  const bool handshake_;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx_;
  // Last: its thread stops before the context it uses is freed.
  testing::LoopbackService loop_{[this](int fd) { Serve(fd); }};
};

class UpstreamTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("bulwark-upstream-tls-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    bulwark::testing::WriteFile(dir_ / "ca.pem", ca_.cert_pem());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A server whose handler forwards each request to `port` over TLS,
  // expecting the service's certificate to name `server_name`, through one
  // pool made and used on the server's one io thread.
  // With `client`, the pool presents <client>.pem and <client>.key, looked
  // at again for every new connection.
  void StartProxy(uint16_t port, const std::string& server_name,
                  std::chrono::milliseconds connect_timeout = std::chrono::seconds(2),
                  bool io_uring = true, const std::string& client = "") {
    UpstreamOptions upstream;
    upstream.port = port;
    upstream.connect_timeout = connect_timeout;
    upstream.tls = UpstreamTls{.ca_file = dir_ / "ca.pem", .server_name = server_name};
    if (!client.empty()) {
      upstream.tls->cert_file = dir_ / (client + ".pem");
      upstream.tls->key_file = dir_ / (client + ".key");
    }
    auto context = UpstreamTlsContext::Create(*upstream.tls, std::chrono::milliseconds(0));
    ASSERT_TRUE(context.has_value()) << context.error().ToString();
    HttpServerOptions options;
    options.threads = 1;
    options.max_body_bytes = 16 << 20;
    options.max_held_body_bytes = 64 << 10;  // larger bodies stream to the service
    options.io_uring = io_uring;
    const auto endpoints = std::vector<asio::ip::tcp::endpoint>{
        asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port)};
    auto server = StartAsyncHttpServer(
        options,
        [this, upstream, endpoints,
         tls = *context](HttpRequest& request) -> asio::awaitable<HttpResponse> {
          if (request.target == "/drop") {  // before the server's io_context goes
            pool_.reset();
            co_return HttpResponse{.status = 204};
          }
          if (!pool_) {
            pool_ = std::make_unique<UpstreamPool>(co_await asio::this_coro::executor, upstream,
                                                   endpoints, tls);
          }
          HttpRequest forward;
          forward.method = request.method;
          forward.target = request.target;
          forward.headers = {{"Host", "service"}};
          forward.body = std::move(request.body);
          forward.streamed_body = std::move(request.streamed_body);
          Result<HttpResponse> sent = co_await pool_->Send(forward, false);
          if (!sent) co_return HttpResponse{.status = 502, .body = sent.error().ToString()};
          co_return HttpResponse{.status = 200,
                                 .body = std::move(sent->body),
                                 .streamed_body = std::move(sent->streamed_body)};
        });
    ASSERT_TRUE(server.has_value()) << server.error().ToString();
    server_ = std::move(*server);
  }
  void StopProxy() {
    testing::TestClient client(server_->port());
    ASSERT_TRUE(client.Send("GET /drop HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(client.ReadResponse().has_value());
    EXPECT_EQ(pool_, nullptr);
  }

  TestCa ca_{"Upstream Test CA"};
  fs::path dir_;
  std::unique_ptr<UpstreamPool> pool_;
  std::unique_ptr<HttpServer> server_;
};

// Requests up to a record's size are sealed and sent in the io thread's batch
// where io_uring runs; larger ones, and all without it, OpenSSL writes itself.
TEST_F(UpstreamTlsTest, CarriesLargeBodiesBothWaysChunkedOrNotOnOnePooledConnection) {
  const std::string back = Pattern(6 << 20, 7);
  TlsService service(ca_.Issue({.common_name = "service", .dns = {"service.test"}, .server = true}),
                     back);
  const std::string body = Pattern(8 << 20, 3);
  const std::string hash = std::to_string(std::hash<std::string>{}(body));
  int proxies = 0;
  for (const bool io_uring : {true, false}) {
    if (io_uring && !testing::IoUringAvailable()) continue;
    StartProxy(service.port(), "service.test", std::chrono::seconds(2), io_uring);
    ++proxies;
    testing::TestClient client(server_->port());
    for (int round = 0; round < 2; ++round) {
      ASSERT_TRUE(client.Send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body));
      auto response = client.ReadResponse(false, std::chrono::seconds(20));
      ASSERT_TRUE(response.has_value()) << io_uring << round;
      ASSERT_EQ(response->status, 200) << response->body.substr(0, 200);
      EXPECT_TRUE(response->body == hash + "\n" + back) << io_uring << round;

      ASSERT_TRUE(client.Send("GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n"));
      response = client.ReadResponse(false, std::chrono::seconds(20));
      ASSERT_TRUE(response.has_value()) << io_uring << round;
      ASSERT_EQ(response->status, 200) << response->body.substr(0, 200);
      EXPECT_TRUE(response->body == back) << io_uring << round;
    }
    EXPECT_EQ(service.connections(), proxies) << "one pooled connection per proxy";
    StopProxy();
    server_.reset();
  }
}

// A certificate for another host is refused, and so is one without DNS
// names whose subject's CN is the service's name: a CN is never matched
// (RFC 9525 section 6.3), so no SAN-less certificate of the same CA passes
// for the service.
TEST_F(UpstreamTlsTest, RefusesAServiceWhoseCertificateDoesNotNameItAmongItsDnsNames) {
  for (const bulwark::testing::CertSpec& spec :
       {bulwark::testing::CertSpec{.common_name = "other", .dns = {"other.test"}, .server = true},
        bulwark::testing::CertSpec{.common_name = "service.test", .server = true}}) {
    TlsService service(ca_.Issue(spec), "secret");
    StartProxy(service.port(), "service.test");
    testing::TestClient client(server_->port());
    ASSERT_TRUE(client.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto response = client.ReadResponse();
    ASSERT_TRUE(response.has_value()) << spec.common_name;
    EXPECT_EQ(response->status, 502) << spec.common_name;
    EXPECT_EQ(response->body.find("secret"), std::string::npos);
    EXPECT_NE(response->body.find("TLS handshake"), std::string::npos) << response->body;
    StopProxy();
    server_.reset();
  }
}

// A service named by an IPv6 address with a zone (a link-local one's
// `%eth0`) is checked against the address as certificates hold it, without
// the zone: a certificate of the same CA for another name is refused, not
// let through with its chain alone because OpenSSL could not parse the
// name. One that holds the address is served.
TEST_F(UpstreamTlsTest, AnAddressWithAZoneIsCheckedWithoutIt) {
  for (const bool holds : {false, true}) {
    bulwark::testing::CertSpec spec{.common_name = "other", .dns = {"other.test"}, .server = true};
    if (holds) spec.ips = {"::1"};
    TlsService service(ca_.Issue(spec), "secret");
    StartProxy(service.port(), "::1%lo");
    testing::TestClient client(server_->port());
    ASSERT_TRUE(client.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto response = client.ReadResponse();
    ASSERT_TRUE(response.has_value()) << holds;
    if (holds) {
      EXPECT_EQ(response->status, 200) << response->body;
      EXPECT_TRUE(response->body.ends_with("\nsecret")) << response->body;
    } else {
      EXPECT_EQ(response->status, 502) << response->body;
      EXPECT_EQ(response->body.find("secret"), std::string::npos);
    }
    StopProxy();
    server_.reset();
  }
}

// Bulwark offers a service elliptic curves alone: a service that would agree
// a key on a finite-field group only (each such handshake costs a hundred
// X25519 ones) is refused; one that takes P-521 alone is served.
TEST_F(UpstreamTlsTest, OffersAServiceEllipticCurvesAlone) {
  const bulwark::testing::IssuedCert cert =
      ca_.Issue({.common_name = "service.test", .dns = {"service.test"}, .server = true});
  for (const auto& [groups, status] :
       {std::pair{std::string("ffdhe2048"), 502}, std::pair{std::string("ffdhe8192"), 502},
        std::pair{std::string("P-521"), 200}, std::pair{std::string("ffdhe2048:X448"), 200}}) {
    TlsService service(cert, "fine", true, groups);
    StartProxy(service.port(), "service.test");
    testing::TestClient client(server_->port());
    ASSERT_TRUE(client.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto response = client.ReadResponse();
    ASSERT_TRUE(response.has_value()) << groups;
    EXPECT_EQ(response->status, status) << groups << ": " << response->body;
    if (status == 502) {
      EXPECT_NE(response->body.find("TLS handshake"), std::string::npos) << response->body;
    }
    StopProxy();
    server_.reset();
  }
}

// The client certificate the pool presents is rotated by writing its files
// (as SPIRE's helper or cert-manager do): new connections present the new
// one; a pair that does not match leaves the last good one in use.
TEST_F(UpstreamTlsTest, ANewConnectionPresentsTheClientCertificateAsItsFilesNowHoldIt) {
  TlsService service(ca_.Issue({.common_name = "service", .dns = {"service.test"}, .server = true}),
                     "");
  auto write = [&](const bulwark::testing::IssuedCert& cert) {
    bulwark::testing::WriteFile(dir_ / "gw.pem", cert.cert_pem);
    bulwark::testing::WriteFile(dir_ / "gw.key", cert.key_pem);
  };
  const auto first = ca_.Issue({.common_name = "gw", .client = true});
  const auto second = ca_.Issue({.common_name = "gw", .client = true});
  write(first);
  StartProxy(service.port(), "service.test", std::chrono::seconds(2), true, "gw");
  auto presented = [&] {
    testing::TestClient client(server_->port());
    EXPECT_TRUE(client.Send("GET /client-serial HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto response = client.ReadResponse();
    return response ? response->body : std::string("no answer");
  };
  // What new connections present, each made after the last is closed, once
  // it is `serial` (the files are loaded off the io thread) or 5 s passed.
  auto fresh_once = [&](int64_t serial) {
    std::string got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    do {
      StopProxy();
      got = presented();
    } while (got != std::to_string(serial) && std::chrono::steady_clock::now() < deadline);
    return got;
  };
  EXPECT_EQ(presented(), std::to_string(first.serial));
  write(second);
  EXPECT_EQ(presented(), std::to_string(first.serial));  // the pooled connection keeps its own
  EXPECT_EQ(fresh_once(second.serial), std::to_string(second.serial));

  // A certificate whose key has not come yet is not taken: connections go
  // on presenting the last good one.
  const auto third = ca_.Issue({.common_name = "gw", .client = true});
  bulwark::testing::WriteFile(dir_ / "gw.pem", third.cert_pem);
  for (int i = 0; i < 10; ++i) {
    StopProxy();
    EXPECT_EQ(presented(), std::to_string(second.serial)) << i;
  }
  // Once it has, it is.
  bulwark::testing::WriteFile(dir_ / "gw.key", third.key_pem);
  EXPECT_EQ(fresh_once(third.serial), std::to_string(third.serial));
  StopProxy();
}

TEST_F(UpstreamTlsTest, AHandshakeTheServiceNeverFinishesIsCutAtTheConnectTimeout) {
  TlsService service(ca_.Issue({.common_name = "service", .dns = {"service.test"}, .server = true}),
                     "", /*handshake=*/false);
  StartProxy(service.port(), "service.test", std::chrono::milliseconds(300));
  testing::TestClient client(server_->port());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto response = client.ReadResponse(false, std::chrono::seconds(10));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 502);
  EXPECT_NE(response->body.find("timed out"), std::string::npos) << response->body;
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::seconds(3));
  StopProxy();
}

// A TLS 1.2 service that asks to renegotiate is refused: a renegotiation
// would have a tunnel's write wait to read beside its read's own wait, which
// takes the socket's readiness alone (net/reactor_receive.h).
TEST(UpstreamTlsContextTest, RefusesRenegotiation) {
  auto context = UpstreamTlsContext::Create(UpstreamTls{});
  ASSERT_TRUE(context.has_value()) << context.error().ToString();
  EXPECT_NE(SSL_CTX_get_options((*context)->Current()->native_handle()) & SSL_OP_NO_RENEGOTIATION,
            0u);
}

}  // namespace
}  // namespace bulwark::net

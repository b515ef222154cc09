// FetchUrl against real servers: Bulwark's own listener (plaintext and TLS
// with a test CA) and a socket that accepts but never answers.
#include "net/http_fetch.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <stop_token>
#include <thread>

#include "net/http_server.h"
#include "testing/test_pki.h"

namespace bulwark::net {
namespace {

namespace fs = std::filesystem;

HttpResponse Answer(const HttpRequest& request) {
  if (request.target == "/big") return {.status = 200, .body = std::string(4096, 'x')};
  return {.status = 200,
          .headers = {{"Content-Type", "application/json"}},
          .body = "{\"path\":\"" + request.target + "\",\"host\":\"" +
                  std::string(request.Header("Host").value_or("")) + "\"}"};
}

TEST(HttpFetchTest, ChecksUrls) {
  for (const char* good :
       {"https://idp.example/jwks", "https://idp.example:8443/a?b=c", "http://127.0.0.1:9000/jwks",
        "http://localhost/x", "http://[::1]:80/", "https://192.0.2.10.sslip.io:8443/jwks",
        "https://idp.example?x=1", "https://orders_api:8443/healthz"}) {
    EXPECT_TRUE(CheckFetchUrl(good).ok()) << good;
  }
  // Plain http beyond loopback only when the caller allows it (health checks).
  EXPECT_TRUE(CheckFetchUrl("http://10.0.0.1:8080/healthz", /*allow_plain_http=*/true).ok());
  for (const char* bad :
       {"", "jwks.json", "ftp://idp.example/x", "http://idp.example/jwks", "http://10.0.0.1/jwks",
        "https://user@idp.example/", "https://idp.example/#f", "file:///etc/passwd",
        // A name that begins with a loopback address is a name (not loopback).
        "http://127.0.0.1.evil:9000/jwks", "http://127.0.0.1x:9000/jwks",
        "http://127.0.0.1:9000x/jwks", "https://idp.example:0/", "https://idp.example:65536/",
        "https://idp.example:/", "https://id%70.example/", "https://idp.example/a b"}) {
    EXPECT_EQ(CheckFetchUrl(bad).code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(HttpFetchTest, FetchesOverPlainHttpFromLoopback) {
  auto server = HttpServer::Start({.threads = 1}, Answer);
  ASSERT_TRUE(server.has_value());
  const std::string port = std::to_string((*server)->port());
  auto response = FetchUrl("http://127.0.0.1:" + port + "/jwks?x=1");
  ASSERT_TRUE(response.has_value()) << response.error().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->content_type, "application/json");
  EXPECT_EQ(response->body, "{\"path\":\"/jwks?x=1\",\"host\":\"127.0.0.1:" + port + "\"}");
  auto big = FetchUrl("http://127.0.0.1:" + port + "/big", {.max_body_bytes = 1024});
  EXPECT_EQ(big.error().code(), StatusCode::kResourceExhausted);
}

// One address of a name with several: the name goes as Host, the
// connection to the address given (the name itself need not resolve).
TEST(HttpFetchTest, ConnectsToTheAddressGivenInPlaceOfTheNames) {
  auto server = HttpServer::Start({.threads = 1}, Answer);
  ASSERT_TRUE(server.has_value());
  const std::string port = std::to_string((*server)->port());
  FetchOptions options{.allow_plain_http = true};
  options.connect_addresses = {"::1", "127.0.0.1"};  // the first that answers
  auto response = FetchUrl("http://orders.invalid:" + port + "/healthz", options);
  ASSERT_TRUE(response.has_value()) << response.error().ToString();
  EXPECT_EQ(response->body, "{\"path\":\"/healthz\",\"host\":\"orders.invalid:" + port + "\"}");
  options.connect_addresses = {"not an address"};
  EXPECT_EQ(FetchUrl("http://orders.invalid:" + port + "/healthz", options).error().code(),
            StatusCode::kInvalidArgument);
  // A name that begins with an address is the whole name, with its port.
  options.connect_addresses = {"127.0.0.1"};
  auto dotted = FetchUrl("http://127.0.0.1.orders.invalid:" + port + "/healthz", options);
  ASSERT_TRUE(dotted.has_value()) << dotted.error().ToString();
  EXPECT_EQ(dotted->body,
            "{\"path\":\"/healthz\",\"host\":\"127.0.0.1.orders.invalid:" + port + "\"}");
  // Plain http goes only to loopback unless allowed, whatever the name.
  FetchOptions strict;
  strict.connect_addresses = {"192.0.2.1"};
  EXPECT_EQ(FetchUrl("http://localhost:" + port + "/healthz", strict).error().code(),
            StatusCode::kInvalidArgument);
}

// A listening socket that never accepts: connections complete in its
// backlog and nothing is read. Its descriptor and a URL to it.
std::pair<int, std::string> SilentListener() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 8) != 0) {
    ADD_FAILURE() << "no listening socket";
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return {fd, "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/"};
}

TEST(HttpFetchTest, TimesOutOnAServerThatNeverAnswers) {
  const auto [fd, url] = SilentListener();
  const auto start = std::chrono::steady_clock::now();
  auto response = FetchUrl(url, {.timeout = std::chrono::milliseconds(200)});
  EXPECT_EQ(response.error().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ::close(fd);
}

// A stop asked for (a server shutting down) ends a fetch under way at once,
// not at its timeout.
TEST(HttpFetchTest, AStopEndsAFetchUnderWay) {
  const auto [fd, url] = SilentListener();
  std::stop_source stop;
  std::thread stopper([&stop] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop.request_stop();
  });
  const auto start = std::chrono::steady_clock::now();
  auto response = FetchUrl(url, {.timeout = std::chrono::seconds(10), .stop = stop.get_token()});
  const auto took = std::chrono::steady_clock::now() - start;
  stopper.join();
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code(), StatusCode::kCancelled);
  EXPECT_LT(took, std::chrono::seconds(2));
  // Asked before it starts, it does not start.
  auto again = FetchUrl(url, {.timeout = std::chrono::seconds(10), .stop = stop.get_token()});
  EXPECT_EQ(again.error().code(), StatusCode::kCancelled);
  ::close(fd);
}

// A service on a raw socket (SilentListener's) that answers one request
// with `answer`, keeps its side open unless `close` (then shuts down its
// writes), and tells how the fetch's side ended: "close", "reset", or
// "open" if it had not after two seconds.
class RawService {
 public:
  RawService(std::string answer, bool close) {
    auto [fd, url] = SilentListener();
    fd_ = fd;
    url_ = url;
    thread_ = std::thread([this, answer = std::move(answer), close] { Serve(answer, close); });
  }
  ~RawService() {
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  const std::string& url() const { return url_; }
  std::string Ending() {
    thread_.join();
    return ending_;
  }

 private:
  void Serve(const std::string& answer, bool close) {
    const int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    timeval wait{.tv_sec = 2, .tv_usec = 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
    char buf[4096];
    std::string request;
    while (request.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(c, buf, sizeof(buf), 0);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    for (size_t sent = 0; sent < answer.size();) {
      const ssize_t n = ::send(c, answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {  // the reset came while the answer was still going out
        ending_ = "reset";
        ::close(c);
        return;
      }
      sent += static_cast<size_t>(n);
    }
    if (close) ::shutdown(c, SHUT_WR);
    ssize_t n = 0;
    while ((n = ::recv(c, buf, sizeof(buf), 0)) > 0) {
    }
    ending_ = n == 0 ? "close" : errno == ECONNRESET ? "reset" : "open";
    ::close(c);
  }

  int fd_ = -1;
  std::string url_;
  std::thread thread_;
  std::string ending_;
};

std::string Page(size_t bytes, bool close) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(bytes) +
         (close ? "\r\nConnection: close" : "") + "\r\n\r\n" + std::string(bytes, 'u');
}

// A health check takes the status from the head and reads the body only to
// drop it, so the service sees its connection closed, not reset (a socket
// closed with bytes unread sends one), whether the service closes too or
// would keep the connection alive.
TEST(HttpFetchTest, AHeadOnlyFetchDropsTheBodySoTheServiceSeesNoReset) {
  for (const bool close : {true, false}) {
    RawService service(Page(100 * 1024, close), close);
    const auto start = std::chrono::steady_clock::now();
    auto response =
        FetchUrl(service.url(), {.timeout = std::chrono::seconds(5), .head_only = true});
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(response.has_value()) << response.error().ToString();
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(response->body.empty());
    EXPECT_EQ(service.Ending(), "close") << "close: " << close;
    EXPECT_LT(took, std::chrono::milliseconds(400)) << "it waited for no close it was not promised";
  }
}

// What is more than the fetch will drop (1 MiB) is left, and the fetch
// ends soon after the head all the same.
TEST(HttpFetchTest, AHeadOnlyFetchLeavesALongBody) {
  RawService service(Page(20 << 20, false), false);
  const auto start = std::chrono::steady_clock::now();
  auto response = FetchUrl(service.url(), {.timeout = std::chrono::seconds(5), .head_only = true});
  ASSERT_TRUE(response.has_value()) << response.error().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(service.Ending(), "reset");
}

TEST(HttpFetchTest, VerifiesTheServerOverTls) {
  const fs::path dir = fs::temp_directory_path() / ("bulwark-fetch-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  bulwark::testing::TestCa ca("Fetch CA");
  bulwark::testing::TestCa other("Other CA");
  auto cert = ca.Issue({.common_name = "localhost", .dns = {"localhost"}, .server = true});
  bulwark::testing::WriteFile((dir / "ca.pem").string(), ca.cert_pem());
  bulwark::testing::WriteFile((dir / "other.pem").string(), other.cert_pem());
  bulwark::testing::WriteFile((dir / "cert.pem").string(), cert.cert_pem);
  bulwark::testing::WriteFile((dir / "key.pem").string(), cert.key_pem);
  HttpServerOptions options;
  options.threads = 1;
  options.tls = TlsServerOptions{.cert_file = (dir / "cert.pem").string(),
                                 .key_file = (dir / "key.pem").string()};
  auto server = HttpServer::Start(options, Answer);
  ASSERT_TRUE(server.has_value());
  const std::string port = std::to_string((*server)->port());

  auto good =
      FetchUrl("https://localhost:" + port + "/jwks", {.ca_file = (dir / "ca.pem").string()});
  ASSERT_TRUE(good.has_value()) << good.error().ToString();
  EXPECT_EQ(good->status, 200);
  // An untrusted CA, the system trust store (which knows nothing of this CA),
  // and a name the certificate does not hold all fail.
  EXPECT_EQ(FetchUrl("https://localhost:" + port + "/", {.ca_file = (dir / "other.pem").string()})
                .error()
                .code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(FetchUrl("https://localhost:" + port + "/").error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(FetchUrl("https://127.0.0.1:" + port + "/", {.ca_file = (dir / "ca.pem").string()})
                .error()
                .code(),
            StatusCode::kUnavailable);
  // Connected to an address given, the certificate is still checked against
  // the URL's name, not the address.
  FetchOptions at_address{.ca_file = (dir / "ca.pem").string()};
  at_address.connect_addresses = {"127.0.0.1"};
  auto named = FetchUrl("https://localhost:" + port + "/", at_address);
  ASSERT_TRUE(named.has_value()) << named.error().ToString();
  EXPECT_EQ(named->status, 200);
  EXPECT_EQ(FetchUrl("https://orders.invalid:" + port + "/", at_address).error().code(),
            StatusCode::kUnavailable);
  server->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace bulwark::net

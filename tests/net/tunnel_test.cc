// Tunnels: an upgrade through UpstreamPool::Upgrade and a server whose
// handler answers with the 101 and its tunnel, against a service on a real
// socket that switches protocols and then echoes, or refuses, or switches
// to a protocol nobody asked for, or goes quiet.
#include "net/tunnel.h"

#include "http_test_client.h"
#include "net/async_http_server.h"
#include "net/upstream_pool.h"

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/this_coro.hpp>

namespace bulwark::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Reads through the end of a request head; what came after it stays in
// `rest`. The head, or empty at the end of the stream.
std::string ReadHead(int fd, std::string& rest) {
  std::string data;
  char buf[4096];
  size_t end;
  while ((end = data.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return "";
    data.append(buf, static_cast<size_t>(n));
  }
  rest = data.substr(end + 4);
  return data.substr(0, end + 4);
}

class TunnelTest : public ::testing::Test {
 protected:
  // A service that reads one request head, answers `answer` and, if it
  // switched, echoes what comes (uppercased, so the echo is the service's)
  // until the connection ends.
  // With `echo` false it closes the connection right after its answer.
  void Serve(std::string answer, bool echo = true) {
    answer_ = std::move(answer);
    echo_ = echo;
    service_ = std::make_unique<testing::LoopbackService>([this](int fd) {
      std::string rest;
      heads_.push_back(ReadHead(fd, rest));
      if (heads_.back().empty() || !testing::SendAll(fd, answer_)) {
        ::close(fd);
        return;
      }
      if (echo_ && answer_.starts_with("HTTP/1.1 101")) {
        for (std::string data = rest;;) {
          for (char& ch : data)
            ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
          if (!data.empty() && !testing::SendAll(fd, data)) break;
          char buf[4096];
          const ssize_t n = ::read(fd, buf, sizeof buf);
          if (n <= 0) break;
          data.assign(buf, static_cast<size_t>(n));
        }
      }
      ::close(fd);
    });
  }

  // A server whose handler asks the service to switch to `protocol`.
  // With `accept`, the 101 must carry it as its Sec-WebSocket-Accept.
  void StartProxy(std::string protocol, std::chrono::milliseconds idle = 5s,
                  std::string accept = "") {
    HttpServerOptions options;
    options.threads = 1;
    const uint16_t port = service_->port();
    const std::vector<asio::ip::tcp::endpoint> endpoints = {
        asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port)};
    auto server = StartAsyncHttpServer(
        options,
        [this, port, endpoints, protocol, idle,
         accept](HttpRequest& request) -> asio::awaitable<HttpResponse> {
          if (request.target == "/drop") {  // before the server's io_context goes
            pool_.reset();
            co_return HttpResponse{.status = 204};
          }
          if (!pool_) {
            UpstreamOptions upstream;
            upstream.port = port;
            upstream.tunnel_idle_timeout = idle;
            pool_ = std::make_unique<UpstreamPool>(co_await asio::this_coro::executor, upstream,
                                                   endpoints);
          }
          HttpRequest forward;  // (not designated: GCC 12 in a coroutine)
          forward.method = "GET";
          forward.target = request.target;
          forward.headers = {{"Host", "s"}};
          Result<HttpResponse> sent =
              co_await pool_->Upgrade(forward, UpstreamPool::Switch{protocol, accept});
          if (!sent) co_return HttpResponse{.status = 502, .body = sent.error().ToString()};
          co_return std::move(*sent);
        });
    ASSERT_TRUE(server.has_value()) << server.error().ToString();
    server_ = std::move(*server);
  }

  void TearDown() override {
    if (server_ && pool_) {
      testing::TestClient client(server_->port());
      client.Send("GET /drop HTTP/1.1\r\nHost: x\r\n\r\n");
      client.ReadResponse();
    }
  }

  std::string answer_;
  bool echo_ = true;
  std::vector<std::string> heads_;
  std::unique_ptr<testing::LoopbackService> service_;
  std::unique_ptr<UpstreamPool> pool_;
  std::unique_ptr<HttpServer> server_;
};

constexpr std::string_view kSwitch =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

// The 101 reaches the client with the service's fields, and bytes go both
// ways, those sent before the switch on either side first.
TEST_F(TunnelTest, RelaysBothWaysAfterTheSwitch) {
  Serve(std::string(kSwitch) + "hello");  // the service speaks first, in the same write
  StartProxy("websocket");
  testing::TestClient client(server_->port());
  // Bytes right behind the request, before any answer.
  ASSERT_TRUE(client.Send("GET /chat HTTP/1.1\r\nHost: x\r\n\r\nearly"));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  std::string received;
  while (received.find("EARLY") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    received += client.ReadUntilClose(200ms);
  }
  EXPECT_TRUE(received.starts_with("HTTP/1.1 101 Switching Protocols\r\n")) << received;
  EXPECT_NE(received.find("\r\nUpgrade: websocket\r\n"), std::string::npos) << received;
  EXPECT_NE(received.find("\r\nConnection: Upgrade\r\n"), std::string::npos) << received;
  EXPECT_NE(received.find("\r\nSec-WebSocket-Accept: "), std::string::npos) << received;
  EXPECT_EQ(received.find("Content-Length"), std::string::npos) << received;
  const size_t body = received.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  EXPECT_EQ(received.substr(body + 4), "helloEARLY");
  ASSERT_TRUE(client.Send("more bytes"));
  received.clear();
  while (received.size() < 10 && std::chrono::steady_clock::now() < deadline) {
    received += client.ReadUntilClose(200ms);
  }
  EXPECT_EQ(received, "MORE BYTES");
  ASSERT_EQ(heads_.size(), 1u);
  EXPECT_NE(heads_[0].find("\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"), std::string::npos)
      << heads_[0];
}

// A service that answers with another protocol than the one asked for
// (h2c for websocket) is not tunnelled to: 502.
TEST_F(TunnelTest, ASwitchToAnotherProtocolIsRefused) {
  Serve("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n");
  StartProxy("websocket");
  const auto response = testing::RoundTrip(server_->port(), "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 502);
}

// A 101 is an HTTP/1.1 upgrade that names itself in Connection: one that
// does not, or comes as HTTP/1.0, is no handshake (RFC 6455 section 4.1):
// 502, no tunnel.
TEST_F(TunnelTest, A101ThatIsNoHttp11UpgradeIsRefused) {
  for (const char* head : {
           "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
           "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: close\r\n\r\n",
           "HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
       }) {
    Serve(head);
    StartProxy("websocket");
    const auto response = testing::RoundTrip(server_->port(), "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(response.has_value()) << head;
    EXPECT_EQ(response->status, 502) << head;
    TearDown();
    server_.reset();
  }
  // Connection's list may name others beside it, in any case.
  Serve(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive, "
      "UPGRADE\r\n\r\n");
  StartProxy("websocket");
  testing::TestClient client(server_->port());
  ASSERT_TRUE(client.Send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(client.ReadUntilClose(5s).starts_with("HTTP/1.1 101 "))
      << "an upgrade named among others";
}

// A service whose 101 does not answer the key it was sent took no part in
// the handshake: no tunnel to it, 502. One that does is tunnelled to.
TEST_F(TunnelTest, A101MustCarryTheAcceptAskedFor) {
  constexpr std::string_view kHead =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
  const std::string right = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
  for (const std::string& fields : {
           std::string(),
           std::string("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOp=\r\n"),
           std::string("Sec-WebSocket-Accept: \r\n"),
           right + right,
       }) {
    Serve(std::string(kHead) + fields + "\r\n");
    StartProxy("websocket", 5s, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    const auto response = testing::RoundTrip(server_->port(), "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(response.has_value()) << fields;
    EXPECT_EQ(response->status, 502) << fields;
    TearDown();
    server_.reset();
  }
  Serve(std::string(kHead) + right + "\r\n");
  StartProxy("websocket", 5s, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  testing::TestClient client(server_->port());
  ASSERT_TRUE(client.Send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(client.ReadUntilClose(5s).starts_with("HTTP/1.1 101 "));
}

// A service that does not switch answers as ever; its connection, asked to
// switch, is not pooled.
TEST_F(TunnelTest, AServiceThatDeclinesAnswersAsUsual) {
  Serve("HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno");
  StartProxy("websocket");
  const auto response = testing::RoundTrip(server_->port(), "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 403);
  EXPECT_EQ(response->body, "no");
  EXPECT_EQ(pool_->idle_connections(), 0u);
}

// A tunnel through which nothing passes for its idle timeout is closed.
TEST_F(TunnelTest, AnIdleTunnelIsClosed) {
  Serve(std::string(kSwitch));
  StartProxy("websocket", 300ms);
  testing::TestClient client(server_->port());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client.Send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string received = client.ReadUntilClose(5s);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(received.starts_with("HTTP/1.1 101 ")) << received;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
}

// The service ends the tunnel: the client's connection ends with it, not
// at the idle timeout.
TEST_F(TunnelTest, WhenTheServiceClosesTheClientIsClosedAtOnce) {
  Serve(std::string(kSwitch) + "bye", /*echo=*/false);
  StartProxy("websocket", 10s);
  testing::TestClient client(server_->port());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client.Send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string received = client.ReadUntilClose(8s);
  EXPECT_TRUE(received.ends_with("\r\n\r\nbye")) << received;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

// A server told to stop cuts its tunnels rather than waiting out the drain
// for them.
TEST_F(TunnelTest, StopCutsAnOpenTunnel) {
  Serve(std::string(kSwitch));
  StartProxy("websocket", 30s);
  testing::TestClient client(server_->port());
  ASSERT_TRUE(client.Send("GET /x HTTP/1.1\r\nHost: x\r\n\r\nping"));
  std::string received;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!received.ends_with("PING") && std::chrono::steady_clock::now() < deadline) {
    received += client.ReadUntilClose(100ms);
  }
  ASSERT_TRUE(received.ends_with("PING")) << received;
  {  // the pool goes on its io thread, as a pool must
    testing::TestClient dropper(server_->port());
    ASSERT_TRUE(dropper.Send("GET /drop HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(dropper.ReadResponse().has_value());
  }
  ASSERT_EQ(pool_, nullptr);
  const auto start = std::chrono::steady_clock::now();
  server_->Stop(10s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_TRUE(client.WaitForClose(1s));
  server_.reset();
}

// A handler's 101 without a tunnel is a handler bug: 500.
TEST(TunnelServerTest, A101WithoutATunnelIsA500) {
  HttpServerOptions options;
  options.threads = 1;
  auto server = StartAsyncHttpServer(options, [](HttpRequest&) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse{.status = 101};
  });
  ASSERT_TRUE(server.has_value());
  const auto response = testing::RoundTrip((*server)->port(), "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 500);
}

}  // namespace
}  // namespace bulwark::net

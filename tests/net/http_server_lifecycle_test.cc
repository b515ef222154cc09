// Start and Stop: binding, port conflicts, graceful drain.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <future>
#include <latch>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "http_test_client.h"
#include "net/http_server.h"

namespace bulwark::net {
namespace {

using namespace std::chrono_literals;
using testing::RoundTrip;
using testing::TestClient;

constexpr std::string_view kGet = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

HttpResponse Ok(const HttpRequest&) { return HttpResponse{.body = "ok"}; }

// Every test runs with the io threads' sends batched through io_uring and
// one system call at a time; the batched runs skip where this kernel
// refuses io_uring.
class HttpServerLifecycleTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam() && !testing::IoUringAvailable()) GTEST_SKIP() << "no io_uring here";
  }
  HttpServerOptions TestOptions() const {
    HttpServerOptions options;
    options.threads = 2;
    options.io_uring = GetParam();
    return options;
  }
};

INSTANTIATE_TEST_SUITE_P(IoUring, HttpServerLifecycleTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Batched" : "OneByOne"; });

TEST_P(HttpServerLifecycleTest, EphemeralPortIsReportedAndServed) {
  auto server = HttpServer::Start(TestOptions(), Ok);
  ASSERT_TRUE(server.has_value()) << server.error().ToString();
  EXPECT_NE((*server)->port(), 0);
  auto response = RoundTrip((*server)->port(), kGet);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "ok");
}

TEST_P(HttpServerLifecycleTest, SecondServerOnSamePortFails) {
  auto first = HttpServer::Start(TestOptions(), Ok);
  ASSERT_TRUE(first.has_value());
  HttpServerOptions options = TestOptions();
  options.port = (*first)->port();
  // Both would set SO_REUSEPORT; the second must still not join the first's port.
  auto second = HttpServer::Start(options, Ok);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(RoundTrip((*first)->port(), kGet)->body, "ok");
}

TEST_P(HttpServerLifecycleTest, PortHeldByAnotherListenerFails) {
  auto holder = HttpServer::Start(TestOptions(), Ok);
  ASSERT_TRUE(holder.has_value());
  const uint16_t port = (*holder)->port();
  (*holder)->Stop(0ms);
  // A plain listener, no SO_REUSEPORT, on the now free port.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << errno;
  ASSERT_EQ(::listen(fd, 1), 0);
  HttpServerOptions options = TestOptions();
  options.port = port;
  auto server = HttpServer::Start(options, Ok);
  ::close(fd);
  ASSERT_FALSE(server.has_value());
  EXPECT_EQ(server.error().code(), StatusCode::kUnavailable);
}

TEST_P(HttpServerLifecycleTest, PortCanBeReboundAfterStop) {
  auto first = HttpServer::Start(TestOptions(), Ok);
  ASSERT_TRUE(first.has_value());
  const uint16_t port = (*first)->port();
  ASSERT_TRUE(RoundTrip(port, kGet).has_value());  // leaves a connection in TIME_WAIT
  (*first)->Stop(1s);
  HttpServerOptions options = TestOptions();
  options.port = port;
  auto second = HttpServer::Start(options, Ok);
  ASSERT_TRUE(second.has_value()) << second.error().ToString();
  EXPECT_EQ((*second)->port(), port);
  EXPECT_EQ(RoundTrip(port, kGet)->body, "ok");
}

TEST_P(HttpServerLifecycleTest, BadOptionsAreInvalidArgument) {
  EXPECT_EQ(HttpServer::Start(TestOptions(), nullptr).error().code(), StatusCode::kInvalidArgument);
  HttpServerOptions options = TestOptions();
  options.threads = -1;
  EXPECT_EQ(HttpServer::Start(options, Ok).error().code(), StatusCode::kInvalidArgument);
  options = TestOptions();
  options.host = "host.invalid";
  EXPECT_EQ(HttpServer::Start(options, Ok).error().code(), StatusCode::kInvalidArgument);
  options = TestOptions();
  options.host = "192.0.2.1";  // TEST-NET-1: not an address of this machine
  options.port = 18080;
  EXPECT_EQ(HttpServer::Start(options, Ok).error().code(), StatusCode::kInvalidArgument);
  options = TestOptions();
  options.header_read_timeout = 0ms;
  EXPECT_EQ(HttpServer::Start(options, Ok).error().code(), StatusCode::kInvalidArgument);
}

TEST_P(HttpServerLifecycleTest, StopDrainsInFlightRequestThenRefusesConnections) {
  std::latch entered(1);
  auto server = HttpServer::Start(TestOptions(), [&](const HttpRequest& request) {
    if (request.target == "/slow") {
      entered.count_down();
      std::this_thread::sleep_for(200ms);  // breaks the handler contract on purpose
    }
    return HttpResponse{.body = "done"};
  });
  ASSERT_TRUE(server.has_value());
  const uint16_t port = (*server)->port();
  TestClient client(port);
  ASSERT_TRUE(client.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  entered.wait();
  auto stopped = std::async(std::launch::async, [&] { (*server)->Stop(5s); });
  auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "done");
  EXPECT_EQ(response->Header("Connection"), "close");
  EXPECT_TRUE(client.WaitForClose());
  stopped.get();
  TestClient late(port);
  EXPECT_FALSE(late.connected());
  EXPECT_EQ(late.connect_errno(), ECONNREFUSED);
}

TEST_P(HttpServerLifecycleTest, StopClosesIdleKeepAliveConnectionsAtOnce) {
  auto server = HttpServer::Start(TestOptions(), Ok);
  ASSERT_TRUE(server.has_value());
  TestClient idle((*server)->port());
  ASSERT_TRUE(idle.Send(kGet));
  ASSERT_TRUE(idle.ReadResponse().has_value());
  TestClient silent((*server)->port());  // connected, never sent a byte
  ASSERT_TRUE(silent.connected());
  const auto start = std::chrono::steady_clock::now();
  (*server)->Stop(10s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_TRUE(idle.WaitForClose(1s));
  EXPECT_TRUE(silent.WaitForClose(1s));
}

TEST_P(HttpServerLifecycleTest, StopForceClosesAfterDrainTimeout) {
  HttpServerOptions options = TestOptions();
  options.threads = 1;  // connections are accepted and served in arrival order
  auto server = HttpServer::Start(options, Ok);
  ASSERT_TRUE(server.has_value());
  TestClient partial((*server)->port());
  ASSERT_TRUE(partial.Send("GET / HTTP/1.1\r\nHost: x\r\n"));  // in flight, never finished
  TestClient probe((*server)->port());  // the partial head has surely been read once this answers
  ASSERT_TRUE(probe.Send(kGet));
  ASSERT_TRUE(probe.ReadResponse().has_value());
  const auto start = std::chrono::steady_clock::now();
  (*server)->Stop(300ms);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
  EXPECT_TRUE(partial.WaitForClose(1s));
}

TEST_P(HttpServerLifecycleTest, StopIsIdempotentAndDestructorAfterStopIsFine) {
  auto server = HttpServer::Start(TestOptions(), Ok);
  ASSERT_TRUE(server.has_value());
  const uint16_t port = (*server)->port();
  (*server)->Stop(1s);
  (*server)->Stop(1s);
  EXPECT_EQ((*server)->port(), port);
  server->reset();
}

TEST_P(HttpServerLifecycleTest, DestructorStopsServer) {
  uint16_t port = 0;
  {
    auto server = HttpServer::Start(TestOptions(), Ok);
    ASSERT_TRUE(server.has_value());
    port = (*server)->port();
  }
  TestClient late(port);
  EXPECT_FALSE(late.connected());
}

}  // namespace
}  // namespace bulwark::net

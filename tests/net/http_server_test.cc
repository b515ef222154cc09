#include "net/http_server.h"

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sys/resource.h>

#include "http_test_client.h"
#include "net/server_worker.h"

namespace bulwark::net {
namespace {

using namespace std::chrono_literals;
using testing::RawResponse;
using testing::RoundTrip;
using testing::TestClient;

constexpr std::string_view kGet = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";

HttpServerOptions BaseOptions(bool io_uring) {
  HttpServerOptions options;
  options.threads = 2;
  options.io_uring = io_uring;
  return options;
}

// "<method> <target> <body>", so tests see what the handler saw.
HttpResponse Echo(const HttpRequest& request) {
  HttpResponse response;
  response.headers.emplace_back("Content-Type", "text/plain");
  response.body = request.method + " " + request.target + " " + request.body;
  return response;
}

std::unique_ptr<HttpServer> StartServerWith(HttpServerOptions options, HttpHandler handler) {
  auto server = HttpServer::Start(std::move(options), std::move(handler));
  EXPECT_TRUE(server.has_value()) << server.error().ToString();
  return server ? std::move(*server) : nullptr;
}

// Every test runs with the io threads' sends batched through io_uring and
// one system call at a time; the batched runs skip where this kernel
// refuses io_uring.
class HttpServerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam() && !testing::IoUringAvailable()) GTEST_SKIP() << "no io_uring here";
  }
  HttpServerOptions TestOptions() const { return BaseOptions(GetParam()); }
  std::unique_ptr<HttpServer> StartServer() { return StartServerWith(TestOptions(), Echo); }
  std::unique_ptr<HttpServer> StartServer(HttpServerOptions options, HttpHandler handler = Echo) {
    return StartServerWith(std::move(options), std::move(handler));
  }
};

INSTANTIATE_TEST_SUITE_P(IoUring, HttpServerTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Batched" : "OneByOne"; });

TEST_P(HttpServerTest, GetReturnsHandlerResponse) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  ASSERT_NE(server->port(), 0);
  auto response = RoundTrip(server->port(), kGet);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "GET /hello ");
  EXPECT_EQ(response->Header("Content-Type"), "text/plain");
  EXPECT_EQ(response->Header("Content-Length"), "11");
  EXPECT_TRUE(response->Header("Date").has_value());
}

TEST_P(HttpServerTest, HandlerSeesHeadersVersionAndRemoteAddress) {
  HttpRequest seen;
  std::mutex mu;
  auto server = StartServer(TestOptions(), [&](const HttpRequest& request) {
    std::lock_guard<std::mutex> lock(mu);
    seen = request;
    return HttpResponse{};
  });
  ASSERT_NE(server, nullptr);
  auto response = RoundTrip(server->port(),
                            "POST /p?q=1 HTTP/1.1\r\nHost: x\r\nX-Token:  a b \r\n"
                            "Content-Length: 3\r\n\r\nabc");
  ASSERT_TRUE(response.has_value());
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/p?q=1");
  EXPECT_EQ(seen.version_minor, 1);
  EXPECT_EQ(seen.body, "abc");
  EXPECT_EQ(seen.remote_address, "127.0.0.1");
  EXPECT_EQ(seen.Header("x-token"), "a b");
  EXPECT_EQ(seen.Header("HOST"), "x");
  EXPECT_FALSE(seen.Header("missing").has_value());
}

TEST_P(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = client.ReadResponse();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->body, "GET /one ");
  EXPECT_FALSE(first->Header("Connection").has_value());
  ASSERT_TRUE(client.Send("GET /two HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto second = client.ReadResponse();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->body, "GET /two ");
}

// With busy polling an io thread that has run out of work polls for more
// for its window before it sleeps: each gap between requests costs about
// the window in CPU time, against next to nothing without it; and once the
// window has passed the thread sleeps (an idle server spends no more).
TEST_P(HttpServerTest, BusyPollingPollsForItsWindowAfterWorkThenSleeps) {
  // The CPU time of the whole process; the test's own thread mostly sleeps.
  const auto cpu = [] {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto us = [](const timeval& t) {
      return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec);
    };
    return us(usage.ru_utime) + us(usage.ru_stime);
  };
  constexpr int kGaps = 20;
  constexpr auto kWindow = 2ms;
  const auto start = [this](std::chrono::microseconds busy_poll) {
    HttpServerOptions options = TestOptions();
    options.threads = 1;
    options.busy_poll = busy_poll;
    return StartServer(options);
  };
  // The CPU time `kGaps` requests to `server` take, each followed by a
  // 10 ms gap.
  const auto with_gaps = [&](const HttpServer& server) {
    TestClient client(server.port());
    const auto before = cpu();
    for (int i = 0; i < kGaps; ++i) {
      EXPECT_TRUE(client.Send(kGet));
      EXPECT_TRUE(client.ReadResponse().has_value());
      std::this_thread::sleep_for(10ms);
    }
    return std::chrono::duration_cast<std::chrono::microseconds>(cpu() - before);
  };
  auto sleeping_server = start(0us);
  ASSERT_NE(sleeping_server, nullptr);
  const auto sleeping = with_gaps(*sleeping_server);
  sleeping_server.reset();
  auto polling = start(kWindow);
  ASSERT_NE(polling, nullptr);
  const auto polled = with_gaps(*polling);
  // kGaps windows of 2 ms is 40 ms; a quarter of it leaves room for a
  // loaded machine that takes the core from the polling thread.
  EXPECT_GE(polled - sleeping, kGaps * kWindow / 4)
      << "polled " << polled.count() << " us, slept " << sleeping.count() << " us";
  const auto idle_from = cpu();
  std::this_thread::sleep_for(300ms);
  EXPECT_LT(cpu() - idle_from, 30ms) << "the thread polls on past its window";
}

// The server reads and writes a plain socket at once and waits only when a
// call would block: a head that arrives in pieces, with pauses, and a
// response larger than the socket's buffers to a client slow to read it
// both take the waiting path, and the connection serves on after them.
TEST_P(HttpServerTest, HeadInPiecesAndResponseBeyondSocketBuffersArriveWhole) {
  std::string big(8 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  auto server = StartServer(TestOptions(), [&big](const HttpRequest& request) {
    if (request.target == "/big") return HttpResponse{.status = 200, .body = big};
    return Echo(request);
  });
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  for (std::string_view piece : {"GET /pie", "ces HTTP/1.1\r\nHo", "st: x\r\n", "\r\n"}) {
    ASSERT_TRUE(client.Send(piece));
    std::this_thread::sleep_for(20ms);
  }
  auto pieces = client.ReadResponse();
  ASSERT_TRUE(pieces.has_value());
  EXPECT_EQ(pieces->body, "GET /pieces ");
  ASSERT_TRUE(client.Send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(200ms);  // the server's writes fill the buffers and wait
  auto response = client.ReadResponse(false, 20s);
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(response->body.size(), big.size());
  EXPECT_TRUE(response->body == big);
  ASSERT_TRUE(client.Send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto after = client.ReadResponse();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->body, "GET /after ");
}

TEST_P(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(
      "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"
      "POST /3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
      "GET /4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  for (std::string expected : {"GET /1 ", "POST /2 body", "POST /3 ok", "GET /4 "}) {
    auto response = client.ReadResponse();
    ASSERT_TRUE(response.has_value()) << expected;
    EXPECT_EQ(response->body, expected);
  }
  EXPECT_TRUE(client.WaitForClose());
}

TEST_P(HttpServerTest, ConnectionCloseIsHonoured) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->Header("Connection"), "close");
  EXPECT_TRUE(client.WaitForClose());
}

TEST_P(HttpServerTest, Http10KeepsAliveOnlyWhenAsked) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  {
    TestClient client(server->port());
    ASSERT_TRUE(client.Send("GET /a HTTP/1.0\r\n\r\n"));
    auto response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->Header("Connection"), "close");
    EXPECT_TRUE(client.WaitForClose());
  }
  TestClient client(server->port());
  ASSERT_TRUE(client.Send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto first = client.ReadResponse();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->Header("Connection"), "keep-alive");
  ASSERT_TRUE(client.Send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto second = client.ReadResponse();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->body, "GET /b ");
}

TEST_P(HttpServerTest, HeadGetsContentLengthButNoBody) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send("HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto response = client.ReadResponse(/*head_request=*/true);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->Header("Content-Length"), "8");  // "HEAD /x "
  // Nothing but the next response follows: no body bytes were written.
  ASSERT_TRUE(client.Send(kGet));
  auto next = client.ReadResponse();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->body, "GET /hello ");
}

TEST_P(HttpServerTest, ChunkedBodyReachesHandlerDecoded) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  auto response = RoundTrip(server->port(),
                            "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\n"
                            "X-Trailer: t\r\n\r\n");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "POST /c hello 0123456789");
}

TEST_P(HttpServerTest, ExpectContinueGetsInterimResponseBeforeBody) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(
      "PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"));
  auto interim = client.ReadResponse();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.Send("hi"));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "PUT /e hi");
}

TEST_P(HttpServerTest, HandlerExceptionGives500WithoutDetailAndServingGoesOn) {
  auto server = StartServer(TestOptions(), [](const HttpRequest& request) -> HttpResponse {
    if (request.target == "/boom") throw std::runtime_error("secret internal detail");
    return HttpResponse{.body = "fine"};
  });
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send("GET /boom HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto failed = client.ReadResponse();
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->status, 500);
  EXPECT_EQ(failed->body, "Internal Server Error\n");
  ASSERT_TRUE(client.Send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto next = client.ReadResponse();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->body, "fine");
  EXPECT_EQ(RoundTrip(server->port(), kGet)->body, "fine");
}

TEST_P(HttpServerTest, HandlerHeaderWithNewlineGives500InsteadOfInjection) {
  auto server = StartServer(TestOptions(), [](const HttpRequest&) {
    return HttpResponse{.headers = {{"Location", "/x\r\nSet-Cookie: evil=1"}}};
  });
  ASSERT_NE(server, nullptr);
  auto response = RoundTrip(server->port(), kGet);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 500);
  EXPECT_FALSE(response->Header("Set-Cookie").has_value());
}

TEST_P(HttpServerTest, ServerOwnsFramingHeaders) {
  auto server = StartServer(TestOptions(), [](const HttpRequest&) {
    return HttpResponse{.status = 201,
                        .headers = {{"Content-Length", "999"},
                                    {"Transfer-Encoding", "chunked"},
                                    {"Set-Cookie", "a=1"},
                                    {"Set-Cookie", "b=2"}},
                        .body = "made"};
  });
  ASSERT_NE(server, nullptr);
  auto response = RoundTrip(server->port(), kGet);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->Header("Content-Length"), "4");
  EXPECT_FALSE(response->Header("Transfer-Encoding").has_value());
  EXPECT_EQ(response->body, "made");
  int cookies = 0;
  for (const auto& [name, value] : response->headers) cookies += name == "Set-Cookie";
  EXPECT_EQ(cookies, 2);
}

// A status with no registered reason phrase (a service's own 299) goes
// with an empty one (RFC 9112 section 4: the space stays), never a
// placeholder the service did not send.
TEST_P(HttpServerTest, AStatusWithoutARegisteredReasonGoesWithAnEmptyOne) {
  auto server = StartServer(
      TestOptions(), [](const HttpRequest&) { return HttpResponse{.status = 299, .body = "odd"}; });
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string raw = client.ReadUntilClose();
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 299 \r\n")) << raw;
  EXPECT_TRUE(raw.ends_with("\r\n\r\nodd")) << raw;
}

TEST_P(HttpServerTest, NoContentResponseCarriesNeitherBodyNorLength) {
  auto server = StartServer(TestOptions(), [](const HttpRequest&) {
    return HttpResponse{.status = 204, .body = "dropped"};
  });
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(kGet));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 204);
  EXPECT_FALSE(response->Header("Content-Length").has_value());
  ASSERT_TRUE(client.Send(kGet));  // the next response starts right after the head
  auto next = client.ReadResponse();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->status, 204);
}

// At the limit a connection that waits for a request, with nothing of one
// arrived, is closed to make room (as nginx reuses idle keep-alive
// connections), so clients holding idle connections cannot keep new ones
// out; while every connection is busy, a new one is closed at once.
TEST_P(HttpServerTest, AtTheLimitAnIdleConnectionMakesRoomAndABusyOneDoesNot) {
  HttpServerOptions options = TestOptions();
  options.threads = 1;
  options.max_connections = 1;
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  TestClient first(server->port());
  ASSERT_TRUE(first.Send(kGet));
  ASSERT_TRUE(first.ReadResponse().has_value());
  TestClient second(server->port());  // `first` idles between requests
  ASSERT_TRUE(second.Send(kGet));
  EXPECT_TRUE(second.ReadResponse().has_value()) << "a new client is served at the limit";
  EXPECT_TRUE(first.WaitForClose(2s)) << "the idle connection made room";
  // `second` has begun its next request: it is not idle, and no room is made.
  ASSERT_TRUE(second.Send("GET / HTTP/1.1\r\n"));
  std::this_thread::sleep_for(100ms);
  TestClient third(server->port());
  EXPECT_TRUE(third.WaitForClose(2s));
  ASSERT_TRUE(second.Send("Host: example\r\n\r\n"));
  EXPECT_TRUE(second.ReadResponse().has_value()) << "the busy connection is served on";
}

// Connections are counted per IPv4 address and per IPv6 /64, so a client
// with a /64 cannot take a fresh share with each of its addresses; one
// address however written is one client.
TEST(ClientConnectionKeyTest, AnIpv6ClientIsItsSlash64) {
  const auto key = [](const char* text) {
    return internal::ClientConnectionKey(boost::asio::ip::make_address(text));
  };
  EXPECT_EQ(key("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(key("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(key("2001:db8:1:2:ffff:eeee:dddd:cccc"), "2001:db8:1:2::/64");
  EXPECT_NE(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
  EXPECT_EQ(key("::1"), "::/64");
}

TEST_P(HttpServerTest, OneClientCannotHoldMoreThanItsShareOfConnections) {
  HttpServerOptions options = TestOptions();
  options.max_connections_per_client = 2;
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  auto first = std::make_unique<TestClient>(server->port());
  TestClient second(server->port());
  for (TestClient* c : {first.get(), &second}) {
    ASSERT_TRUE(c->Send(kGet));
    ASSERT_TRUE(c->ReadResponse().has_value());
  }
  TestClient third(server->port());
  EXPECT_TRUE(third.WaitForClose(2s)) << "a third idle connection from the same address";
  ASSERT_TRUE(second.Send(kGet));
  EXPECT_TRUE(second.ReadResponse().has_value()) << "the first two keep being served";
  first.reset();  // gives its slot back
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    TestClient next(server->port());
    served = next.Send(kGet) && next.ReadResponse(false, 200ms).has_value();
  }
  EXPECT_TRUE(served);
}

TEST_P(HttpServerTest, HeaderReadTimeoutCutsSlowlorisTricklingBytes) {
  HttpServerOptions options = TestOptions();
  options.header_read_timeout = 200ms;
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\n"));
  // A byte every 50 ms would never trip a per-read timeout of 200 ms.
  bool closed = false;
  for (int i = 0; i < 60 && !closed; ++i) {
    if (!client.Send("X")) break;
    closed = client.WaitForClose(50ms);
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(closed || !client.Send("X"));
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 2s);
}

TEST_P(HttpServerTest, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  HttpServerOptions options = TestOptions();
  options.idle_timeout = 100ms;
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(kGet));
  ASSERT_TRUE(client.ReadResponse().has_value());
  EXPECT_TRUE(client.WaitForClose(3s));
}

TEST_P(HttpServerTest, ServesManyConcurrentClients) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      TestClient client(server->port());
      for (int i = 0; i < 20; ++i) {
        const std::string target = "/" + std::to_string(t) + "/" + std::to_string(i);
        if (!client.Send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n")) return;
        auto response = client.ReadResponse();
        if (response && response->body == "GET " + target + " ") ++ok;
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(ok.load(), 8 * 20);
}

}  // namespace
}  // namespace bulwark::net

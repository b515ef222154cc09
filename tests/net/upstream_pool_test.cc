#include "net/upstream_pool.h"

#include "http_test_client.h"
#include "net/async_http_server.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

namespace bulwark::net {
namespace {

namespace asio = boost::asio;

// A service on a real socket that answers each request with 200 "ok" and
// keeps the connection open, or closes it after `answers_per_connection`
// answers without saying so (as a service whose keep-alive timer fired).
// Given `last_answer`, it sends those bytes as a connection's last answer.
// A connection the client closes ends too (AwaitClose tells the first).
class Service {
 public:
  explicit Service(int answers_per_connection, std::string last_answer = "")
      : answers_per_connection_(answers_per_connection), last_answer_(std::move(last_answer)) {}

  uint16_t port() const { return loop_.port(); }
  int connections() const { return loop_.connections(); }
  // Waits until the service has closed a connection it was told to close.
  void AwaitClose() { closed_.get_future().wait(); }
  // The same, for at most `d`: whether it did. (Either, once.)
  bool AwaitCloseFor(std::chrono::milliseconds d) {
    return closed_.get_future().wait_for(d) == std::future_status::ready;
  }

 private:
  void Serve(int fd) {
    for (int answered = 0; answered < answers_per_connection_; ++answered) {
      const std::optional<testing::ReceivedRequest> request = testing::ReadRequestSlowly(
          [fd](char* data, size_t size) { return ::read(fd, data, size); });
      if (!request) break;
      const std::string answer =
          request->body.empty() ? "ok" : std::to_string(std::hash<std::string>{}(request->body));
      const bool last = answered + 1 == answers_per_connection_ && !last_answer_.empty();
      const std::string response =
          last ? last_answer_
               : "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(answer.size()) +
                     "\r\n\r\n" + answer;
      if (::write(fd, response.data(), response.size()) != static_cast<ssize_t>(response.size())) {
        break;
      }
    }
    ::close(fd);
    if (!close_told_.exchange(true)) closed_.set_value();
  }

  const int answers_per_connection_;
  const std::string last_answer_;
  std::atomic<bool> close_told_{false};
  std::promise<void> closed_;
  testing::LoopbackService loop_{[this](int fd) { Serve(fd); }};
};

// A service that answers a connection's first request, then reads the
// second and hangs up without an answer.
class HangsUpOnTheSecondRequest {
 public:
  uint16_t port() const { return loop_.port(); }
  int connections() const { return loop_.connections(); }
  int requests() const { return requests_.load(); }

 private:
  std::atomic<int> requests_{0};
  testing::LoopbackService loop_{[this](int fd) {
    while (testing::ReadHead(fd)) {
      if (requests_.fetch_add(1) != 0) break;
      testing::SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
    ::close(fd);
  }};
};

class UpstreamPoolTest : public ::testing::Test {
 protected:
  // `own`: the request's own response timeout (zero: the pool's).
  // `may_resend` as UpstreamPool::Send takes it.
  Result<HttpResponse> Send(UpstreamPool& pool, std::string method, bool may_resend,
                            std::string body = "",
                            std::chrono::milliseconds own = std::chrono::milliseconds(0)) {
    HttpRequest request;
    request.method = std::move(method);
    request.target = "/a";
    request.headers = {{"Host", "service"}};
    request.body = std::move(body);
    request.response_timeout = own;
    std::optional<Result<HttpResponse>> out;
    asio::co_spawn(
        ioc_,
        [&]() -> asio::awaitable<void> { out.emplace(co_await pool.Send(request, may_resend)); },
        asio::detached);
    ioc_.restart();
    ioc_.run();
    return std::move(*out);
  }

  UpstreamPool Pool(const Service& service) { return Pool(service.port()); }
  // A pool of the service on loopback `port`, whose answers may take
  // `response_timeout` (UpstreamOptions' default unless given).
  UpstreamPool Pool(uint16_t port, std::chrono::milliseconds response_timeout =
                                       UpstreamOptions{}.response_timeout) {
    UpstreamOptions options;
    options.port = port;
    options.response_timeout = response_timeout;
    return UpstreamPool(ioc_.get_executor(), options,
                        {asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port)});
  }

  asio::io_context ioc_;
};

TEST(EndpointsOfNameTest, MakesAnEndpointOfEachAddressOfTheFirstFamily) {
  using asio::ip::make_address;
  using asio::ip::tcp;
  const auto at = [](const char* address) { return tcp::endpoint(make_address(address), 8080); };
  using Endpoints = std::vector<std::vector<tcp::endpoint>>;
  EXPECT_EQ(EndpointsOfName({at("10.0.0.5")}), (Endpoints{{at("10.0.0.5")}}));
  EXPECT_EQ(EndpointsOfName({at("::1"), at("127.0.0.1")}),
            (Endpoints{{at("::1"), at("127.0.0.1")}}))
      << "localhost: one endpoint, the second family its fallback";
  EXPECT_EQ(EndpointsOfName({at("10.0.0.5"), at("10.0.0.6"), at("10.0.0.5"), at("10.0.0.7")}),
            (Endpoints{{at("10.0.0.5")}, {at("10.0.0.6")}, {at("10.0.0.7")}}))
      << "each address once";
  EXPECT_EQ(EndpointsOfName({at("fd00::5"), at("10.0.0.5"), at("fd00::6"), at("10.0.0.6")}),
            (Endpoints{{at("fd00::5"), at("10.0.0.5"), at("10.0.0.6")},
                       {at("fd00::6"), at("10.0.0.5"), at("10.0.0.6")}}));
}

TEST_F(UpstreamPoolTest, KeepsAConnectionForTheNextRequest) {
  Service service(/*answers_per_connection=*/100);
  UpstreamPool pool = Pool(service);
  for (int i = 0; i < 3; ++i) {
    Result<HttpResponse> response = Send(pool, "GET", /*may_resend=*/true);
    ASSERT_TRUE(response.has_value()) << response.error().ToString();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "ok");
  }
  EXPECT_EQ(service.connections(), 1);
  EXPECT_EQ(pool.idle_connections(), 1u);
}

// A body larger than the socket buffers: the pool's writes wait for the
// service to read, and all of the body arrives.
TEST_F(UpstreamPoolTest, SendsABodyBeyondTheSocketBuffers) {
  Service service(/*answers_per_connection=*/100);
  UpstreamPool pool = Pool(service);
  std::string body(8 << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i)
    body[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  const std::string expected = std::to_string(std::hash<std::string>{}(body));
  for (int round = 0; round < 2; ++round) {
    Result<HttpResponse> response = Send(pool, "POST", /*may_resend=*/false, body);
    ASSERT_TRUE(response.has_value()) << response.error().ToString();
    EXPECT_EQ(response->body, expected) << round;
  }
  EXPECT_EQ(service.connections(), 1);
}

// A server of one io thread whose handler sends each request on to the
// service at `port` through one UpstreamPool made on that thread, and
// answers with what `answer` makes of the service's answer; GET /drop drops
// the pool (before the server's io_context goes).
Result<std::unique_ptr<HttpServer>> StartPoolingServer(
    const HttpServerOptions& options, uint16_t port, std::unique_ptr<UpstreamPool>& pool,
    std::function<HttpResponse(HttpRequest&, const HttpResponse&)> answer) {
  const auto endpoints = std::vector<asio::ip::tcp::endpoint>{
      asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port)};
  return StartAsyncHttpServer(
      options,
      [&pool, endpoints, port,
       answer = std::move(answer)](HttpRequest& request) -> asio::awaitable<HttpResponse> {
        if (request.target == "/drop") {
          pool.reset();
          co_return HttpResponse{.status = 204};
        }
        if (!pool) {
          UpstreamOptions upstream;
          upstream.port = port;
          pool = std::make_unique<UpstreamPool>(co_await asio::this_coro::executor, upstream,
                                                endpoints);
        }
        HttpRequest forward{.method = request.method,
                            .target = request.target,
                            .headers = {{"Host", "service"}},
                            .body = std::move(request.body)};
        Result<HttpResponse> sent = co_await pool->Send(forward, forward.method == "GET");
        if (!sent) co_return HttpResponse{.status = 502, .body = sent.error().ToString()};
        co_return answer(request, *sent);
      });
}

// A server of one io thread that relays each request to the service on
// `port` through `pool` (made on that thread) and answers with its body.
auto StartRelayingServer(uint16_t port, std::unique_ptr<UpstreamPool>& pool) {
  HttpServerOptions options;
  options.threads = 1;
  return StartPoolingServer(options, port, pool, [](HttpRequest&, const HttpResponse& sent) {
    return HttpResponse{.status = 200, .body = sent.body};
  });
}

// On a server's io thread the pool reads and writes the bare socket at once
// (net/immediate_io.h): a large body both ways through a proxy of the test's
// making, twice on one pooled connection.
TEST_F(UpstreamPoolTest, OnAServerThreadSendsAndReceivesBeyondTheSocketBuffers) {
  Service service(/*answers_per_connection=*/100);
  std::string body(8 << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + (i * 3 + i / 97) % 26);
  const std::string expected = std::to_string(std::hash<std::string>{}(body));
  HttpServerOptions options;
  options.threads = 1;
  options.max_body_bytes = 16 << 20;
  std::unique_ptr<UpstreamPool> pool;  // made and used on the server's one thread
  auto server = StartPoolingServer(
      options, service.port(), pool, [&](HttpRequest&, const HttpResponse& sent) {
        // The service's answer, and a large body back.
        return HttpResponse{.status = 200, .body = sent.body + "\n" + body};
      });
  ASSERT_TRUE(server.has_value()) << server.error().ToString();
  testing::TestClient client((*server)->port());
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(client.Send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body));
    auto response = client.ReadResponse(false, std::chrono::seconds(20));
    ASSERT_TRUE(response.has_value()) << round;
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(response->body == expected + "\n" + body) << round;
  }
  EXPECT_EQ(service.connections(), 1);
  ASSERT_TRUE(client.Send("GET /drop HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(client.ReadResponse().has_value());
  EXPECT_EQ(pool, nullptr);
}

// On a server's io thread its sweep closes pooled connections with no
// further request to their pool, and no client connected: one idle past
// its idle_timeout, and one the service closed (which would otherwise wait
// in CLOSE_WAIT until the pool's next request).
TEST_F(UpstreamPoolTest, OnAServerThreadIdleConnectionsCloseWithoutAnotherRequest) {
  Service keeps(/*answers_per_connection=*/100);
  Service hangs_up(/*answers_per_connection=*/1);
  HttpServerOptions options;
  options.threads = 1;
  std::unique_ptr<UpstreamPool> timed;   // to `keeps`, idle 300 ms at most
  std::unique_ptr<UpstreamPool> closed;  // to `hangs_up`, idle an hour at most
  const auto make = [](asio::any_io_executor executor, uint16_t port,
                       std::chrono::milliseconds idle) {
    UpstreamOptions upstream;
    upstream.port = port;
    upstream.idle_timeout = idle;
    return std::make_unique<UpstreamPool>(
        executor, upstream,
        std::vector<asio::ip::tcp::endpoint>{
            asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port)});
  };
  auto server =
      StartAsyncHttpServer(options, [&](HttpRequest& request) -> asio::awaitable<HttpResponse> {
        if (request.target == "/drop") {  // before the server's io_context goes
          timed.reset();
          closed.reset();
          co_return HttpResponse{.status = 204};
        }
        if (request.target == "/idle") {
          co_return HttpResponse{.status = 200,
                                 .body = std::to_string(timed->idle_connections()) + " " +
                                         std::to_string(closed->idle_connections())};
        }
        const auto executor = co_await asio::this_coro::executor;
        timed = make(executor, keeps.port(), std::chrono::milliseconds(300));
        closed = make(executor, hangs_up.port(), std::chrono::hours(1));
        HttpRequest forward;
        forward.method = "GET";
        forward.target = "/a";
        forward.headers = {{"Host", "service"}};
        Result<HttpResponse> a = co_await timed->Send(forward, true);
        Result<HttpResponse> b = co_await closed->Send(forward, true);
        co_return HttpResponse{.status = a && b ? 200 : 502};
      });
  ASSERT_TRUE(server.has_value()) << server.error().ToString();
  {
    testing::TestClient client((*server)->port());
    ASSERT_TRUE(client.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    ASSERT_EQ(response->status, 200);
    hangs_up.AwaitClose();
    ASSERT_TRUE(client.Send("GET /idle HTTP/1.1\r\nHost: x\r\n\r\n"));
    response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->body.substr(0, 1), "1") << "pooled";
  }  // the client leaves: no connection is left for the sweep to watch
  EXPECT_TRUE(keeps.AwaitCloseFor(std::chrono::milliseconds(2500)))
      << "the connection idle past its timeout is closed with no client connected";
  testing::TestClient client((*server)->port());
  ASSERT_TRUE(client.Send("GET /idle HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "0 0") << "timed out, and closed by the service";
  ASSERT_TRUE(client.Send("GET /drop HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(client.ReadResponse().has_value());
}

// The pooled connection was closed by the service after its first answer:
// an idempotent request that got nothing back on it is sent again on a new
// connection.
TEST_F(UpstreamPoolTest, RetriesAnIdempotentRequestOnceOnANewConnection) {
  Service service(/*answers_per_connection=*/1);
  UpstreamPool pool = Pool(service);
  ASSERT_TRUE(Send(pool, "GET", true).has_value());
  service.AwaitClose();
  Result<HttpResponse> response = Send(pool, "GET", /*may_resend=*/true);
  ASSERT_TRUE(response.has_value()) << response.error().ToString();
  EXPECT_EQ(response->body, "ok");
  EXPECT_EQ(service.connections(), 2);
}

// A request on a pooled connection that gets no answer in time is not sent
// again on a new one, idempotent or not: the service is slow, not gone, and
// may be running it. Its own timeout, shorter than the pool's, holds.
TEST_F(UpstreamPoolTest, DoesNotRetryARequestThatTimedOut) {
  std::atomic<int> requests{0};
  testing::LoopbackService service([&requests](int fd) {
    while (testing::ReadHead(fd)) {
      if (requests.fetch_add(1) == 0) {
        testing::SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      }  // later ones: no answer, until the pool closes the connection
    }
    ::close(fd);
  });
  UpstreamPool pool = Pool(service.port(), std::chrono::seconds(10));
  ASSERT_TRUE(Send(pool, "GET", true).has_value());
  const auto start = std::chrono::steady_clock::now();
  Result<HttpResponse> out = Send(pool, "GET", true, "", std::chrono::milliseconds(200));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code(), StatusCode::kDeadlineExceeded) << out.error().ToString();
  EXPECT_TRUE(IsTimeoutBeforeAnswer(out.error())) << out.error().ToString();
  EXPECT_FALSE(IsLostBeforeAnswer(out.error())) << out.error().ToString();
  EXPECT_LT(took, std::chrono::seconds(5)) << "the request's own timeout, not the pool's";
  EXPECT_EQ(service.connections(), 1);
  EXPECT_EQ(requests.load(), 2);
}

// A request's own timeout holds when longer than the pool's too (a route
// that waits longer than its upstream).
TEST_F(UpstreamPoolTest, ARequestsOwnLongerTimeoutHolds) {
  testing::LoopbackService service([](int fd) {
    while (testing::ReadHead(fd)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(600));
      testing::SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
    ::close(fd);
  });
  UpstreamPool pool = Pool(service.port(), std::chrono::milliseconds(200));
  Result<HttpResponse> waited = Send(pool, "GET", true, "", std::chrono::seconds(5));
  ASSERT_TRUE(waited.has_value()) << waited.error().ToString();
  EXPECT_EQ(waited->status, 200);
  // Without its own, the pool's 200 ms cuts the same wait.
  Result<HttpResponse> cut = Send(pool, "GET", true);
  ASSERT_FALSE(cut.has_value());
  EXPECT_EQ(cut.error().code(), StatusCode::kDeadlineExceeded) << cut.error().ToString();
}

// A timeout after the answer's head began is not one before the answer:
// the service took the request and is answering it.
TEST_F(UpstreamPoolTest, TellsATimeoutBeforeTheAnswerFromOneWithin) {
  testing::LoopbackService service([](int fd) {
    if (testing::ReadHead(fd)) {
      testing::SendAll(fd, "HTTP/1.1 200 OK\r\nX-Begun: 1\r\n");  // and no more
      char byte;
      while (::read(fd, &byte, 1) > 0) {
      }
    }
    ::close(fd);
  });
  UpstreamPool pool = Pool(service.port(), std::chrono::milliseconds(200));
  Result<HttpResponse> response = Send(pool, "GET", /*may_resend=*/true);
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code(), StatusCode::kDeadlineExceeded) << response.error().ToString();
  EXPECT_FALSE(IsTimeoutBeforeAnswer(response.error())) << response.error().ToString();
}

// The same for a request that must not be repeated: the service may have
// acted on it, so it fails rather than being sent twice.
TEST_F(UpstreamPoolTest, DoesNotRetryARequestThatIsNotIdempotent) {
  HangsUpOnTheSecondRequest service;
  UpstreamPool pool = Pool(service.port());
  ASSERT_TRUE(Send(pool, "GET", true).has_value());
  Result<HttpResponse> response = Send(pool, "POST", /*may_resend=*/false);
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code(), StatusCode::kUnavailable) << response.error().ToString();
  EXPECT_EQ(service.connections(), 1);
  EXPECT_EQ(service.requests(), 2);
  EXPECT_EQ(pool.idle_connections(), 0u);
}

// A caller with a retry policy of its own (the reverse proxy with a `retry`
// block) asks for no resend: the idempotent request lost on a kept-alive
// connection fails as lost before its answer, for the policy to retry.
TEST_F(UpstreamPoolTest, ResendsNothingWhenTheCallerRetriesItself) {
  HangsUpOnTheSecondRequest service;
  UpstreamPool pool = Pool(service.port());
  ASSERT_TRUE(Send(pool, "GET", true).has_value());
  Result<HttpResponse> response = Send(pool, "GET", /*may_resend=*/false);
  ASSERT_FALSE(response.has_value());
  EXPECT_TRUE(IsLostBeforeAnswer(response.error())) << response.error().ToString();
  EXPECT_EQ(service.connections(), 1);
  EXPECT_EQ(service.requests(), 2);
}

// A pooled connection the service has closed (its keep-alive timer fired,
// as Node's does after five seconds) is not used: a request that must not
// be repeated would fail on it, having reached no one, so it goes on a new
// connection.
TEST_F(UpstreamPoolTest, AConnectionTheServiceClosedIsNotUsedAgain) {
  Service service(/*answers_per_connection=*/1);
  UpstreamPool pool = Pool(service);
  ASSERT_TRUE(Send(pool, "GET", true).has_value());
  service.AwaitClose();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // its FIN is in
  Result<HttpResponse> response = Send(pool, "POST", /*may_resend=*/false, "x");
  ASSERT_TRUE(response.has_value()) << response.error().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(service.connections(), 2);
}

// A connection refused is a failure to connect (nothing went to the
// service, so the gateway may send the request elsewhere); a request the
// service took and then hung up on is not.
TEST_F(UpstreamPoolTest, TellsAFailureToConnectFromOneAfterSending) {
  UpstreamPool refused = Pool(1);  // nothing listens there
  Result<HttpResponse> response = Send(refused, "POST", /*may_resend=*/false);
  ASSERT_FALSE(response.has_value());
  EXPECT_TRUE(IsConnectFailure(response.error())) << response.error().ToString();
  EXPECT_TRUE(IsLostBeforeAnswer(response.error())) << response.error().ToString();

  HangsUpOnTheSecondRequest service;
  UpstreamPool pool = Pool(service.port());
  ASSERT_TRUE(Send(pool, "GET", true).has_value());
  response = Send(pool, "POST", /*may_resend=*/false);
  ASSERT_FALSE(response.has_value());
  EXPECT_FALSE(IsConnectFailure(response.error())) << response.error().ToString();
  EXPECT_TRUE(IsLostBeforeAnswer(response.error()))
      << "no byte of an answer came: " << response.error().ToString();
}

// A service that answers a large upload on its head (413) and hangs up:
// the write fails, and the answer waiting is the client's, not a failure
// that would send the request elsewhere.
TEST_F(UpstreamPoolTest, GivesTheAnswerOfAServiceThatRefusedTheBodyEarly) {
  testing::LoopbackService service([](int fd) {
    if (testing::ReadHead(fd)) {
      testing::SendAll(fd,
                       "HTTP/1.1 413 Content Too Large\r\nContent-Length: 4\r\n"
                       "Connection: close\r\n\r\nbig\n");
    }
    ::close(fd);  // the body unread: the service's side resets
  });
  UpstreamPool pool = Pool(service.port());
  Result<HttpResponse> response =
      Send(pool, "PUT", /*may_resend=*/true, testing::Pattern(32 << 20));
  ASSERT_TRUE(response.has_value()) << response.error().ToString();
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(response->body, "big\n");
}

// A service that writes a second answer some time after a whole first one
// (a body read to its length, nothing left in the socket then) must not have
// it taken for the answer to the next request: on a server's io thread,
// where the pool reads the bare socket and checks no connection it has no
// reason to, one that idled past a tick of the clock is looked at before
// reuse, and retired.
TEST_F(UpstreamPoolTest, OnAServerThreadBytesWrittenAfterAWholeAnswerRetireTheConnection) {
  std::promise<void> stray_sent;
  std::atomic<bool> strayed{false};
  testing::LoopbackService service([&](int fd) {
    while (testing::ReadHead(fd)) {
      testing::SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      if (strayed.exchange(true)) continue;  // the first answer only
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      testing::SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled");
      stray_sent.set_value();
    }
    ::close(fd);
  });
  std::unique_ptr<UpstreamPool> pool;  // made and used on the server's one thread
  auto server = StartRelayingServer(service.port(), pool);
  ASSERT_TRUE(server.has_value()) << server.error().ToString();
  testing::TestClient client((*server)->port());
  ASSERT_TRUE(client.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = client.ReadResponse();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->body, "ok");
  stray_sent.get_future().wait();
  // Past a tick of CLOCK_MONOTONIC_COARSE (10 ms at most), well within the
  // worker's sweep of idle connections (a second), which would find the
  // bytes too.
  std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ASSERT_TRUE(client.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto second = client.ReadResponse();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->body, "ok");
  EXPECT_EQ(service.connections(), 2);
  ASSERT_TRUE(client.Send("GET /drop HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(client.ReadResponse().has_value());
}

// The same, however soon the next request comes: the service writes its
// stray answer a millisecond after the first, and the next request follows
// at once, within the clock's tick. The io thread's loop has seen the
// socket turn readable in between, so the pool looks before reuse.
TEST_F(UpstreamPoolTest, OnAServerThreadBytesWrittenJustAfterAnAnswerRetireTheConnectionAtOnce) {
  std::atomic<int> strays{0};
  testing::LoopbackService service([&](int fd) {
    bool first = true;
    while (testing::ReadHead(fd)) {
      testing::SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      if (!first) continue;
      first = false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      testing::SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled");
      strays.fetch_add(1);
    }
    ::close(fd);
  });
  std::unique_ptr<UpstreamPool> pool;  // made and used on the server's one thread
  auto server = StartRelayingServer(service.port(), pool);
  ASSERT_TRUE(server.has_value()) << server.error().ToString();
  testing::TestClient client((*server)->port());
  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    ASSERT_TRUE(client.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto answer = client.ReadResponse();
    ASSERT_TRUE(answer.has_value()) << round;
    EXPECT_EQ(answer->body, "ok") << round;
    // Each answer came on a new connection, which strays once.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (strays.load() <= round && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    ASSERT_GT(strays.load(), round);
  }
  EXPECT_EQ(service.connections(), kRounds);
  ASSERT_TRUE(client.Send("GET /drop HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(client.ReadResponse().has_value());
}

// Once part of a response has come on a pooled connection, the service has
// taken the request: a failure then is not retried, even for an idempotent
// request. First a head that never ends within the limit, then an interim
// 100 Continue after which the service hangs up.
TEST_F(UpstreamPoolTest, DoesNotRetryOnceAResponseHasBegun) {
  {
    Service service(/*answers_per_connection=*/2,
                    "HTTP/1.1 200 OK\r\nX-Long: " + std::string(70 * 1024, 'a') + "\r\n");
    UpstreamPool pool = Pool(service);
    ASSERT_TRUE(Send(pool, "GET", true).has_value());
    Result<HttpResponse> response = Send(pool, "GET", /*may_resend=*/true);
    ASSERT_FALSE(response.has_value());
    EXPECT_EQ(response.error().code(), StatusCode::kResourceExhausted)
        << response.error().ToString();
    EXPECT_EQ(service.connections(), 1);
  }
  {
    Service service(/*answers_per_connection=*/2, "HTTP/1.1 100 Continue\r\n\r\n");
    UpstreamPool pool = Pool(service);
    ASSERT_TRUE(Send(pool, "GET", true).has_value());
    Result<HttpResponse> response = Send(pool, "GET", /*may_resend=*/true);
    ASSERT_FALSE(response.has_value());
    EXPECT_EQ(response.error().code(), StatusCode::kUnavailable) << response.error().ToString();
    EXPECT_FALSE(IsLostBeforeAnswer(response.error()))
        << "an answer had begun: " << response.error().ToString();
    EXPECT_EQ(service.connections(), 1);
  }
}

}  // namespace
}  // namespace bulwark::net

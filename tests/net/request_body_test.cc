// Request bodies that stream: from a client through the server to a
// coroutine handler (HttpRequest::streamed_body: by Content-Length,
// chunked, 100 Continue only when read, too large, misframed, too slow, not
// read at all), and from a handler through UpstreamPool to a service (by
// length, in chunks, gathered when short, cut by the client, never on a
// connection the service closed).
#include "http_test_client.h"
#include "net/async_http_server.h"
#include "net/streamed_body.h"
#include "net/upstream_pool.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace bulwark::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::TestClient;

using testing::Chunk;
using testing::Pattern;

// What a handler read of a request's body.
struct Read {
  bool streamed = false;
  std::optional<uint64_t> length;
  std::string body;
  std::optional<Status> error;
};

asio::awaitable<Read> ReadAll(HttpRequest& request) {
  Read read;
  read.streamed = request.streamed_body != nullptr;
  if (!read.streamed) {
    read.body = request.body;
    co_return read;
  }
  read.length = request.streamed_body->length();
  for (;;) {
    Result<std::string_view> piece = co_await request.streamed_body->Next();
    if (!piece) {
      read.error = piece.error();
      co_return read;
    }
    if (piece->empty()) co_return read;
    read.body.append(*piece);
  }
}

class StreamedToHandlerTest : public ::testing::Test {
 protected:
  // A server that holds bodies up to 16 bytes and streams larger ones up to
  // max_body_bytes, answering with `handler`.
  void Start(AsyncHttpHandler handler, size_t max_body_bytes = 1 << 20,
             std::chrono::milliseconds body_read_timeout = 5s, uint64_t min_rate = 0) {
    HttpServerOptions options;
    options.threads = 1;
    options.max_held_body_bytes = 16;
    options.max_body_bytes = max_body_bytes;
    options.body_read_timeout = body_read_timeout;
    options.min_body_bytes_per_second = min_rate;
    options.min_body_rate_grace = 300ms;
    auto server = StartAsyncHttpServer(std::move(options), std::move(handler));
    ASSERT_TRUE(server.has_value()) << server.error().ToString();
    server_ = std::move(*server);
  }
  // A handler that reads the whole body and answers with what it saw:
  // "<held|streamed> <length or -> <body size> <pieces>", or the status for
  // the body's error.
  void StartReading(size_t max_body_bytes = 1 << 20,
                    std::chrono::milliseconds body_read_timeout = 5s, uint64_t min_rate = 0) {
    Start(
        [this](HttpRequest& request) -> asio::awaitable<HttpResponse> {
          Read read = co_await ReadAll(request);
          if (read.error) co_return HttpResponse{.status = StatusForBodyError(*read.error)};
          {
            const std::lock_guard lock(mutex_);
            bodies_.push_back(read.body);
          }
          co_return HttpResponse{.body = std::string(read.streamed ? "streamed " : "held ") +
                                         (read.length ? std::to_string(*read.length) : "-") + " " +
                                         std::to_string(read.body.size())};
        },
        max_body_bytes, body_read_timeout, min_rate);
  }
  uint16_t port() const { return server_->port(); }

  // The bodies the handler read, in order.
  std::vector<std::string> bodies() {
    const std::lock_guard lock(mutex_);
    return bodies_;
  }

  std::mutex mutex_;
  std::vector<std::string> bodies_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(StreamedToHandlerTest, ABodyOverTheHeldSizeComesUnreadAndReadsWhole) {
  StartReading();
  const std::string big = Pattern(300000);
  TestClient client(port());
  ASSERT_TRUE(client.Send("POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                          std::to_string(big.size()) + "\r\n\r\n" + big));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "streamed 300000 300000");
  ASSERT_EQ(bodies().size(), 1u);
  EXPECT_TRUE(bodies()[0] == big);
  // Read to its end: the connection serves the next request.
  ASSERT_TRUE(client.Send("POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nsmall"));
  response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "held - 5");
}

TEST_F(StreamedToHandlerTest, AChunkedBodyStreamsDecodedAndTheNextRequestFollows) {
  StartReading();
  TestClient client(port());
  // The body, its trailer and a pipelined request in one send.
  ASSERT_TRUE(client.Send("PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                          Chunk("hello ") + "5;ext=1\r\nchunk\r\n" + Chunk(Pattern(70000)) +
                          "0\r\nX-Trailer: t\r\n\r\n" +
                          "POST /n HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "streamed - 70011");
  response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "held - 2");
  const std::vector<std::string> read = bodies();
  ASSERT_EQ(read.size(), 2u);
  EXPECT_TRUE(read[0] == "hello chunk" + Pattern(70000));
}

TEST_F(StreamedToHandlerTest, ContinueGoesOutOnlyWhenTheHandlerReads) {
  // A handler that takes 300 ms over the head before it reads the body.
  Start([](HttpRequest& request) -> asio::awaitable<HttpResponse> {
    asio::steady_timer pause(co_await asio::this_coro::executor);
    pause.expires_after(300ms);
    co_await pause.async_wait(asio::use_awaitable);
    Read read = co_await ReadAll(request);
    co_return HttpResponse{.body = std::string(read.streamed ? "streamed " : "held ") +
                                   std::to_string(*read.length) + " " +
                                   std::to_string(read.body.size())};
  });
  TestClient client(port());
  ASSERT_TRUE(client.Send(
      "PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 40\r\n\r\n"));
  EXPECT_FALSE(client.ReadResponse(false, 150ms).has_value()) << "100 Continue before the read";
  auto interim = client.ReadResponse();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.Send(Pattern(40)));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "streamed 40 40");
}

// A handler that refuses on the head never has the body sent: the client
// that waits for 100 Continue gets the refusal instead, and the connection
// closes after it (the body was not read).
TEST_F(StreamedToHandlerTest, ARefusalOnTheHeadIsAnsweredWithoutAContinue) {
  Start([](HttpRequest&) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse{.status = 401, .body = "no"};
  });
  TestClient client(port());
  ASSERT_TRUE(client.Send(
      "PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n"));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 401);
  EXPECT_EQ(response->Header("Connection"), "close");
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(StreamedToHandlerTest, AChunkedBodyPastTheLimitFailsItsRead) {
  StartReading(/*max_body_bytes=*/1000);
  TestClient client(port());
  ASSERT_TRUE(client.Send("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                          Chunk(Pattern(600)) + Chunk(Pattern(600)) + "0\r\n\r\n"));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413);
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(StreamedToHandlerTest, BadChunkFramingFailsTheRead) {
  StartReading();
  TestClient client(port());
  ASSERT_TRUE(client.Send("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                          Chunk(Pattern(20)) + "zz\r\nnot hex\r\n0\r\n\r\n"));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 400);
  EXPECT_TRUE(client.WaitForClose());
}

// A last chunk ended by a bare LF fails the handler's read at once, not at
// body_read_timeout (30 s here).
TEST_F(StreamedToHandlerTest, ALastChunkEndedByABareLineFeedFailsTheReadAtOnce) {
  StartReading();
  TestClient client(port());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client.Send("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                          Chunk(Pattern(20)) + "0\n\n"));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 400);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_TRUE(client.WaitForClose());
}

// Each piece is owed within body_read_timeout: a client that stops sending
// midway fails the read, and its connection is closed after the answer.
TEST_F(StreamedToHandlerTest, ABodyThatStopsComingTimesOut) {
  StartReading(1 << 20, /*body_read_timeout=*/300ms);
  TestClient client(port());
  ASSERT_TRUE(
      client.Send("POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + Pattern(50)));
  auto response = client.ReadResponse(false, 5s);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 408);
  EXPECT_TRUE(client.WaitForClose());
}

// A client that keeps sending, but too slowly (a byte each 100 ms, under
// the least rate of 100 bytes a second once its grace is over), is cut off
// well before its body would be whole, though no piece is late by
// body_read_timeout.
TEST_F(StreamedToHandlerTest, AnUploadTrickledBelowTheLeastRateIsCut) {
  StartReading(1 << 20, /*body_read_timeout=*/5s, /*min_rate=*/100);
  TestClient client(port());
  ASSERT_TRUE(client.Send("POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"));
  const auto start = std::chrono::steady_clock::now();
  std::optional<testing::RawResponse> response;
  for (int i = 0; i < 100 && client.Send("x"); ++i) {
    std::this_thread::sleep_for(100ms);
    if (std::chrono::steady_clock::now() - start > 1500ms) break;
  }
  response = client.ReadResponse(false, 5s);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 408);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
}

// A fast start banks no more than body_read_timeout of waiting: 200,000
// bytes at once would earn 200 s at 1,000 bytes a second, and a trickle of a
// byte each 200 ms after it would then hold the connection for minutes,
// each byte well within body_read_timeout of the last.
TEST_F(StreamedToHandlerTest, AFastStartBuysNoLastingTrickle) {
  StartReading(1 << 20, /*body_read_timeout=*/1s, /*min_rate=*/1000);
  TestClient client(port());
  ASSERT_TRUE(client.Send("POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n" +
                          Pattern(200000)));
  const auto start = std::chrono::steady_clock::now();
  // The trickle goes on while the answer is awaited: cut after about 1 s
  // of it, where a banked fast start would let it run past the wait.
  std::atomic<bool> answered = false;
  std::thread trickle([&] {
    while (!answered && std::chrono::steady_clock::now() - start < 6s && client.Send("x")) {
      std::this_thread::sleep_for(200ms);
    }
  });
  auto response = client.ReadResponse(false, 4s);
  answered = true;
  trickle.join();
  ASSERT_TRUE(response.has_value()) << "not cut while it trickled";
  EXPECT_EQ(response->status, 408);
}

// The rate counts only the time the server waits for the client: a
// handler that takes its time between pieces does not make a fast client
// slow.
TEST_F(StreamedToHandlerTest, TheHandlersOwnTimeDoesNotCountAgainstTheClient) {
  Start(
      [](HttpRequest& request) -> asio::awaitable<HttpResponse> {
        asio::steady_timer pause(co_await asio::this_coro::executor);
        size_t size = 0;
        for (;;) {
          Result<std::string_view> piece = co_await request.streamed_body->Next();
          if (!piece) co_return HttpResponse{.status = StatusForBodyError(piece.error())};
          if (piece->empty()) break;
          size += piece->size();
          pause.expires_after(200ms);  // a slow service, 200 ms a piece
          co_await pause.async_wait(asio::use_awaitable);
        }
        co_return HttpResponse{.body = std::to_string(size)};
      },
      // At 10 MB/s each 64 KiB piece may take 6.5 ms of waiting: counting
      // the handler's 200 ms a piece would cut the client.
      1 << 20, 5s, /*min_rate=*/10'000'000);
  TestClient client(port());
  ASSERT_TRUE(client.Send("POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 400000\r\n\r\n" +
                          Pattern(400000)));
  auto response = client.ReadResponse(false, 10s);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "400000");
}

// A handler that answers without reading the body (no Expect) leaves the
// connection without a place to read the next request from: it closes.
TEST_F(StreamedToHandlerTest, AnUnreadBodyClosesTheConnectionAfterTheAnswer) {
  Start([](HttpRequest&) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse{.body = "ignored"};
  });
  TestClient client(port());
  ASSERT_TRUE(client.Send("POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" +
                          Pattern(100) + "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "ignored");
  EXPECT_EQ(response->Header("Connection"), "close");
  EXPECT_TRUE(client.WaitForClose());
}

// The helper for handlers that want bodies whole keeps to its own limit.
TEST_F(StreamedToHandlerTest, ReadWholeBodyHoldsUpToItsLimit) {
  Start([](HttpRequest& request) -> asio::awaitable<HttpResponse> {
    const Status read = co_await ReadWholeBody(request, 1000);
    if (!read.ok()) co_return HttpResponse{.status = StatusForBodyError(read)};
    co_return HttpResponse{.body = std::to_string(request.body.size())};
  });
  for (const auto& [size, want] : {std::pair{size_t{900}, 200}, std::pair{size_t{1100}, 413}}) {
    for (const bool chunked : {false, true}) {
      const std::string body = Pattern(size);
      const std::string framed =
          chunked ? "Transfer-Encoding: chunked\r\n\r\n" + Chunk(body) + "0\r\n\r\n"
                  : "Content-Length: " + std::to_string(size) + "\r\n\r\n" + body;
      auto response = testing::RoundTrip(port(), "POST / HTTP/1.1\r\nHost: x\r\n" + framed);
      ASSERT_TRUE(response.has_value());
      EXPECT_EQ(response->status, want) << size << (chunked ? " chunked" : "");
      if (want == 200) {
        EXPECT_EQ(response->body, std::to_string(size));
      }
    }
  }
}

// A body source for the pool: `pieces`, then the end, or `error` instead.
class Pieces final : public StreamedBody {
 public:
  Pieces(std::vector<std::string> pieces, std::optional<uint64_t> length,
         std::optional<Status> error = std::nullopt)
      : pieces_(std::move(pieces)), length_(length), error_(std::move(error)) {}
  std::optional<uint64_t> length() const override { return length_; }
  size_t taken() const { return next_; }
  asio::awaitable<Result<std::string_view>> Next() override {
    if (next_ < pieces_.size()) co_return std::string_view(pieces_[next_++]);
    if (error_) co_return Err(*error_);
    co_return std::string_view();
  }

 private:
  std::vector<std::string> pieces_;
  std::optional<uint64_t> length_;
  std::optional<Status> error_;
  size_t next_ = 0;
};

// A request a service read: its head, and its body as framed.
struct Received {
  std::string head;
  std::string body;
  bool chunked = false;
};

// Reads one request from `fd`, de-chunking a chunked body. nullopt at the
// end of the connection (or a cut message).
std::optional<Received> ReadRequest(int fd) {
  std::string data;
  char ch;
  auto line = [&]() -> std::optional<std::string> {
    std::string l;
    while (l.size() < 2 || l.compare(l.size() - 2, 2, "\r\n") != 0) {
      if (::read(fd, &ch, 1) != 1) return std::nullopt;
      l.push_back(ch);
    }
    return l;
  };
  Received r;
  for (;;) {
    std::optional<std::string> l = line();
    if (!l) return std::nullopt;
    r.head += *l;
    if (*l == "\r\n") break;
  }
  auto read_n = [&](size_t n) {
    std::string out(n, '\0');
    for (size_t got = 0; got < n;) {
      const ssize_t k = ::read(fd, out.data() + got, n - got);
      if (k <= 0) return false;
      got += static_cast<size_t>(k);
    }
    r.body += out;
    return true;
  };
  if (r.head.find("Transfer-Encoding: chunked") != std::string::npos) {
    r.chunked = true;
    for (;;) {
      std::optional<std::string> size = line();
      if (!size) return std::nullopt;
      const size_t n = std::stoul(*size, nullptr, 16);
      if (n == 0) return line() ? std::optional(r) : std::nullopt;
      if (!read_n(n) || !line()) return std::nullopt;
    }
  }
  const size_t at = r.head.find("Content-Length: ");
  if (at != std::string::npos && !read_n(std::stoul(r.head.substr(at + 16)))) return std::nullopt;
  return r;
}

using testing::ReadHead;

class StreamedToServiceTest : public ::testing::Test {
 protected:
  // A service that reads each request, records it, and answers 200 "ok"
  // (closing the connection after the first if `close_after_first`).
  void Serve(bool close_after_first = false) {
    ServeWith([this, close_after_first](int fd) {
      while (std::optional<Received> r = ReadRequest(fd)) {
        received_.push_back(std::move(*r));
        testing::SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        if (close_after_first) break;
      }
      cut_ += 1;  // ended, whole or not
      ::close(fd);
    });
  }
  // A service that serves each connection with `serve`, and a pool to it.
  void ServeWith(std::function<void(int fd)> serve) {
    service_ = std::make_unique<testing::LoopbackService>(std::move(serve));
    UpstreamOptions options;
    options.port = service_->port();
    options.response_timeout = 2s;
    pool_ = std::make_unique<UpstreamPool>(
        ioc_.get_executor(), options,
        std::vector{asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), service_->port())});
  }
  Result<HttpResponse> Send(HttpRequest request) {
    Result<HttpResponse> out = Err(InternalError("not sent"));
    asio::co_spawn(
        ioc_, [&]() -> asio::awaitable<void> { out = co_await pool_->Send(request, true); },
        asio::detached);
    ioc_.restart();
    ioc_.run();
    return out;
  }
  static HttpRequest Post(std::shared_ptr<StreamedBody> body) {
    return HttpRequest{.method = "POST",
                       .target = "/up",
                       .headers = {{"Host", "service"}},
                       .streamed_body = std::move(body)};
  }

  asio::io_context ioc_;
  std::vector<Received> received_;
  std::atomic<int> cut_{0};
  std::unique_ptr<testing::LoopbackService> service_;
  std::unique_ptr<UpstreamPool> pool_;
};

TEST_F(StreamedToServiceTest, ABodyWithALengthGoesOnWithIt) {
  Serve();
  const std::string a = Pattern(100000);
  const std::string b = Pattern(50000);
  auto sent = Send(Post(std::make_shared<Pieces>(std::vector{a, b}, a.size() + b.size())));
  ASSERT_TRUE(sent.has_value()) << sent.error().ToString();
  EXPECT_EQ(sent->body, "ok");
  pool_.reset();
  service_.reset();
  ASSERT_EQ(received_.size(), 1u);
  EXPECT_NE(received_[0].head.find("Content-Length: 150000\r\n"), std::string::npos);
  EXPECT_FALSE(received_[0].chunked);
  EXPECT_TRUE(received_[0].body == a + b);
}

TEST_F(StreamedToServiceTest, ALongChunkedBodyGoesInChunksAndAShortOneWithItsLength) {
  Serve();
  const std::string a = Pattern(40000);
  const std::string b = Pattern(40000);
  auto sent = Send(Post(std::make_shared<Pieces>(std::vector{a, b}, std::nullopt)));
  ASSERT_TRUE(sent.has_value()) << sent.error().ToString();
  sent = Send(
      Post(std::make_shared<Pieces>(std::vector<std::string>{"hello ", "chunks"}, std::nullopt)));
  ASSERT_TRUE(sent.has_value()) << sent.error().ToString();
  pool_.reset();
  service_.reset();
  ASSERT_EQ(received_.size(), 2u);
  EXPECT_TRUE(received_[0].chunked);
  EXPECT_TRUE(received_[0].body == a + b);
  EXPECT_FALSE(received_[1].chunked);
  EXPECT_NE(received_[1].head.find("Content-Length: 12\r\n"), std::string::npos);
  EXPECT_EQ(received_[1].body, "hello chunks");
}

// The client's body failing midway: its error comes back as it is, and the
// service is left a cut message on a connection that is closed, not pooled.
TEST_F(StreamedToServiceTest, AFailingBodyCutsTheMessageAndClosesTheConnection) {
  Serve();
  auto sent = Send(Post(std::make_shared<Pieces>(std::vector{Pattern(1000)}, 5000,
                                                 ResourceExhaustedError("too large"))));
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(pool_->idle_connections(), 0u);
  for (int i = 0; i < 200 && cut_.load() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(cut_.load(), 1);
  service_.reset();
  EXPECT_TRUE(received_.empty());
}

// A service that answers before it has read the body (an early 413 of its
// own) gets no more of it, and its answer is the answer, not a 502.
TEST_F(StreamedToServiceTest, AnAnswerBeforeTheWholeBodyStopsItAndIsReturned) {
  ServeWith([](int fd) {
    ReadHead(fd);
    testing::SendAll(fd, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 3\r\n\r\nno\n");
    testing::ReadUntilClosed(fd);
    ::close(fd);
  });
  const std::vector<std::string> pieces(400, Pattern(64 << 10));
  auto body = std::make_shared<Pieces>(pieces, uint64_t{400} << 16);
  auto sent = Send(Post(body));
  ASSERT_TRUE(sent.has_value()) << sent.error().ToString();
  EXPECT_EQ(sent->status, 413);
  EXPECT_EQ(sent->body, "no\n");
  EXPECT_LT(body->taken(), pieces.size());
  EXPECT_EQ(pool_->idle_connections(), 0u) << "a connection with a cut request is not reused";
}

// Interim answers a service sends while the body is still coming (a 100 it
// was not asked for, 102 Processing) are not its answer: the body goes on,
// and the final answer after it is the one returned.
TEST_F(StreamedToServiceTest, InterimAnswersDuringTheBodyDoNotStopIt) {
  std::atomic<size_t> got{0};
  ServeWith([&got](int fd) {
    ReadHead(fd);
    testing::SendAll(fd, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n");
    char piece[65536];
    size_t total = 0;
    while (total < (size_t{40} << 16)) {
      const ssize_t n = ::read(fd, piece, sizeof piece);
      if (n <= 0) break;
      total += static_cast<size_t>(n);
    }
    got = total;
    testing::SendAll(fd, "HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone");
    testing::ReadUntilClosed(fd);
    ::close(fd);
  });
  const std::vector<std::string> pieces(40, Pattern(64 << 10));
  auto body = std::make_shared<Pieces>(pieces, uint64_t{40} << 16);
  auto sent = Send(Post(body));
  ASSERT_TRUE(sent.has_value()) << sent.error().ToString();
  EXPECT_EQ(sent->status, 201);
  EXPECT_EQ(sent->body, "done");
  EXPECT_EQ(body->taken(), pieces.size());
  EXPECT_EQ(got.load(), size_t{40} << 16);
  EXPECT_EQ(pool_->idle_connections(), 1u) << "the whole request went: the connection is kept";
}

// An interim head is skipped only within the bound of a response head
// (64 KiB), whether it never ends or ends past it: then the body stops, and
// the answer fails as a head too long, not after the whole body has gone to
// a service that may only be stalling. The third shape puts a short interim
// first, so that the 16 KiB reads leave the buffer under the bound with the
// long head unended, and the next read takes in its end past the bound: the
// head is seen whole and refused for its size.
TEST_F(StreamedToServiceTest, AnInterimHeadPastTheBoundStopsTheBody) {
  const std::string long_head = "HTTP/1.1 102 Processing\r\nX-Pad: " + std::string(70 << 10, 'a');
  const std::string whole_past_the_bound =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX-Pad: " +
      std::string(64 << 10, 'a') + "\r\n\r\n";
  const std::pair<const char*, std::string> shapes[] = {
      {"a head that never ends", long_head},
      {"a head that ends past the bound", long_head + "\r\n\r\n"},
      {"a head read whole past the bound", whole_past_the_bound},
  };
  for (const auto& [shape, answer] : shapes) {
    SCOPED_TRACE(shape);
    ServeWith([&answer](int fd) {
      ReadHead(fd);
      testing::SendAll(fd, answer);
      testing::ReadUntilClosed(fd);
      ::close(fd);
    });
    const std::vector<std::string> pieces(400, Pattern(64 << 10));
    auto body = std::make_shared<Pieces>(pieces, uint64_t{400} << 16);
    auto sent = Send(Post(body));
    ASSERT_FALSE(sent.has_value());
    EXPECT_EQ(sent.error().code(), StatusCode::kResourceExhausted) << sent.error().ToString();
    EXPECT_LT(body->taken(), pieces.size());
    EXPECT_EQ(pool_->idle_connections(), 0u);
    pool_.reset();
    service_.reset();
  }
}

// A body once sent cannot be sent again, so it never goes to a pooled
// connection the service has closed meanwhile.
TEST_F(StreamedToServiceTest, ABodyNeverGoesToAConnectionTheServiceClosed) {
  Serve(/*close_after_first=*/true);
  HttpRequest get{.method = "GET", .target = "/", .headers = {{"Host", "service"}}};
  ASSERT_TRUE(Send(get).has_value());
  ASSERT_EQ(pool_->idle_connections(), 1u);
  for (int i = 0; i < 100 && cut_.load() == 0; ++i) std::this_thread::sleep_for(10ms);
  const std::string body = Pattern(200000);
  auto sent = Send(Post(std::make_shared<Pieces>(std::vector{body}, body.size())));
  ASSERT_TRUE(sent.has_value()) << sent.error().ToString();
  EXPECT_EQ(service_->connections(), 2);
  pool_.reset();
  service_.reset();
  ASSERT_EQ(received_.size(), 2u);
  EXPECT_TRUE(received_[1].body == body);
}

}  // namespace
}  // namespace bulwark::net

// Response bodies that stream: from a service through UpstreamPool (large,
// chunked, close-delimited, slow, cut short, malformed) and from a handler
// through the server to a client (Content-Length, chunked, close-delimited
// for HTTP/1.0, cut short, not as long as announced).
#include "net/streamed_body.h"

#include "http_test_client.h"
#include "net/async_http_server.h"
#include "net/upstream_pool.h"

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

namespace bulwark::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

using testing::ReadHead;

using testing::Chunk;
using testing::Pattern;

// What a client of the pool got: the response, then its body piece by
// piece (or the error that cut it).
struct Drained {
  Result<HttpResponse> response = Err(InternalError("not sent"));
  bool streamed = false;
  std::optional<uint64_t> length;
  std::vector<std::string> pieces;
  std::optional<Status> error;
  std::string Body() const {
    std::string all = response ? response->body : "";
    for (const std::string& piece : pieces) all += piece;
    return all;
  }
};

class StreamedFromServiceTest : public ::testing::Test {
 protected:
  // Serves each connection with `serve` (after reading each request head).
  void Serve(std::function<bool(int fd)> serve) {
    service_.reset();  // its thread stops before serve_ changes
    serve_ = std::move(serve);
    service_ = std::make_unique<testing::LoopbackService>([this](int fd) {
      while (ReadHead(fd) && serve_(fd)) {
      }
      ::close(fd);
    });
    UpstreamOptions options;
    options.port = service_->port();
    options.response_timeout = 2s;
    pool_ = std::make_unique<UpstreamPool>(
        ioc_.get_executor(), options,
        std::vector{asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), service_->port())});
  }

  // Sends a GET and drains the body; `on_piece` runs after each piece.
  Drained Get(const std::function<void(const std::string&)>& on_piece = {},
              std::string method = "GET") {
    Drained out;
    HttpRequest request{.method = method, .target = "/", .headers = {{"Host", "service"}}};
    asio::co_spawn(
        ioc_,
        [&]() -> asio::awaitable<void> {
          out.response = co_await pool_->Send(request, true);
          if (!out.response || !out.response->streamed_body) co_return;
          out.streamed = true;
          StreamedBody& body = *out.response->streamed_body;
          out.length = body.length();
          for (;;) {
            Result<std::string_view> piece = co_await body.Next();
            if (!piece) {
              out.error = piece.error();
              co_return;
            }
            if (piece->empty()) co_return;
            out.pieces.emplace_back(*piece);
            if (on_piece) on_piece(out.pieces.back());
          }
        },
        asio::detached);
    ioc_.restart();
    ioc_.run();
    return out;
  }

  asio::io_context ioc_;
  std::function<bool(int fd)> serve_;
  std::unique_ptr<testing::LoopbackService> service_;
  std::unique_ptr<UpstreamPool> pool_;
};

// A body far beyond what is held (and beyond the 8 MiB that used to be
// refused) comes through whole, in pieces, and its connection serves the
// next request.
TEST_F(StreamedFromServiceTest, ALargeBodyStreamsWholeAndTheConnectionIsKept) {
  const std::string big = Pattern(20 << 20);
  Serve([&](int fd) {
    return testing::SendAll(
        fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n" + big);
  });
  for (int round = 0; round < 2; ++round) {
    const Drained got = Get();
    ASSERT_TRUE(got.response.has_value()) << got.response.error().ToString();
    ASSERT_TRUE(got.streamed);
    EXPECT_EQ(got.length, big.size());
    EXPECT_FALSE(got.error.has_value());
    EXPECT_GT(got.pieces.size(), 100u);
    for (const std::string& piece : got.pieces) ASSERT_LE(piece.size(), 64u * 1024);
    EXPECT_TRUE(got.Body() == big);
    EXPECT_EQ(pool_->idle_connections(), 1u);
  }
  EXPECT_EQ(service_->connections(), 1);
}

// Server-sent events: each chunk reaches the client while the service is
// still holding the next one back, waiting for the client to have the first.
TEST_F(StreamedFromServiceTest, AChunkReachesTheClientBeforeTheServiceSendsTheNext) {
  std::promise<void> first_seen;
  std::future<void> seen = first_seen.get_future();
  bool waited_out = false;
  Serve([&](int fd) {
    testing::SendAll(fd,
                     "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: "
                     "chunked\r\n\r\n" +
                         Chunk("data: one\n\n"));
    waited_out = seen.wait_for(5s) != std::future_status::ready;
    testing::SendAll(fd, Chunk("data: two\n\n") + "0\r\n\r\n");
    return true;
  });
  const Drained got = Get([&](const std::string& piece) {
    if (piece == "data: one\n\n") first_seen.set_value();
  });
  ASSERT_TRUE(got.response.has_value()) << got.response.error().ToString();
  ASSERT_TRUE(got.streamed);
  EXPECT_FALSE(got.length.has_value());
  EXPECT_FALSE(waited_out) << "the first event was held until the service gave up";
  EXPECT_EQ(got.pieces, (std::vector<std::string>{"data: one\n\n", "data: two\n\n"}));
  EXPECT_EQ(pool_->idle_connections(), 1u);
  pool_.reset();     // ends the service's connection,
  service_.reset();  // and its thread is done with `seen` before that goes
}

// A small chunked answer that came whole with its head is not streamed.
TEST_F(StreamedFromServiceTest, AChunkedBodyInHandWithItsHeadIsHeld) {
  Serve([&](int fd) {
    return testing::SendAll(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                    Chunk("chun") +
                                    "5;ext=1\r\nked!\n\r\n0\r\nX-Trailer: t\r\n\r\n");
  });
  const Drained got = Get();
  ASSERT_TRUE(got.response.has_value()) << got.response.error().ToString();
  EXPECT_FALSE(got.streamed);
  EXPECT_EQ(got.response->body, "chunked!\n");
  EXPECT_EQ(got.response->passed_on_fields.find("X-Trailer"), std::string::npos);
  EXPECT_EQ(pool_->idle_connections(), 1u);
}

// Transfer-Encoding in an HTTP/1.0 answer is faulty framing (RFC 9112
// section 6.1): the body is read as chunked, and the connection is not kept
// whatever Connection says.
TEST_F(StreamedFromServiceTest, AChunkedHttp10AnswerEndsItsConnection) {
  Serve([&](int fd) {
    return testing::SendAll(fd,
                            "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n" +
                                Chunk("chunked!") + "0\r\n\r\n");
  });
  const Drained got = Get();
  ASSERT_TRUE(got.response.has_value()) << got.response.error().ToString();
  EXPECT_EQ(got.Body(), "chunked!");
  EXPECT_EQ(pool_->idle_connections(), 0u);
}

// The answer to HEAD has no body whatever its fields say: a chunked one is
// not waited for, and the connection serves the next request. It claims no
// length (the server writes none, and names the chunked coding a GET would
// get): not a length of 0 the GET's body would not have.
TEST_F(StreamedFromServiceTest, AChunkedAnswerToHeadHasNoBody) {
  Serve([&](int fd) {
    return testing::SendAll(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  });
  for (int round = 0; round < 2; ++round) {
    const Drained got = Get({}, "HEAD");
    ASSERT_TRUE(got.response.has_value()) << got.response.error().ToString();
    ASSERT_TRUE(got.streamed);
    EXPECT_EQ(got.length, std::nullopt);
    EXPECT_TRUE(got.pieces.empty());
    EXPECT_EQ(got.response->body, "");
  }
  EXPECT_EQ(service_->connections(), 1);
}

// A status line with no SP after the status is read for every framing,
// chunks too (which Beast reads, and would refuse such a line).
TEST_F(StreamedFromServiceTest, AStatusLineWithoutAReasonFramesAnyBody) {
  Serve([&](int fd) {
    return testing::SendAll(
        fd, "HTTP/1.1 201\r\nTransfer-Encoding: chunked\r\n\r\n" + Chunk("made") + "0\r\n\r\n");
  });
  const Drained got = Get();
  ASSERT_TRUE(got.response.has_value()) << got.response.error().ToString();
  EXPECT_EQ(got.response->status, 201);
  EXPECT_EQ(got.Body(), "made");
}

// The answer to HEAD keeps the length the service declared (the server
// sends it as Content-Length), with no body.
TEST_F(StreamedFromServiceTest, AnAnswerToHeadKeepsItsDeclaredLength) {
  Serve([&](int fd) {
    return testing::SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 123456789\r\n\r\n");
  });
  for (int round = 0; round < 2; ++round) {
    const Drained got = Get({}, "HEAD");
    ASSERT_TRUE(got.response.has_value()) << got.response.error().ToString();
    ASSERT_TRUE(got.streamed);
    EXPECT_EQ(got.length, 123456789u);
    EXPECT_TRUE(got.pieces.empty());
    EXPECT_EQ(got.response->body, "");
  }
  EXPECT_EQ(service_->connections(), 1);
}

// The answer to HEAD whose length or coding a GET's answer could not have
// (two lengths, a length and chunks, a coding other than chunks) is
// refused as the GET's would be, not told to the client as chunked.
TEST_F(StreamedFromServiceTest, AnAnswerToHeadWithFramingAGetsCouldNotHaveIsRefused) {
  for (const std::string fields :
       {"Content-Length: 5\r\nContent-Length: 13\r\n", "Content-Length: -1\r\n",
        "Content-Length: +5\r\n", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: gzip\r\n", "Transfer-Encoding: gzip, chunked\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"}) {
    Serve([&](int fd) {
      testing::SendAll(fd, "HTTP/1.1 200 OK\r\n" + fields + "\r\n");
      testing::ReadUntilClosed(fd);
      return false;
    });
    const Drained got = Get({}, "HEAD");
    ASSERT_FALSE(got.response.has_value()) << fields;
    EXPECT_EQ(got.response.error().code(), StatusCode::kDataLoss) << fields;
    service_.reset();
  }
}

// A body that ends with the connection: streamed to the end, and the
// connection is not pooled.
TEST_F(StreamedFromServiceTest, ACloseDelimitedBodyEndsWithTheConnection) {
  const std::string body = Pattern(300 * 1024);
  Serve([&](int fd) {
    testing::SendAll(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    ::usleep(20 * 1000);
    testing::SendAll(fd, body);
    return false;
  });
  const Drained got = Get();
  ASSERT_TRUE(got.response.has_value()) << got.response.error().ToString();
  ASSERT_TRUE(got.streamed);
  EXPECT_FALSE(got.error.has_value());
  EXPECT_TRUE(got.Body() == body);
  EXPECT_EQ(pool_->idle_connections(), 0u);
}

// A service that stops short of its Content-Length, or breaks its chunks,
// or sends nothing more within response_timeout: the body ends in an error
// (which cuts the client's copy), never as if whole, and the connection is
// not reused.
TEST_F(StreamedFromServiceTest, ABodyCutShortOrMalformedOrStalledEndsInAnError) {
  const std::string part = Pattern(300 * 1024);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"short", "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + part},
      {"short chunk",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + Chunk(part) + "ffff\r\nabc"},
      {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + Chunk(part) +
                             "zz\r\nabc\r\n0\r\n\r\n"},
      // A quoted extension value may not hold a control character (RFC 9110
      // section 5.6.4): a bare LF there would end the line for another parser.
      {"LF in a chunk extension", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                      Chunk(part) + "3;a=\"\n\"\r\nabc\r\n0\r\n\r\n"},
  };
  for (const auto& [name, answer] : cases) {
    Serve([&](int fd) {
      testing::SendAll(fd, answer);
      return false;
    });
    const Drained got = Get();
    ASSERT_TRUE(got.response.has_value()) << name << ": " << got.response.error().ToString();
    ASSERT_TRUE(got.streamed) << name;
    EXPECT_TRUE(got.error.has_value()) << name;
    EXPECT_EQ(pool_->idle_connections(), 0u) << name;
  }
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  Serve([&](int fd) {
    testing::SendAll(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + Chunk("early"));
    finished.wait_for(10s);  // silent until the test is over
    return false;
  });
  const auto start = std::chrono::steady_clock::now();
  const Drained got = Get();
  const auto took = std::chrono::steady_clock::now() - start;
  done.set_value();
  service_.reset();  // its thread is done with `finished` before that goes
  ASSERT_TRUE(got.response.has_value()) << got.response.error().ToString();
  ASSERT_TRUE(got.error.has_value());
  EXPECT_EQ(got.error->code(), StatusCode::kDeadlineExceeded) << got.error->ToString();
  EXPECT_EQ(got.pieces, std::vector<std::string>{"early"});
  EXPECT_GE(took, 1500ms);
  EXPECT_LT(took, 8s);
}

// A service that ends a chunk's size line, its last chunk or a trailer field
// with a bare LF, leaves a quoted extension value open, or sizes a chunk
// past a TiB, and then waits: the body ends in an error at once, not at
// response_timeout.
TEST_F(StreamedFromServiceTest, ChunkFramingThatCannotEndEndsTheBodyAtOnce) {
  for (const std::string tail :
       {"0\n\n", "0\r\nT: v\n\r\n", "3\n", "\n", "3;a=\"b\r\nabc\r\n0\r\n\r\n", "0;a=\"b\r\n\r\n",
        // Past a TiB: the rest would be the chunk's data.
        "ffffffffffffffff\r\nhello\r\n0\r\n\r\n"}) {
    Serve([&](int fd) {
      testing::SendAll(
          fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + Chunk("abc") + tail);
      testing::ReadUntilClosed(fd);
      return false;
    });
    const auto start = std::chrono::steady_clock::now();
    const Drained got = Get();
    // Refused with the head, if the framing came with it, or while streaming.
    const Status refused = !got.response.has_value() ? got.response.error()
                           : got.error.has_value()   ? *got.error
                                                     : Status();
    EXPECT_EQ(refused.code(), StatusCode::kDataLoss) << tail << ": " << refused.ToString();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s) << tail;
    EXPECT_EQ(pool_->idle_connections(), 0u) << tail;
    service_.reset();
  }
}

// A body coded otherwise than by chunks alone would reach the client still
// coded with nothing saying so; a head whose lines end in LF alone never
// ends. Both are refused at once, not passed on or waited out.
TEST_F(StreamedFromServiceTest, ACodedBodyOrAHeadOfBareLineFeedsIsRefusedAtOnce) {
  for (const std::string answer : {
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
           "chunked\r\n\r\n0\r\n\r\n",
           "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
       }) {
    Serve([&](int fd) {
      testing::SendAll(fd, answer);
      testing::ReadUntilClosed(fd);  // only the head's shape can end the pool's wait
      return false;
    });
    const auto start = std::chrono::steady_clock::now();
    const Drained got = Get();
    ASSERT_FALSE(got.response.has_value()) << answer;
    EXPECT_EQ(got.response.error().code(), StatusCode::kDataLoss) << answer;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s) << answer;
    service_.reset();
  }
  // Chunks alone, named in any case, are read as before.
  Serve([&](int fd) {
    testing::SendAll(
        fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n" + Chunk("yes") + "0\r\n\r\n");
    return false;
  });
  const Drained got = Get();
  ASSERT_TRUE(got.response.has_value()) << got.response.error().ToString();
  EXPECT_EQ(got.Body(), "yes");
}

// A body the test's handler hands the server piece by piece, ending in an
// error after `fail_after` pieces if set.
class ScriptedBody final : public StreamedBody {
 public:
  ScriptedBody(std::vector<std::string> pieces, std::optional<uint64_t> length,
               std::optional<size_t> fail_after = std::nullopt)
      : pieces_(std::move(pieces)), length_(length), fail_after_(fail_after) {}
  std::optional<uint64_t> length() const override { return length_; }
  asio::awaitable<Result<std::string_view>> Next() override {
    if (fail_after_ && next_ == *fail_after_) co_return Err(UnavailableError("source broke"));
    if (next_ == pieces_.size()) co_return std::string_view();
    co_return std::string_view(pieces_[next_++]);
  }

 private:
  std::vector<std::string> pieces_;
  std::optional<uint64_t> length_;
  std::optional<size_t> fail_after_;
  size_t next_ = 0;
};

class StreamedToClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.threads = 1;
    auto server =
        StartAsyncHttpServer(options, [](HttpRequest& r) -> asio::awaitable<HttpResponse> {
          const std::vector<std::string> pieces = {"first,", Pattern(100 * 1024), ",last"};
          const uint64_t total = pieces[0].size() + pieces[1].size() + pieces[2].size();
          std::shared_ptr<StreamedBody> body;
          if (r.target == "/chunked") body = std::make_shared<ScriptedBody>(pieces, std::nullopt);
          if (r.target == "/length") body = std::make_shared<ScriptedBody>(pieces, total);
          if (r.target == "/broken") body = std::make_shared<ScriptedBody>(pieces, std::nullopt, 2);
          if (r.target == "/short") body = std::make_shared<ScriptedBody>(pieces, total + 1);
          if (r.target == "/long") body = std::make_shared<ScriptedBody>(pieces, total - 1);
          HttpResponse response{.status = 200, .headers = {{"X-Kind", "streamed"}}};
          response.streamed_body = std::move(body);
          co_return response;
        });
    ASSERT_TRUE(server.has_value()) << server.error().ToString();
    server_ = std::move(*server);
  }

  const std::string expected_ = "first," + Pattern(100 * 1024) + ",last";
  std::unique_ptr<HttpServer> server_;
};

TEST_F(StreamedToClientTest, WithoutALengthItIsChunkedAndTheConnectionServesOn) {
  testing::TestClient client(server_->port());
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(client.Send("GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto response = client.ReadResponse();
    ASSERT_TRUE(response.has_value()) << round;
    EXPECT_TRUE(response->chunked);
    EXPECT_EQ(response->Header("Content-Length"), std::nullopt);
    EXPECT_EQ(response->Header("X-Kind"), "streamed");
    EXPECT_TRUE(response->body == expected_) << round;
  }
}

TEST_F(StreamedToClientTest, WithALengthItGoesAsContentLength) {
  testing::TestClient client(server_->port());
  ASSERT_TRUE(client.Send("GET /length HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_FALSE(response->chunked);
  EXPECT_EQ(response->Header("Content-Length"), std::to_string(expected_.size()));
  EXPECT_TRUE(response->body == expected_);
  // HEAD: the length, no body, and the connection serves on.
  ASSERT_TRUE(client.Send("HEAD /length HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto head = client.ReadResponse(/*head_request=*/true);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->Header("Content-Length"), std::to_string(expected_.size()));
  ASSERT_TRUE(client.Send("GET /length HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto again = client.ReadResponse();
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->body == expected_);
}

// HTTP/1.0 knows no chunks: the body ends with the connection.
TEST_F(StreamedToClientTest, ToAnHttp10ClientItEndsWithTheConnection) {
  testing::TestClient client(server_->port());
  ASSERT_TRUE(client.Send("GET /chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  const std::string raw = client.ReadUntilClose();
  const size_t end = raw.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  const std::string head = raw.substr(0, end);
  EXPECT_NE(head.find("Connection: close"), std::string::npos) << head;
  EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos) << head;
  EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
  EXPECT_TRUE(raw.substr(end + 4) == expected_);
}

// A source that breaks, or gives less or more than the length the head
// announced: the client's connection is closed without a complete message
// (no last chunk; fewer bytes than Content-Length), never a byte too many.
TEST_F(StreamedToClientTest, ABodyCutShortOrNotAsAnnouncedClosesTheConnection) {
  for (const std::string target : {"/broken", "/short", "/long"}) {
    testing::TestClient client(server_->port());
    ASSERT_TRUE(client.Send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    // Closed by the server at once, not left open until the read gives up.
    const auto start = std::chrono::steady_clock::now();
    const std::string raw = client.ReadUntilClose(10s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s) << target;
    const size_t end = raw.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos) << target;
    const std::string body = raw.substr(end + 4);
    if (target == "/broken") {
      EXPECT_FALSE(body.ends_with("0\r\n\r\n")) << target;
      EXPECT_NE(body.find("first,"), std::string::npos) << target;
    } else if (target == "/short") {  // all the source had, one byte short of the length
      EXPECT_EQ(body.size(), expected_.size()) << target;
    } else {  // the piece that would pass the length is not written
      EXPECT_EQ(body.size(), expected_.size() - std::string_view(",last").size()) << target;
    }
    EXPECT_TRUE(client.reset()) << target;
  }
}

// To HTTP/1.0 the body ends with the connection, so a body cut short must
// not end the way a whole one does: the connection is reset, not closed.
TEST_F(StreamedToClientTest, ToAnHttp10ClientABodyCutShortEndsInAReset) {
  testing::TestClient whole(server_->port());
  ASSERT_TRUE(whole.Send("GET /chunked HTTP/1.0\r\n\r\n"));
  const std::string complete = whole.ReadUntilClose();
  EXPECT_TRUE(complete.ends_with(",last"));
  EXPECT_FALSE(whole.reset());

  testing::TestClient client(server_->port());
  ASSERT_TRUE(client.Send("GET /broken HTTP/1.0\r\n\r\n"));
  const std::string raw = client.ReadUntilClose(10s);
  EXPECT_NE(raw.find("first,"), std::string::npos);
  EXPECT_FALSE(raw.ends_with(",last"));
  EXPECT_TRUE(client.reset());
}

}  // namespace
}  // namespace bulwark::net

// What the server refuses before any handler runs: limits, smuggling vectors,
// malformed framing. Every refusal is generic and closes the connection.
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "http_test_client.h"
#include "net/http_server.h"

namespace bulwark::net {
namespace {

using namespace std::chrono_literals;
using testing::RawResponse;
using testing::TestClient;

class HttpHardeningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.threads = 2;
    options.max_request_line = 1024;
    options.max_header_bytes = 2048;
    options.max_header_count = 20;
    options.max_body_bytes = 1000;
    options.on_refused = [this](const RefusedRequest& r) {
      std::lock_guard lock(mu_);
      refused_.push_back({.status = r.status,
                          .method = std::string(r.method),
                          .target = std::string(r.target),
                          .remote = std::string(r.remote_address)});
    };
    auto server = HttpServer::Start(options, [this](const HttpRequest& request) {
      ++handled_;
      return HttpResponse{.body = "body=" + request.body};
    });
    ASSERT_TRUE(server.has_value()) << server.error().ToString();
    server_ = std::move(*server);
  }

  // Sends `request` and expects the refusal `status`: generic body, closed.
  void ExpectRefused(const std::string& request, int status) {
    TestClient client(server_->port());
    ASSERT_TRUE(client.connected());
    client.Send(request);  // may fail once the server has answered
    auto response = client.ReadResponse();
    ASSERT_TRUE(response.has_value()) << request.substr(0, 200);
    EXPECT_EQ(response->status, status) << request.substr(0, 200);
    EXPECT_EQ(response->Header("Connection"), "close");
    EXPECT_EQ(response->Header("Content-Type"), "text/plain; charset=utf-8");
    EXPECT_LT(response->body.size(), 40u);
    EXPECT_TRUE(client.WaitForClose());
    EXPECT_EQ(handled_.load(), 0);
    // Told before the answer went, so that it is audited as a decision.
    const std::vector<Refused> refused = TakeRefused();
    ASSERT_EQ(refused.size(), 1u) << request.substr(0, 200);
    EXPECT_EQ(refused[0].status, status);
    EXPECT_EQ(refused[0].remote, "127.0.0.1");
    last_refused_ = refused[0];
  }

  struct Refused {
    int status;
    std::string method, target, remote;
  };
  std::vector<Refused> TakeRefused() {
    std::lock_guard lock(mu_);
    return std::exchange(refused_, {});
  }

  std::optional<RawResponse> Send(const std::string& request) {
    return testing::RoundTrip(server_->port(), request);
  }

  std::atomic<int> handled_{0};
  std::mutex mu_;
  std::vector<Refused> refused_;  // guarded by mu_
  Refused last_refused_{};        // ExpectRefused's
  std::unique_ptr<HttpServer> server_;
};

// What the listener had read of a request it refused goes with the
// refusal: the method and target once the request line was whole, and of
// a line too long, its method and the target's beginning.
TEST_F(HttpHardeningTest, ARefusalSaysWhatItHadReadOfTheRequest) {
  ExpectRefused(
      "POST /upload?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      400);
  EXPECT_EQ(last_refused_.method, "POST");
  EXPECT_EQ(last_refused_.target, "/upload?x=1");
  // A line too long gives the part of its target within the limit (1024).
  ExpectRefused("GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414);
  EXPECT_EQ(last_refused_.method, "GET");
  EXPECT_EQ(last_refused_.target, "/" + std::string(1019, 'a'));
  ExpectRefused("DELETE /" + std::string(5000, 'b'), 414);  // no line end yet
  EXPECT_EQ(last_refused_.method, "DELETE");
  EXPECT_EQ(last_refused_.target, "/" + std::string(1016, 'b'));
  ExpectRefused(std::string(3000, 'c'), 414);  // no request line's shape
  EXPECT_EQ(last_refused_.method, "");
  EXPECT_EQ(last_refused_.target, "");
  // Refused while the head was scanned, its request line whole.
  ExpectRefused("GET /fold?q=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", 400);
  EXPECT_EQ(last_refused_.method, "GET");
  EXPECT_EQ(last_refused_.target, "/fold?q=1");
  ASSERT_TRUE(Send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n").has_value());
  EXPECT_TRUE(TakeRefused().empty()) << "a served request is no refusal";
}

TEST_F(HttpHardeningTest, LongRequestTargetGets414) {
  ExpectRefused("GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414);
}

TEST_F(HttpHardeningTest, LongTargetArrivingWithoutLineEndGets414) {
  ExpectRefused("GET /" + std::string(5000, 'a'), 414);
}

TEST_F(HttpHardeningTest, RequestLineAtLimitIsServed) {
  const std::string prefix = "GET /";
  const std::string suffix = " HTTP/1.1";
  const std::string line = prefix + std::string(1024 - prefix.size() - suffix.size(), 'a') + suffix;
  ASSERT_EQ(line.size(), 1024u);
  auto response = Send(line + "\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpHardeningTest, HugeHeaderGets431) {
  ExpectRefused("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(3000, 'b') + "\r\n\r\n", 431);
}

TEST_F(HttpHardeningTest, TooManyHeadersGets431) {
  std::string request = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 25; ++i) request += "X-" + std::to_string(i) + ": v\r\n";
  ExpectRefused(request + "\r\n", 431);
}

TEST_F(HttpHardeningTest, BigContentLengthGets413) {
  ExpectRefused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", 413);
}

TEST_F(HttpHardeningTest, OverlongChunkedBodyGets413) {
  std::string request = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) request += "12c\r\n" + std::string(300, 'c') + "\r\n";  // 1500 bytes
  ExpectRefused(request + "0\r\n\r\n", 413);
}

TEST_F(HttpHardeningTest, BodyAtLimitIsServed) {
  auto response =
      Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'z'));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body.size(), 1005u);
}

TEST_F(HttpHardeningTest, ContentLengthWithTransferEncodingGets400) {
  ExpectRefused(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n",
      400);
  ExpectRefused(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
      "0\r\n\r\n",
      400);
}

TEST_F(HttpHardeningTest, DuplicateContentLengthGets400) {
  ExpectRefused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
                400);
  ExpectRefused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
                400);
  ExpectRefused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc", 400);
}

TEST_F(HttpHardeningTest, MalformedContentLengthGets400) {
  ExpectRefused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", 400);
  ExpectRefused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\nabc", 400);
}

TEST_F(HttpHardeningTest, TransferEncodingOtherThanChunkedGets400) {
  for (const char* te :
       {"gzip, chunked", "chunked, gzip", "gzip", "chunked, chunked", "identity"}) {
    ExpectRefused(
        std::string("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ") + te + "\r\n\r\n0\r\n\r\n",
        400);
  }
  ExpectRefused(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      400);
}

TEST_F(HttpHardeningTest, TransferEncodingInHttp10Gets400) {
  ExpectRefused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
}

TEST_F(HttpHardeningTest, ObsoleteLineFoldingGets400) {
  ExpectRefused("GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n", 400);
  ExpectRefused("GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n\tb\r\n\r\n", 400);
}

TEST_F(HttpHardeningTest, BadChunkSizeGets400) {
  for (const char* chunk :
       {"zz\r\nab\r\n0\r\n\r\n", "-2\r\nab\r\n0\r\n\r\n", "fffffffffffffffffff\r\nab\r\n0\r\n\r\n",
        "2\r\nabc\r\n0\r\n\r\n", "\r\nab\r\n0\r\n\r\n"}) {
    ExpectRefused(
        std::string("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n") + chunk,
        400);
  }
}

// RFC 9112 section 7.1.1: a chunk extension is `;name[=token|quoted-string]`.
// A control character in a quoted value (a bare LF, above all, where a proxy
// in front may end the line) is refused, in every chunk and the last.
TEST_F(HttpHardeningTest, MalformedChunkExtensionsGet400) {
  const std::string head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const std::string& ext :
       {std::string(";a=\"\n\""), std::string(";a=\"x\ny\""), std::string(";a=\"\0\"", 6),
        std::string(";a=\"\x7f\""), std::string(";a=\"\\\n\""), std::string(";"),
        std::string(";=v"), std::string(";a=b c"), std::string("g"), std::string(";a=\"\r\"")}) {
    ExpectRefused(head + "1" + ext + "\r\nX\r\n0\r\n\r\n", 400);
    ExpectRefused(head + "1\r\nX\r\n0" + ext + "\r\n\r\n", 400);
  }
}

// Beast ends a chunk's size line, the last chunk and its trailer fields only
// at CRLF, and looks for the end of a quoted extension value past the end
// of its line: a client that ends its framing with a bare LF, or never
// closes a quote, is refused at once, not left waiting for the body's
// timeout (30 s here).
TEST_F(HttpHardeningTest, ChunkFramingThatCannotEndGets400AtOnce) {
  const std::string head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const std::string framing :
       {"0\n\n", "0\r\n\n", "1\r\nX\r\n0\n", "1\r\nX\r\n0\r\nT: v\n\r\n", "1\r\nX\n", "1\n",
        "2\r\nab\r\n1;a=b\n", "5;foo=\"b\r\nhello\r\n0\r\n\r\n", "1\r\nX\r\n0;x=\"y\r\n\r\n",
        "1\r\nX\r\n1;x=\"y\r\nZ\r\n0\r\n\r\n"}) {
    const auto start = std::chrono::steady_clock::now();
    ExpectRefused(head + framing, 400);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << framing;
  }
  // A last chunk and trailer that arrive a byte at a time are still read.
  TestClient client(server_->port());
  ASSERT_TRUE(client.Send(head + "2\r\nab\r\n"));
  for (const char c : std::string_view("0\r\nT: v\r\n\r\n")) {
    ASSERT_TRUE(client.Send(std::string(1, c)));
    std::this_thread::sleep_for(2ms);
  }
  const auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "body=ab");
}

TEST_F(HttpHardeningTest, WellFormedChunkExtensionsAreServed) {
  auto response = Send(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2;a=b;c=\"q \\\" \t\x80\" ; d \t= e\r\nab\r\n0;last\r\n\r\n");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "body=ab");
}

// CONNECT would open a tunnel Bulwark does not offer; passed on, its body
// could be read by the service as requests of their own.
TEST_F(HttpHardeningTest, ConnectIsNotImplemented) {
  ExpectRefused("CONNECT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nGET /", 501);
  ExpectRefused("CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n", 501);
}

TEST_F(HttpHardeningTest, BareLineFeedsAndCarriageReturnsGet400) {
  ExpectRefused("GET / HTTP/1.1\nHost: x\n\n", 400);
  ExpectRefused("GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", 400);
  ExpectRefused("GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", 400);
}

TEST_F(HttpHardeningTest, MalformedRequestLinesGet400) {
  ExpectRefused("\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  ExpectRefused("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  ExpectRefused("GET / HTTQ/1.1\r\nHost: x\r\n\r\n", 400);
  ExpectRefused("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  ExpectRefused("GET / HTTP/1.1\r\nBad Name: x\r\nHost: x\r\n\r\n", 400);
  ExpectRefused("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);
}

TEST_F(HttpHardeningTest, HostMustAppearExactlyOnceInHttp11) {
  ExpectRefused("GET / HTTP/1.1\r\n\r\n", 400);
  ExpectRefused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
}

TEST_F(HttpHardeningTest, UnsupportedVersionGets505) {
  ExpectRefused("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
}

TEST_F(HttpHardeningTest, UnknownExpectationGets417) {
  ExpectRefused("POST / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\nContent-Length: 1\r\n\r\na", 417);
}

TEST_F(HttpHardeningTest, RefusalAfterGoodRequestClosesKeepAliveConnection) {
  TestClient client(server_->port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n\r\n"));
  auto good = client.ReadResponse();
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(good->status, 200);
  auto refused = client.ReadResponse();
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 400);
  EXPECT_TRUE(client.WaitForClose());
}

}  // namespace
}  // namespace bulwark::net

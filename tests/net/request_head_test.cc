#include "net/request_head.h"

#include <cstdint>
#include <expected>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace bulwark::net {
namespace {

using State = RequestHeadScanner::State;
using Fields = std::vector<std::pair<std::string, std::string>>;

constexpr RequestHeadLimits kLimits{
    .max_request_line = 32, .max_header_bytes = 64, .max_header_count = 3};

constexpr char kWithNul[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";

// Feeds `data` one byte more per call, as a trickling client would.
State ScanByteByByte(RequestHeadScanner& scanner, std::string_view data) {
  State state = State::kNeedMore;
  for (size_t n = 1; n <= data.size() && state == State::kNeedMore; ++n) {
    state = scanner.Scan(data.substr(0, n));
  }
  return state;
}

TEST(RequestHeadScannerTest, FindsEndOfHeadWhetherWholeOrTrickled) {
  const std::string head = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string data = head + "BODY";
  RequestHeadScanner whole(kLimits);
  ASSERT_EQ(whole.Scan(data), State::kComplete);
  EXPECT_EQ(whole.head_size(), head.size());
  RequestHeadScanner trickled(kLimits);
  ASSERT_EQ(ScanByteByByte(trickled, data), State::kComplete);
  EXPECT_EQ(trickled.head_size(), head.size());
}

// Found by fuzz/http_head_fuzzer: a bad byte inside an over-long line must
// get the same refusal whether the line arrives whole or trickled.
TEST(RequestHeadScannerTest, RefusalDoesNotDependOnHowBytesAreSplit) {
  const std::string long_line = "GET /" + std::string(40, 'a') + '\0' + " HTTP/1.1\r\n\r\n";
  const std::string long_field = "GET / HTTP/1.1\r\nX: " + std::string(80, 'b') + "\rc\r\n\r\n";
  for (const std::string& data : {long_line, long_field}) {
    RequestHeadScanner whole(kLimits);
    RequestHeadScanner trickled(kLimits);
    ASSERT_EQ(whole.Scan(data), State::kRefused);
    ASSERT_EQ(ScanByteByByte(trickled, data), State::kRefused);
    EXPECT_EQ(whole.refusal(), trickled.refusal());
    EXPECT_NE(whole.refusal(), Refusal::kBadRequest);
  }
}

TEST(RequestHeadScannerTest, TellsLongRequestLineFromLargeHeaders) {
  RequestHeadScanner long_line(kLimits);
  EXPECT_EQ(ScanByteByByte(long_line, "GET /" + std::string(40, 'a')), State::kRefused);
  EXPECT_EQ(long_line.refusal(), Refusal::kUriTooLong);

  RequestHeadScanner big_field(kLimits);
  EXPECT_EQ(big_field.Scan("GET / HTTP/1.1\r\nX: " + std::string(80, 'b')), State::kRefused);
  EXPECT_EQ(big_field.refusal(), Refusal::kHeaderFieldsTooLarge);

  RequestHeadScanner many(kLimits);
  EXPECT_EQ(many.Scan("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"), State::kRefused);
  EXPECT_EQ(many.refusal(), Refusal::kHeaderFieldsTooLarge);
}

TEST(RequestHeadScannerTest, RefusesOtherHttpVersionsAsUnsupported) {
  for (std::string_view line : {"GET / HTTP/2.0\r\n", "GET / HTTP/1.2\r\n", "GET / HTTP/0.9\r\n"}) {
    RequestHeadScanner scanner(kLimits);
    EXPECT_EQ(scanner.Scan(line), State::kRefused) << line;
    EXPECT_EQ(scanner.refusal(), Refusal::kVersionNotSupported) << line;
  }
  RequestHeadScanner http10(kLimits);
  EXPECT_EQ(http10.Scan("GET / HTTP/1.0\r\n\r\n"), State::kComplete);
}

TEST(RequestHeadScannerTest, AcceptsExactlyTheLimits) {
  const std::string line = "GET /" + std::string(32 - 14, 'a') + " HTTP/1.1";
  ASSERT_EQ(line.size(), 32u);
  RequestHeadScanner scanner(kLimits);
  EXPECT_EQ(ScanByteByByte(scanner, line + "\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), State::kComplete);
}

TEST(RequestHeadScannerTest, CountsFieldLinesWithTheirCrlfAndNotTheEmptyLine) {
  // Two field lines of 32 bytes each with CRLF: exactly max_header_bytes.
  const std::string fields =
      "A: " + std::string(27, 'a') + "\r\nB: " + std::string(27, 'b') + "\r\n";
  ASSERT_EQ(fields.size(), 64u);
  RequestHeadScanner at_limit(kLimits);
  EXPECT_EQ(ScanByteByByte(at_limit, "GET / HTTP/1.1\r\n" + fields + "\r\n"), State::kComplete);
  RequestHeadScanner over(kLimits);
  EXPECT_EQ(over.Scan("GET / HTTP/1.1\r\nX" + fields + "\r\n"), State::kRefused);
  EXPECT_EQ(over.refusal(), Refusal::kHeaderFieldsTooLarge);
}

// Heads made of the bytes that matter to the scanner, around the limits:
// whole, trickled or cut in two, each gets the same verdict.
TEST(RequestHeadScannerTest, VerdictIsTheSameHoweverTheBytesArrive) {
  constexpr std::string_view kBytes("a :\r\n\0\t", 7);
  uint64_t seed = 42;
  const auto next = [&seed](uint64_t n) {
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    return (seed >> 33) % n;
  };
  for (int round = 0; round < 3000; ++round) {
    std::string data = next(2) == 0 ? "GET /" + std::string(next(40), 'p') + " HTTP/1.1\r\n" : "";
    for (uint64_t n = next(110), i = 0; i < n; ++i) {
      // Mostly plain bytes, so that lines grow to the limits.
      data += next(4) == 0 ? kBytes[next(kBytes.size())] : 'x';
      if (next(12) == 0) data += "\r\n";
    }
    if (next(2) == 0) data += "\r\n\r\n";
    RequestHeadScanner whole(kLimits);
    const State expected = whole.Scan(data);
    const auto same = [&](RequestHeadScanner& other, State state, std::string_view how) {
      ASSERT_EQ(state, expected) << how << " of " << testing::PrintToString(data);
      if (state == State::kRefused) {
        EXPECT_EQ(other.refusal(), whole.refusal()) << how;
      } else if (state == State::kComplete) {
        EXPECT_EQ(other.head_size(), whole.head_size()) << how;
      }
    };
    RequestHeadScanner trickled(kLimits);
    same(trickled, ScanByteByByte(trickled, data), "trickled");
    for (size_t cut = 1; cut < data.size(); ++cut) {
      RequestHeadScanner halves(kLimits);
      State state = halves.Scan(std::string_view(data).substr(0, cut));
      if (state == State::kNeedMore) state = halves.Scan(data);
      same(halves, state, "cut at " + std::to_string(cut));
    }
  }
}

TEST(RequestHeadScannerTest, RefusesFramingParsersDisagreeOn) {
  for (std::string_view bad : {
           std::string_view("GET / HTTP/1.1\nHost: x\r\n\r\n"),          // bare LF
           std::string_view("GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n"),  // bare CR
           std::string_view("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"),     // obs-fold
           std::string_view("GET / HTTP/1.1\r\n X: a\r\n\r\n"),          // leading whitespace
           std::string_view("\r\nGET / HTTP/1.1\r\n\r\n"),               // empty first line
           std::string_view(kWithNul, sizeof(kWithNul) - 1),
       }) {
    RequestHeadScanner scanner(kLimits);
    EXPECT_EQ(scanner.Scan(bad), State::kRefused) << bad;
    EXPECT_EQ(scanner.refusal(), Refusal::kBadRequest) << bad;
  }
}

TEST(CheckRequestFieldsTest, AcceptsPlainFraming) {
  auto length = CheckRequestFields(11, {{"Host", "x"}, {"Content-Length", "12"}}, 100);
  ASSERT_TRUE(length.has_value());
  EXPECT_FALSE(length->chunked);
  EXPECT_EQ(length->content_length, 12u);
  auto chunked = CheckRequestFields(11, {{"host", "x"}, {"transfer-encoding", "Chunked"}}, 100);
  ASSERT_TRUE(chunked.has_value());
  EXPECT_TRUE(chunked->chunked);
  EXPECT_TRUE(CheckRequestFields(10, {}, 100).has_value());
}

TEST(CheckRequestFieldsTest, RefusesSmugglingShapes) {
  const std::vector<Fields> bad = {
      {{"Host", "x"}, {"Content-Length", "1"}, {"Transfer-Encoding", "chunked"}},
      {{"Host", "x"}, {"Content-Length", "1"}, {"Content-Length", "1"}},
      {{"Host", "x"}, {"Content-Length", "1,1"}},
      {{"Host", "x"}, {"Content-Length", "-1"}},
      {{"Host", "x"}, {"Content-Length", "1234567890123456789"}},
      {{"Host", "x"}, {"Transfer-Encoding", "gzip, chunked"}},
      {{"Host", "x"}, {"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}},
      {{"Content-Length", "1"}},
      {{"Host", "a"}, {"Host", "b"}},
  };
  for (const Fields& fields : bad) {
    auto result = CheckRequestFields(11, fields, 100);
    ASSERT_FALSE(result.has_value()) << fields.back().first << ": " << fields.back().second;
    EXPECT_EQ(result.error(), Refusal::kBadRequest);
  }
  EXPECT_EQ(CheckRequestFields(10, {{"Transfer-Encoding", "chunked"}}, 100).error(),
            Refusal::kBadRequest);
}

// A Host value that is not host[:port] is refused (RFC 9112 section 3.2):
// a service building URLs from it would read a path, userinfo or a second
// host out of it. An empty one is allowed (a target without an authority).
TEST(CheckRequestFieldsTest, RefusesAHostThatIsNotHostAndPort) {
  for (const char* host :
       {"a/admin/x?", "u:p@evil", "a, b",     "a b",        "a#",          "[::1",   "a:99999",
        "a:80x",      "a:",       ":80",      "a%2e",       "a\\b",        "[v1.x]", "a:-1",
        ".",          "..",       ".example", "a..example", "a.example..", "a..:80"}) {
    auto result = CheckRequestFields(11, {{"Host", host}}, 100);
    ASSERT_FALSE(result.has_value()) << host;
    EXPECT_EQ(result.error(), Refusal::kBadRequest) << host;
  }
  for (const char* host :
       {"", "svc", "api.example.com:8443", "my_service:80", "[::1]:8080", "10.0.0.1",
        "xn--bcher-kva.example", "api.example.", "api.example.:8443"}) {
    EXPECT_TRUE(CheckRequestFields(11, {{"Host", host}}, 100).has_value()) << host;
  }
}

TEST(CheckRequestFieldsTest, RefusesVersionsSizesAndExpectations) {
  EXPECT_EQ(CheckRequestFields(20, {{"Host", "x"}}, 100).error(), Refusal::kVersionNotSupported);
  EXPECT_EQ(CheckRequestFields(9, {}, 100).error(), Refusal::kVersionNotSupported);
  EXPECT_EQ(CheckRequestFields(11, {{"Host", "x"}, {"Content-Length", "101"}}, 100).error(),
            Refusal::kContentTooLarge);
  EXPECT_EQ(CheckRequestFields(11, {{"Host", "x"}, {"Expect", "x"}}, 100).error(),
            Refusal::kExpectationFailed);
  auto expect = CheckRequestFields(11, {{"Host", "x"}, {"Expect", "100-Continue"}}, 100);
  ASSERT_TRUE(expect.has_value());
  EXPECT_TRUE(expect->expect_continue);
}

}  // namespace
}  // namespace bulwark::net

namespace bulwark::net {
namespace {

struct ParsedRequest {
  std::string method;
  std::string target;
  HeaderFields fields;
  std::expected<MessageHead, Refusal> head;
};

ParsedRequest Parse(std::string_view head) {
  ParsedRequest r;
  r.head = ParseRequestHead(head, r.method, r.target, r.fields);
  return r;
}

TEST(ParseRequestHeadTest, ReadsLineAndFieldsInArrivalOrder) {
  const ParsedRequest r =
      Parse("PATCH /a%20b?c=d HTTP/1.1\r\nX-B: 1\r\nHost:  h \t\r\nX-B: 2\r\nX-Empty:\r\n\r\n");
  ASSERT_TRUE(r.head.has_value());
  EXPECT_EQ(r.method, "PATCH");
  EXPECT_EQ(r.target, "/a%20b?c=d");
  EXPECT_EQ(r.head->version, 11);
  EXPECT_TRUE(r.head->keep_alive);
  EXPECT_EQ(r.fields, (Fields{{"X-B", "1"}, {"Host", "h"}, {"X-B", "2"}, {"X-Empty", ""}}));
}

TEST(ParseRequestHeadTest, KeepAliveFollowsVersionAndConnection) {
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nConnection: Upgrade, close\r\n\r\n").head->keep_alive);
  EXPECT_FALSE(Parse("GET / HTTP/1.0\r\n\r\n").head->keep_alive);
  EXPECT_TRUE(Parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").head->keep_alive);
  // Two Connection fields are one list: close anywhere closes.
  EXPECT_FALSE(Parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n")
                   .head->keep_alive);
}

TEST(ParseRequestHeadTest, RefusesWhatParsersCouldReadTwoWays) {
  for (const char* head : {
           "G(T / HTTP/1.1\r\n\r\n",                         // method not a token
           "GET  / HTTP/1.1\r\n\r\n",                        // two spaces
           "GET / HTTP/1.1 \r\n\r\n",                        // trailing space
           "GET / HTTP/11\r\n\r\n",                          // malformed version
           "GET /\x7f HTTP/1.1\r\n\r\n",                     // DEL in the target
           "GET / HTTP/1.1\r\nHost : x\r\n\r\n",             // space before the colon
           "GET / HTTP/1.1\r\n: x\r\n\r\n",                  // empty name
           "GET / HTTP/1.1\r\nX-A: a\x01b\r\n\r\n",          // control character
           "GET / HTTP/1.1\r\nConnection: close;x\r\n\r\n",  // not a token list
           "GET / HTTP/1.1\r\nX: a\nY: b\r\n\r\n",           // bare LF inside a line
       }) {
    const ParsedRequest r = Parse(head);
    ASSERT_FALSE(r.head.has_value()) << head;
    EXPECT_EQ(r.head.error(), Refusal::kBadRequest) << head;
  }
}

TEST(ParseResponseHeadTest, ReadsStatusAndFields) {
  const std::string data =
      "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno";
  const size_t size = ResponseHeadSize(data);
  ASSERT_EQ(size, data.size() - 2);
  HeaderFields fields;
  const auto head = ParseResponseHead(std::string_view(data).substr(0, size), fields);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 404);
  EXPECT_FALSE(head->keep_alive);
  EXPECT_EQ(fields, (Fields{{"Content-Length", "2"}, {"Connection", "close"}}));
  EXPECT_EQ(ResponseHeadSize("HTTP/1.1 200 OK\r\nX: y\r\n"), 0u);
  // No SP after the status when the reason is empty, as nginx and HAProxy
  // take it (RFC 9112 section 4 asks for one).
  HeaderFields bare;
  const auto no_reason = ParseResponseHead("HTTP/1.1 204\r\nX: y\r\n\r\n", bare);
  ASSERT_TRUE(no_reason.has_value());
  EXPECT_EQ(no_reason->status, 204);
  EXPECT_EQ(bare, (Fields{{"X", "y"}}));
}

// ResponseHeadSize looks at LFs sixteen bytes at a time: it must find the
// first "\r\n\r\n" wherever it falls, across and at the ends of blocks.
TEST(ResponseHeadSizeTest, FindsTheFirstEmptyLineWhereverItFalls) {
  uint64_t seed = 7;
  const auto next = [&seed](uint64_t n) {
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    return (seed >> 33) % n;
  };
  for (int round = 0; round < 20000; ++round) {
    std::string data(next(70), 'x');
    for (char& c : data) c = "x\r\n"[next(3)];
    const size_t end = std::string_view(data).find("\r\n\r\n");
    size_t bare = std::string_view::npos;  // the first LF with no CR before it
    for (size_t lf = data.find('\n'); lf != std::string::npos && bare == std::string::npos;
         lf = data.find('\n', lf + 1)) {
      if (lf == 0 || data[lf - 1] != '\r') bare = lf;
    }
    const size_t want = bare < end ? kBareLineFeed : end == std::string_view::npos ? 0 : end + 4;
    EXPECT_EQ(ResponseHeadSize(data), want) << data.size();
  }
}

TEST(ParseResponseHeadTest, RefusesMalformedHeads) {
  for (const char* head : {
           "HTTP/1.1 2000\r\n\r\n",                  // four digits
           "HTTP/1.1 200\tOK\r\n\r\n",               // a tab for the SP
           "HTTP/1.1 600 Big\r\n\r\n",               // above 599
           "HTTP/1.1 999 Odd\r\n\r\n",               // above 599
           "HTTP/2.0 200 OK\r\n\r\n",                // not HTTP/1.x
           "HTTP/1.1 20 OK\r\n\r\n",                 // two digits
           "HTTP/1.1 099 Low\r\n\r\n",               // below 100
           "HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",  // obs-fold
           "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",    // not a field
           "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",     // bare CR
       }) {
    HeaderFields fields;
    EXPECT_FALSE(ParseResponseHead(head, fields).has_value()) << head;
    FieldViews views;
    EXPECT_FALSE(ParseResponseHead(head, views).has_value()) << head;
  }
}

TEST(ResponseHeadSizeTest, ABareLineFeedBeforeTheEndIsSaid) {
  EXPECT_EQ(ResponseHeadSize("HTTP/1.1 200 OK\nContent-Length: 2\n\nok"), kBareLineFeed);
  EXPECT_EQ(ResponseHeadSize("HTTP/1.1 200 OK\r\nX: y\n"), kBareLineFeed);
  EXPECT_EQ(ResponseHeadSize("\n"), kBareLineFeed);
  EXPECT_EQ(ResponseHeadSize("HTTP/1.1 200 OK\r\nX: y\r\n"), 0u);
  EXPECT_EQ(ResponseHeadSize("HTTP/1.1 200 OK\r"), 0u);
  // A body's bare LFs after the head are not looked at.
  EXPECT_EQ(ResponseHeadSize("HTTP/1.1 200 OK\r\n\r\na\nb"), 19u);
}

// The view form reads the same fields, trimmed the same way, as the copying
// form, and starts afresh on each head.
TEST(ParseResponseHeadTest, ViewsAreTheSameFields) {
  const std::string head =
      "HTTP/1.0 200 OK\r\nServer:  s \r\nX-Empty:\r\nConnection: keep-alive\r\n\r\n";
  HeaderFields copied;
  const auto a = ParseResponseHead(head, copied);
  FieldViews views{{"stale", "field"}};
  const auto b = ParseResponseHead(head, views);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(a->status, b->status);
  EXPECT_EQ(a->version, b->version);
  EXPECT_EQ(a->keep_alive, b->keep_alive);
  ASSERT_EQ(views.size(), copied.size());
  for (size_t i = 0; i < views.size(); ++i) {
    EXPECT_EQ(views[i].first, copied[i].first);
    EXPECT_EQ(views[i].second, copied[i].second);
  }
}

// A proxy passes on every field but those of its hop: the hop-by-hop ones,
// whatever a Connection field names (in any case, from any of several
// Connection fields, even more names than fit the fast path), and the
// framing it replaces. Date is the caller's to drop. Order and repeats are
// kept.
TEST(AppendPassOnFieldsTest, DropsThisHopsFieldsAndKeepsTheRest) {
  std::string head =
      "HTTP/1.1 200 OK\r\nX-A: 1\r\nConnection: close, x-named\r\nkeep-alive: t=5\r\n"
      "X-Named: secret\r\nTE: trailers\r\nTrailer: X\r\nTransfer-Encoding: chunked\r\n"
      "Upgrade: h2c\r\nProxy-Connection: x\r\nContent-Length: 2\r\nDATE: now\r\n"
      "Set-Cookie: a\r\nSet-Cookie: b\r\nConnection: Other\r\nother: o\r\nX-B:\t2\r\n\r\n";
  FieldViews fields;
  ASSERT_TRUE(ParseResponseHead(head, fields).has_value());
  std::string out = "kept\r\n";
  AppendPassOnFields(fields, out);
  EXPECT_EQ(out, "kept\r\nX-A: 1\r\nDATE: now\r\nSet-Cookie: a\r\nSet-Cookie: b\r\nX-B: 2\r\n");

  std::string many = "HTTP/1.1 200 OK\r\nConnection: ";
  for (int i = 0; i < 40; ++i) many += (i ? ", n" : "n") + std::to_string(i);
  many += "\r\n";
  for (int i = 0; i < 40; ++i) many += "N" + std::to_string(i) + ": v\r\n";
  many += "Kept: k\r\n\r\n";
  ASSERT_TRUE(ParseResponseHead(many, fields).has_value());
  out.clear();
  AppendPassOnFields(fields, out);
  EXPECT_EQ(out, "Kept: k\r\n");

  // Past the fast path the names are searched in order: names that share a
  // start, or differ in case only, or come twice, are each found or not.
  std::string shared = "HTTP/1.1 200 OK\r\nConnection: ";
  for (int i = 0; i < 20; ++i) shared += "pad" + std::to_string(i) + ", ";
  shared +=
      "X-A, x-ab, X-AB, Z\r\nx-a: 1\r\nX-Ab: 2\r\nx-abc: kept\r\nx-: kept\r\nz: 3\r\n"
      "PAD7: 4\r\nY: kept\r\n\r\n";
  ASSERT_TRUE(ParseResponseHead(shared, fields).has_value());
  out.clear();
  AppendPassOnFields(fields, out);
  EXPECT_EQ(out, "x-abc: kept\r\nx-: kept\r\nY: kept\r\n");
}

}  // namespace
}  // namespace bulwark::net

namespace bulwark::net {
namespace {

// Every byte value at every position of a long value (the vector path) and
// of a short one (the byte path): control characters but HTAB, and DEL, are
// refused; everything else, obs-text included, is accepted.
TEST(IsFieldValueTest, JudgesEveryByteAtEveryPosition) {
  // Under 8: bytes; 8 to 15: two overlapping words; 16 and 32: whole
  // vectors only; 17 and 40: a last vector that overlaps.
  for (size_t size : {1u, 5u, 7u, 8u, 9u, 15u, 16u, 17u, 32u, 40u}) {
    for (size_t at = 0; at < size; ++at) {
      for (int b = 0; b < 256; ++b) {
        std::string value(size, 'a');
        value[at] = static_cast<char>(b);
        const bool valid = b == '\t' || (b >= 0x20 && b != 0x7f);
        ASSERT_EQ(IsFieldValue(value), valid) << "byte " << b << " at " << at << " of " << size;
      }
    }
  }
  EXPECT_TRUE(IsFieldValue(""));
}

}  // namespace
}  // namespace bulwark::net

namespace bulwark::net {
namespace {

// Every pair of byte values at every position, for sizes on both sides of
// the four- and eight-byte words the comparison works in: equal exactly when the bytes
// are equal or are the same ASCII letter in two cases.
TEST(EqualsIgnoreCaseTest, AgreesWithAByteByByteComparisonForEveryPair) {
  const auto lower = [](int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; };
  for (size_t size : {1u, 3u, 4u, 5u, 7u, 8u, 9u, 12u, 16u, 17u, 19u}) {
    for (size_t at = 0; at < size; ++at) {
      for (int x = 0; x < 256; ++x) {
        for (int y = 0; y < 256; ++y) {
          std::string a(size, 'k');
          std::string b(size, 'K');
          a[at] = static_cast<char>(x);
          b[at] = static_cast<char>(y);
          ASSERT_EQ(EqualsIgnoreCase(a, b), lower(x) == lower(y))
              << x << " vs " << y << " at " << at << " of " << size;
        }
      }
    }
  }
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_FALSE(EqualsIgnoreCase("Content-Length", "Content-Lengt"));
  EXPECT_TRUE(EqualsIgnoreCase("TRANSFER-ENCODING", "transfer-encoding"));
}

TEST(HasFieldLineTest, FindsANameInAnyCaseOnAnyLineAndNothingElse) {
  const std::string lines = "Server: x\r\nx-request-id: a\r\nX-Other: X-Request-Id: b\r\n";
  EXPECT_TRUE(HasFieldLine(lines, "X-Request-Id"));
  EXPECT_TRUE(HasFieldLine(lines, "server"));
  EXPECT_TRUE(HasFieldLine(lines, "X-OTHER"));
  EXPECT_FALSE(HasFieldLine(lines, "X-Request"));                              // a prefix of a name
  EXPECT_FALSE(HasFieldLine(lines, "Request-Id"));                             // a suffix of one
  EXPECT_FALSE(HasFieldLine("X-Other: X-Request-Id: b\r\n", "X-Request-Id"));  // in a value
  EXPECT_FALSE(HasFieldLine("", "X-Request-Id"));
  EXPECT_FALSE(HasFieldLine("X-Request-Id", "X-Request-Id"));  // no colon
}

TEST(FieldLineValueTest, TheFirstLineOfTheNameAndOnlyItsValue) {
  const std::string lines = "Server: x\r\nretry-after: 120\r\nRetry-After: 5\r\nX-Empty:\r\n";
  EXPECT_EQ(FieldLineValue(lines, "Retry-After"), "120");
  EXPECT_EQ(FieldLineValue(lines, "SERVER"), "x");
  EXPECT_EQ(FieldLineValue(lines, "X-Empty"), "");
  EXPECT_EQ(FieldLineValue("A:  b c \t", "a"), "b c");  // a last line without its CRLF
  EXPECT_FALSE(FieldLineValue(lines, "Retry").has_value());
  EXPECT_FALSE(FieldLineValue("X-Other: Retry-After: 1\r\n", "Retry-After").has_value());
  EXPECT_FALSE(FieldLineValue("", "Retry-After").has_value());
}

TEST(FieldLinesTest, EraseByNameAndTellPrefixInAnyCase) {
  std::string lines;
  AppendFieldLine(lines, "X-Bulwark-Identity", "t");
  AppendFieldLine(lines, "x-bulwark-subject", "root");
  AppendFieldLine(lines, "X-Bulwarkish", "kept");
  EraseFieldLines(lines, "x-bulwark-SUBJECT");
  EXPECT_EQ(lines, "X-Bulwark-Identity: t\r\nX-Bulwarkish: kept\r\n");
  EXPECT_TRUE(HasPrefixIgnoringCase("x-BULWARK-subject", "X-Bulwark-"));
  EXPECT_FALSE(HasPrefixIgnoringCase("X-Bulwarkish", "X-Bulwark-"));
  EXPECT_FALSE(HasPrefixIgnoringCase("X-Bulwark", "X-Bulwark-"));
}

}  // namespace
}  // namespace bulwark::net

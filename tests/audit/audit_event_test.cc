#include "audit/audit_event.h"

#include "core/log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "audit_test_util.h"

namespace bulwark::audit {
namespace {

using std::chrono::microseconds;
using std::chrono::nanoseconds;
using std::chrono::system_clock;
using testing::ParseObject;
using testing::SampleEvent;
using testing::Str;

std::string Line(const AuditEvent& e) {
  std::string out;
  AppendJsonLine(e, out);
  return out;
}

TEST(AuditEventTest, SerializesAllFieldsInFixedOrderOnOneLine) {
  EXPECT_EQ(Line(SampleEvent()),
            R"({"time":"2023-11-14T22:13:20.123456Z","request_id":"req-1",)"
            R"("subject":"user:alice","issuer":"https://issuer.example","credential_kind":"jwt",)"
            R"("action":"GET","resource":"/v1/documents/42","route":"documents",)"
            R"("host":"api.example.com","client_ip":"203.0.113.7","decision":"deny",)"
            R"("status":403,"reason":"missing scope documents:read","latency_us":1234})"
            "\n");
}

// A line is written in one of two ways, in place when no string needs
// escaping and field by field when one does: both give the same line.
TEST(AuditEventTest, OneStringNeedingEscapesChangesOnlyThatString) {
  using Field = std::string AuditEvent::*;
  for (Field field :
       {&AuditEvent::request_id, &AuditEvent::subject, &AuditEvent::issuer,
        &AuditEvent::credential_kind, &AuditEvent::action, &AuditEvent::resource,
        &AuditEvent::route, &AuditEvent::host, &AuditEvent::client_ip, &AuditEvent::reason}) {
    AuditEvent e = SampleEvent();
    e.status = std::numeric_limits<int>::min();
    e.latency = microseconds(std::numeric_limits<int64_t>::min());
    e.*field = "MARK";
    std::string expected = Line(e);
    expected.replace(expected.find("MARK"), 4, R"(a\"b\n)");
    e.*field = "a\"b\n";
    EXPECT_EQ(Line(e), expected);
  }
}

TEST(AuditEventTest, AppendsToExistingText) {
  std::string out = "prefix\n";
  AppendJsonLine(SampleEvent("a"), out);
  AppendJsonLine(SampleEvent("b"), out);
  auto lines = testing::SplitLines(out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "prefix");
  EXPECT_EQ(Str(ParseObject(lines[1]), "request_id"), "a");
  EXPECT_EQ(Str(ParseObject(lines[2]), "request_id"), "b");
}

TEST(AuditEventTest, AllFieldsRoundTripThroughJson) {
  AuditEvent e = SampleEvent();
  e.decision = AuditDecision::kAllow;
  e.status = 200;
  e.latency = microseconds(987'654'321);
  boost::json::object o = ParseObject(Line(e));
  ASSERT_EQ(o.size(), 14u);
  EXPECT_EQ(Str(o, "time"), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(Str(o, "request_id"), e.request_id);
  EXPECT_EQ(Str(o, "subject"), e.subject);
  EXPECT_EQ(Str(o, "issuer"), e.issuer);
  EXPECT_EQ(Str(o, "credential_kind"), e.credential_kind);
  EXPECT_EQ(Str(o, "action"), e.action);
  EXPECT_EQ(Str(o, "resource"), e.resource);
  EXPECT_EQ(Str(o, "route"), e.route);
  EXPECT_EQ(Str(o, "host"), e.host);
  EXPECT_EQ(Str(o, "client_ip"), e.client_ip);
  EXPECT_EQ(Str(o, "decision"), "allow");
  EXPECT_EQ(o.at("status").as_int64(), 200);
  EXPECT_EQ(Str(o, "reason"), e.reason);
  EXPECT_EQ(o.at("latency_us").as_int64(), 987'654'321);
}

TEST(AuditEventTest, FormatsTimeAsRfc3339UtcWithMicroseconds) {
  AuditEvent e = SampleEvent();
  auto time_of = [&](system_clock::time_point t) {
    e.time = t;
    return Str(ParseObject(Line(e)), "time");
  };
  EXPECT_EQ(time_of(system_clock::time_point{}), "1970-01-01T00:00:00.000000Z");
  // Sub-microsecond digits are truncated, not rounded.
  EXPECT_EQ(time_of(system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(
                nanoseconds(1'700'000'000'999'999'999)))),
            "2023-11-14T22:13:20.999999Z");
  EXPECT_EQ(time_of(system_clock::time_point(microseconds(-1))), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(time_of(system_clock::time_point(std::chrono::seconds(951'782'400))),
            "2000-02-29T00:00:00.000000Z");
}

TEST(AuditEventTest, HostileStringsKeepOneEventPerLineAndParseBack) {
  const std::string hostile[] = {
      "a\r\nb",
      std::string("nul\0byte", 8),
      "quote\"back\\slash",
      "line\xe2\x80\xa8sep\xe2\x80\xa9para",
      "nel\xc2\x85tab\tesc\x1b[31mdel\x7f",
      "rtl\xe2\x80\xaeoverride\xe2\x81\xa6isolate",
      "/x\"}\n{\"decision\":\"allow\"",
  };
  for (const std::string& s : hostile) {
    AuditEvent e = SampleEvent();
    e.request_id = e.subject = e.issuer = e.credential_kind = e.action = e.resource = e.route =
        e.host = e.client_ip = e.reason = s;
    std::string line = Line(e);
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\r'), std::string::npos);
    EXPECT_EQ(line.find('\0'), std::string::npos);
    EXPECT_EQ(line.find("\xe2\x80\xa8"), std::string::npos);
    EXPECT_EQ(line.find("\xc2\x85"), std::string::npos);
    EXPECT_EQ(line.find("\xe2\x80\xae"), std::string::npos);
    boost::json::object o = ParseObject(line);
    ASSERT_EQ(o.size(), 14u) << line;
    for (const char* key : {"request_id", "subject", "issuer", "credential_kind", "action",
                            "resource", "route", "host", "client_ip", "reason"}) {
      EXPECT_EQ(Str(o, key), s) << key;
    }
    EXPECT_EQ(Str(o, "decision"), "deny");
  }
}

TEST(AuditEventTest, InjectedJsonSyntaxCannotAddOrOverrideFields) {
  AuditEvent e = SampleEvent();
  e.resource = R"(/a","decision":"allow","status":200,"x":")";
  boost::json::object o = ParseObject(Line(e));
  ASSERT_EQ(o.size(), 14u);
  EXPECT_EQ(Str(o, "resource"), e.resource);
  EXPECT_EQ(Str(o, "decision"), "deny");
  EXPECT_EQ(o.at("status").as_int64(), 403);
  EXPECT_FALSE(o.contains("x"));
}

TEST(AuditEventTest, ReplacesEachInvalidUtf8ByteWithReplacementCharacter) {
  AuditEvent e = SampleEvent();
  // A stray continuation byte, an invalid lead byte, an overlong '/', a UTF-16
  // surrogate, a code point past U+10FFFF and a truncated sequence.
  e.resource = "/\x80|\xff|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82";
  std::string line = Line(e);
  // Boost.JSON rejects invalid UTF-8, so parsing at all proves it is gone.
  boost::json::object o = ParseObject(line);
  ASSERT_EQ(o.size(), 14u) << line;
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(Str(o, "resource"),
            "/" + r + "|" + r + "|" + r + r + "|" + r + r + r + "|" + r + r + r + r + "|" + r + r);
}

// A client chooses the path and Host: of kilobytes, each byte escaped six
// times over, they would make lines of tens of kilobytes that fill the
// disk and the queue. Each string is cut after kMaxFieldBytes, between two
// characters, and marked; one of exactly that length is kept whole.
TEST(AuditEventTest, CutsLongStringsBetweenCharactersAndMarksThem) {
  AuditEvent e = SampleEvent();
  e.resource = "/" + std::string(8000, '\xff');
  e.host = std::string(7000, 'a');
  e.subject =
      std::string(kMaxFieldBytes - 1, 'x') + "\xc3\xa9" + std::string(50, 'y');  // é on the cut
  e.reason = std::string(kMaxFieldBytes, 'r');
  const std::string line = Line(e);
  EXPECT_LT(line.size(), 3 * 6 * kMaxFieldBytes);
  boost::json::object o = ParseObject(line);
  ASSERT_EQ(o.size(), 14u);
  const std::string r = "\xef\xbf\xbd";
  std::string want_resource = "/";
  for (size_t i = 1; i < kMaxFieldBytes; ++i) want_resource += r;
  EXPECT_EQ(Str(o, "resource"), want_resource + std::string(kTruncatedMark));
  EXPECT_EQ(Str(o, "host"), std::string(kMaxFieldBytes, 'a') + std::string(kTruncatedMark));
  EXPECT_EQ(Str(o, "subject"), std::string(kMaxFieldBytes - 1, 'x') + std::string(kTruncatedMark));
  EXPECT_EQ(Str(o, "reason"), e.reason);
  // The same on the path for strings that need no escape.
  AuditEvent plain = SampleEvent();
  plain.resource = "/" + std::string(5000, 'p');
  EXPECT_EQ(Str(ParseObject(Line(plain)), "resource"),
            "/" + std::string(kMaxFieldBytes - 1, 'p') + std::string(kTruncatedMark));
}

TEST(AuditEventTest, KeepsValidMultibyteUtf8Unescaped) {
  AuditEvent e = SampleEvent();
  e.subject =
      "\xc3\xa9l\xc3\xa8ve \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82";  // "élève 日本 🙂"
  std::string line = Line(e);
  EXPECT_NE(line.find(e.subject), std::string::npos);
  EXPECT_EQ(Str(ParseObject(line), "subject"), e.subject);
}

TEST(AuditEventTest, EscapesLineSeparatorsAsUnicodeEscapes) {
  std::string out;
  log::AppendJsonString(out,
                        "a\xe2\x80\xa8"
                        "b\xc2\x85"
                        "c\x01");
  EXPECT_EQ(out, R"("a\u2028b\u0085c\u0001")");
}

TEST(AuditEventTest, NamesDecisions) {
  EXPECT_EQ(AuditDecisionName(AuditDecision::kAllow), "allow");
  EXPECT_EQ(AuditDecisionName(AuditDecision::kDeny), "deny");
}

}  // namespace
}  // namespace bulwark::audit

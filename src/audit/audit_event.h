// AuditEvent: the record of one access decision (who, what, when, from where,
// with which outcome), and its JSON-lines serialization.
//
// What an event carries is chosen so that it can be kept and shipped without
// becoming a secret itself: there is no field for a token, an API key, a
// password, a cookie or a header value, and none may be added. Credentials are
// identified by what authentication established (subject, issuer, kind),
// never by their bytes.
#ifndef BULWARK_AUDIT_AUDIT_EVENT_H_
#define BULWARK_AUDIT_AUDIT_EVENT_H_

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace bulwark::audit {

enum class AuditDecision { kAllow, kDeny };

// "allow" or "deny".
std::string_view AuditDecisionName(AuditDecision decision);

// One decision of the gateway (or any policy enforcement point). A plain value:
// cheap to move, no invariants. Strings may hold anything a client sent (the
// path, the host): the serializer, not the producer, makes them safe.
struct AuditEvent {
  std::chrono::system_clock::time_point time;  // when the decision was made
  std::string request_id;
  std::string subject;          // the principal's subject, "" when anonymous
  std::string issuer;           // who vouched for the subject, "" if none
  std::string credential_kind;  // "jwt", "api_key", "mtls", "" when anonymous
  std::string action;           // the HTTP method
  std::string resource;         // the normalized request path
  std::string route;            // the name of the matched route, "" if none
  std::string host;
  std::string client_ip;
  AuditDecision decision = AuditDecision::kDeny;
  int status = 0;  // the HTTP status returned to the client
  std::string reason;
  std::chrono::microseconds latency{0};  // time spent deciding (and proxying, if measured)
};

// An AuditEvent whose strings are borrowed: what a producer on the request
// path hands the AuditQueue, which serializes it into a line it keeps for
// reuse, so that no event is built, moved and freed per request.
struct AuditEventView {
  std::chrono::system_clock::time_point time;
  std::string_view request_id;
  std::string_view subject;
  std::string_view issuer;
  std::string_view credential_kind;
  std::string_view action;
  std::string_view resource;
  std::string_view route;
  std::string_view host;
  std::string_view client_ip;
  AuditDecision decision = AuditDecision::kDeny;
  int status = 0;
  std::string_view reason;
  std::chrono::microseconds latency{0};
};

// A view of `event`, valid while it lives.
AuditEventView ViewOf(const AuditEvent& event);

// Appends `event` to `out` as one JSON object followed by "\n":
//
//   {"time":"2023-11-14T22:13:20.123456Z","request_id":"...","subject":"...",
//    "issuer":"...","credential_kind":"...","action":"GET","resource":"/a",
//    "route":"...","host":"...","client_ip":"...","decision":"deny",
//    "status":403,"reason":"...","latency_us":1234}
//
// Keys always appear, in this order. `time` is RFC 3339 in UTC with exactly
// six fractional digits. Every string is escaped so that the result is valid
// JSON on exactly one line whatever the input holds: quotes, backslashes and
// C0/C1 control characters (CR, LF, NUL, ESC, NEL, ...) are escaped, as are
// U+2028/U+2029 (line breaks to JavaScript and some log viewers) and the
// bidirectional-override controls; each byte that is not part of valid UTF-8
// becomes U+FFFD. A hostile value can thus neither split a line nor add a
// field. Nor can it make the line long: a string of more than
// kMaxFieldBytes bytes (a path or Host of kilobytes, each byte of it
// escaped six times over) is cut there, where no character is split, and
// ends with kTruncatedMark. Thread-safe (pure function).
inline constexpr size_t kMaxFieldBytes = 1024;
inline constexpr std::string_view kTruncatedMark = "...[truncated]";
void AppendJsonLine(const AuditEventView& event, std::string& out);
inline void AppendJsonLine(const AuditEvent& event, std::string& out) {
  AppendJsonLine(ViewOf(event), out);
}

}  // namespace bulwark::audit

#endif  // BULWARK_AUDIT_AUDIT_EVENT_H_

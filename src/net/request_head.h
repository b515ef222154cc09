// The checks on a request head that Beast's parser does not make, or makes
// differently from what a zero-trust front door needs. Internal to net/, free
// of Boost so that a fuzz target and unit tests can drive it directly.
//
// RequestHeadScanner looks at the raw bytes before any parser: it tells an
// over-long request line (414) from an over-large header section (431), which
// Beast lumps into one header_limit, and refuses line framing that parsers
// disagree on (bare LF, bare CR, obs-fold, NUL); it also answers a well-formed
// version other than HTTP/1.0 and 1.1 with 505, where Beast's parser only
// reports a malformed request line. CheckRequestFields then looks
// at the parsed fields for what request smuggling rides on.
#ifndef BULWARK_NET_REQUEST_HEAD_H_
#define BULWARK_NET_REQUEST_HEAD_H_

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bulwark::net {

// Why a request is refused before the handler; the value is the HTTP status.
enum class Refusal : int {
  kBadRequest = 400,
  kContentTooLarge = 413,
  kUriTooLong = 414,
  kExpectationFailed = 417,
  // A TLS connection's client certificate no longer stands: a certificate of
  // its chain has expired, or the CA bundle or CRL has changed, since the
  // handshake. The client may send the request again on a new connection
  // (RFC 9110 section 15.5.20), whose handshake verifies its chain now.
  kMisdirectedRequest = 421,
  kHeaderFieldsTooLarge = 431,
  kNotImplemented = 501,
  kVersionNotSupported = 505,
};

struct RequestHeadLimits {
  size_t max_request_line;  // bytes, excluding CRLF
  size_t max_header_bytes;  // field lines with their CRLFs, excluding the final empty line
  size_t max_header_count;
};

// The most bytes a head within `limits` can occupy.
size_t MaxRequestHeadBytes(const RequestHeadLimits& limits);

// Scans one request head incrementally as its bytes arrive. Not thread-safe;
// one scanner per message.
class RequestHeadScanner {
 public:
  enum class State { kNeedMore, kComplete, kRefused };

  explicit RequestHeadScanner(RequestHeadLimits limits) : limits_(limits) {}

  // `data` holds every byte received for this message so far, starting with
  // its first; each call passes the same bytes plus whatever arrived since.
  // Work is linear in the total size: lines already scanned are not rescanned.
  // kComplete: head_size() bytes of `data` are the head (through the empty
  // line). kRefused: refusal() says why; the scanner is done.
  State Scan(std::string_view data);

  size_t head_size() const { return head_size_; }
  Refusal refusal() const { return refusal_; }

 private:
  State Refuse(Refusal r);

  RequestHeadLimits limits_;
  State state_ = State::kNeedMore;
  size_t line_start_ = 0;  // first byte of the line being scanned
  size_t searched_ = 0;    // bytes of that line already searched for LF
  size_t fields_start_ = 0;
  size_t field_count_ = 0;
  bool in_fields_ = false;
  size_t head_size_ = 0;
  Refusal refusal_ = Refusal::kBadRequest;
};

// Header fields as (name, value): names as sent, values without the
// whitespace around them.
using HeaderFields = std::vector<std::pair<std::string, std::string>>;

// What a message's start line and Connection fields say besides the fields.
struct MessageHead {
  int version = 11;        // 10 * major + minor
  int status = 0;          // responses only
  bool keep_alive = true;  // as the version, Connection (and HTTP/1.0's Transfer-Encoding) say
};

// Parses a request head that RequestHeadScanner accepted (`head` is exactly
// its head_size() bytes), appending its fields to `fields`. Accepts what
// Beast's request parser accepts (fuzz/http_head_fuzzer compares the two):
// method a token, a target of visible characters or obs-text, `HTTP/D.D`,
// fields `token ":" OWS value OWS` with no control character but HTAB in the
// value, Connection and Proxy-Connection values lists of tokens. 400 for
// anything else.
std::expected<MessageHead, Refusal> ParseRequestHead(std::string_view head, std::string& method,
                                                     std::string& target, HeaderFields& fields);

// The size of the response head at the start of `data` (through its empty
// line), 0 if it has not all arrived, or kBareLineFeed if an LF that no CR
// comes before is met first: a head that ends its lines so never ends.
size_t ResponseHeadSize(std::string_view data);
inline constexpr size_t kBareLineFeed = static_cast<size_t>(-1);

// Parses a response head (`head` is exactly ResponseHeadSize bytes):
// `HTTP/1.0` or `HTTP/1.1`, a status from 100 to 599, SP and a reason of text; lines
// ending in CRLF, no obs-fold, fields as for requests. nullopt if malformed.
std::optional<MessageHead> ParseResponseHead(std::string_view head, HeaderFields& fields);

// Fields as views into the head they came from.
using FieldViews = std::vector<std::pair<std::string_view, std::string_view>>;

// The same, with the fields as views into `head` (`fields` cleared first):
// nothing copied, for a head that is passed on.
std::optional<MessageHead> ParseResponseHead(std::string_view head, FieldViews& fields);

// True for a field of one hop, which a proxy never passes on: Connection,
// Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade (RFC
// 9110 section 7.6.1), and Content-Length, which the proxy's own framing
// replaces.
bool IsHopByHopField(std::string_view name);

// Removes the spaces and tabs (OWS) at the ends of `s`.
inline void TrimOws(std::string_view& s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
}

// Calls `f` with each element of the comma-separated `list` (a field value
// such as Connection's; empty elements too), without the whitespace around
// it, until `f` returns true; true if it did.
template <class F>
bool AnyListElement(std::string_view list, F&& f) {
  for (;;) {
    const size_t comma = list.find(',');
    std::string_view element = list.substr(0, comma);
    TrimOws(element);
    if (f(element)) return true;
    if (comma == std::string_view::npos) return false;
    list.remove_prefix(comma + 1);
  }
}

// True if the comma-separated `list` (a field value such as Connection's or
// Upgrade's) has an element equal to `token` in any case, optional
// whitespace around elements ignored.
bool ListHasToken(std::string_view list, std::string_view token);

// Appends `name: value` and CRLF to `out`.
void AppendFieldLine(std::string& out, std::string_view name, std::string_view value);

// True if `lines` (AppendFieldLine lines) hold a field named `name`, in any
// case.
bool HasFieldLine(std::string_view lines, std::string_view name);

// The value of the first field named `name` in `lines` (AppendFieldLine
// lines), in any case, without the whitespace around it; nullopt if none
// is.
std::optional<std::string_view> FieldLineValue(std::string_view lines, std::string_view name);

// Appends to `out`, as AppendFieldLine lines, the fields a proxy passes on
// (request or response): all but those of IsHopByHopField and every field a
// Connection field names. Fields the caller replaces with its own it drops
// from `fields` first.
void AppendPassOnFields(const FieldViews& fields, std::string& out);

// Removes from `lines` (AppendFieldLine lines) every field named `name`, in
// any case.
void EraseFieldLines(std::string& lines, std::string_view name);

// How a request's body is framed, as its fields say.
struct BodyFraming {
  bool chunked = false;
  uint64_t content_length = 0;  // meaningful when !chunked
  bool expect_continue = false;
};

// Checks the parsed header fields of a request: `version` is 10 * major +
// minor, `fields` are (name, value) with values trimmed. Refuses (see the
// table in http_server.h): 505 for versions other than 1.0 and 1.1; 400 for
// Transfer-Encoding other than exactly one `chunked` (or any in HTTP/1.0),
// for Content-Length with Transfer-Encoding, more than one Content-Length or
// one that is not 1*DIGIT, HTTP/1.1 without exactly one Host, two Hosts in
// HTTP/1.0; 413 for Content-Length over `max_body_bytes`; 417 for an Expect
// other than 100-continue.
std::expected<BodyFraming, Refusal> CheckRequestFields(
    int version, const std::vector<std::pair<std::string, std::string>>& fields,
    uint64_t max_body_bytes);

// ASCII case-insensitive equality of two strings of the same size.
bool EqualsIgnoreCaseSameSize(std::string_view a, std::string_view b);

// ASCII case-insensitive equality, as field names and tokens compare. Inline:
// most calls compare a field name with a literal of another length or first
// letter. (Bytes equal but for case differ at most in bit 5.)
[[gnu::always_inline]] inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && (a.empty() || ((a[0] ^ b[0]) & ~0x20) == 0) &&
         EqualsIgnoreCaseSameSize(a, b);
}

// Whether `name` starts with `prefix`, ASCII letters in any case.
inline bool HasPrefixIgnoringCase(std::string_view name, std::string_view prefix) {
  return name.size() >= prefix.size() &&
         EqualsIgnoreCaseSameSize(name.substr(0, prefix.size()), prefix);
}

// True if `s` is a token (RFC 9110 section 5.6.2): a field name, a method.
bool IsToken(std::string_view s);

// True if `s`, what follows a chunk's size on its line (up to the CRLF), is
// RFC 9112's chunk-ext: `;name` or `;name=value` pairs, a value a token or a
// quoted-string, with blanks around `;` and `=`. A quoted value of a control
// character (a bare LF, NUL) is refused: a proxy in front that ended the
// line at that LF would see the chunks start elsewhere than Bulwark does.
bool IsChunkExtensions(std::string_view s);

// True if `s` may be a field value: no control character but HTAB, no DEL.
bool IsFieldValue(std::string_view s);

// The token of an `Authorization: Bearer <token>` value (RFC 6750 section
// 2.1; scheme case-insensitive, spaces around the token). nullopt if the
// value is another scheme or malformed: a token of other than the b64token
// characters (a tab, a comma, a quote, `=` before its end).
std::optional<std::string_view> BearerToken(std::string_view authorization);

// True if a Content-Type value names application/json (parameters such as
// charset ignored).
bool IsJsonContentType(std::string_view content_type);

}  // namespace bulwark::net

#endif  // BULWARK_NET_REQUEST_HEAD_H_

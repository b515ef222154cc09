// Normalization of an HTTP request-target, so that the gateway routes,
// authorizes and forwards one and the same path. Boost-free and pure, so that
// a fuzz target and unit tests can drive it directly.
//
// A path rule is only as good as the agreement between the path the rule was
// checked against and the path the service finally serves. Every difference
// between two parsers (`/%2e%2e/admin`, `//admin`, `/admin%2f..`, `\..\`,
// overlong UTF-8, `/public/..;/admin`) is a way around the rule. So the
// gateway normalizes once, refuses what it cannot normalize without guessing,
// and forwards exactly what it checked.
//
// What NormalizeRequestTarget does, in order (RFC 9112 3.2; RFC 3986 2.3,
// 2.4, 5.2.4 and 6.2.2):
//   1. Form. Origin-form (`/path?query`) is the normal case. Absolute-form
//      (`http://host/path?query`) is accepted, as RFC 9112 3.2.2 requires of
//      servers, and reduced to its path and query; its scheme and authority
//      are returned, and the caller must use that authority in place of the
//      Host field (RFC 9112 3.2.2), or route on one host and forward to
//      another. Asterisk-form (`*`) is accepted only when the caller, having
//      seen an OPTIONS request, allows it. Authority-form (`host:443`, for
//      CONNECT) and anything else are refused.
//   2. Bytes. A request-target is printable ASCII: refused anywhere are `#`
//      (a fragment is never sent), NUL, control characters (< 0x20, 0x7F),
//      space and bytes >= 0x80. In the path, also a raw backslash and any
//      other character outside RFC 3986 `pchar` and `/` (`"`, `<`, `>`, `[`,
//      `]`, `^`, `` ` ``, `{`, `|`, `}`). The query is not otherwise checked.
//   3. Percent-encoding. A `%` must start `%XX` with two hex digits. Escapes
//      of unreserved characters (ALPHA DIGIT - . _ ~) are decoded; the others
//      are kept, with upper-case hex (`%3b` -> `%3B`). Refused: `%00` and
//      other encoded control characters, `%2F` (encoded slash), `%5C`
//      (encoded backslash) and `%3B` (encoded semicolon) unless the options
//      allow them, in which case they stay encoded and are never segment
//      separators or parameter marks; and escapes that do
//      not decode to valid UTF-8 (overlong forms such as `%C0%AF`,
//      surrogates such as `%ED%A0%80`, truncated or stray bytes, code points
//      above U+10FFFF).
//   4. Segments. Dot-segments (`.` and `..`, also when spelled `%2e`, `.%2E`,
//      ...) are removed as in RFC 3986 5.2.4; `..` never climbs above the
//      root (`/../x` -> `/x`). A `.` or `..` carrying path parameters
//      (`..;`, `.;x`) is refused: Tomcat, Jetty and Spring strip the
//      parameters and then climb, which is the `/public/..;/admin` bypass.
//      So is an empty segment carrying them but for the last (`/;x/admin`,
//      which they strip to `//admin` and merge to `/admin`).
//      Runs of `/` become one `/` unless merge_slashes is off. A trailing
//      slash is kept, and a path ending in a dot-segment keeps the slash
//      before it (`/a/b/..` -> `/a/`). An empty path becomes `/`.
//
// Case is kept: `/ADMIN` and `/admin` are different paths, as RFC 3986 says.
// A service that folds case needs rules written for that.
//
// Normalization is idempotent: normalizing the OriginForm() of a result with
// the same options gives that result again (fuzz/request_path_fuzzer.cc
// checks this and the output properties above).
//
// Every function here is pure and thread-safe.
#ifndef BULWARK_NET_REQUEST_PATH_H_
#define BULWARK_NET_REQUEST_PATH_H_

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace bulwark::net {

struct PathNormalizationOptions {
  // Accept `%2F` in the path and keep it encoded. Off by default: a service
  // that decodes it before routing sees segments the gateway did not
  // (`/admin%2F..`), and PathHasPrefixSegment does not treat it as `/`.
  bool allow_encoded_slash = false;

  // Accept `%5C` in the path and keep it encoded. Off by default: Windows
  // servers and some frameworks treat `\` as `/`.
  bool allow_encoded_backslash = false;

  // Accept `%3B` in the path and keep it encoded, an ordinary character of
  // its segment. Off by default: a proxy in front that passes on the path
  // it decoded (nginx's `proxy_pass` with a URI part, a `rewrite`, `$uri`)
  // turns it into `;`, and Tomcat, Jetty and Spring then strip what follows
  // as path parameters: `/admin%3B/x` is not under `/admin` here but is
  // their `/admin/x`, and `/public/..%3B/admin` their `/admin`. Spring
  // Security's firewall refuses it too.
  bool allow_encoded_semicolon = false;

  // Accept `%3F` and `%23` in the path and keep them encoded. Off by
  // default: a proxy or framework behind that decodes the whole target
  // before splitting it reads `?` as the start of the query and `#` as a
  // fragment, so `/admin%3F` or `/admin%23x`, which no `/admin` route
  // takes here, is its `/admin`.
  bool allow_encoded_query_delimiters = false;

  // Merge runs of `/` into one. Turn off only for a service that gives
  // empty segments a meaning; most servers merge, so a route rule would not
  // see `//admin` as `/admin` while the service does.
  bool merge_slashes = true;

  // Accept absolute-form (`http://host/path`) with scheme http or https.
  bool allow_absolute_form = true;

  // Accept the target `*`. Set it only for an OPTIONS request.
  bool allow_asterisk_form = false;

  // Keep `.`, `..` and empty segments that carry parameters (`..;x`,
  // `/;x/`) as ordinary segments instead of refusing the target. For
  // services known not to strip path parameters.
  bool allow_dot_segment_parameters = false;

  // Refuse a path that resolving would change in structure: a `.` or `..`
  // segment (escaped or not) or an empty segment but the last (`//`). For
  // a path Bulwark decides on but does not forward itself (forward-auth):
  // the proxy in front passes it on as the client sent it, and the service
  // may resolve it to another path than the one decided on, or not at all
  // (`/admin/../public/x` is `/public/x` here and `/admin/..` to a framework
  // that matches `/admin/<path>` before resolving).
  bool refuse_unresolved_segments = false;
};

// A normalized request-target.
struct NormalizedTarget {
  // Starts with `/` (or is `*` for asterisk-form). Percent-encoded where it
  // must be: only escapes of characters other than unreserved ones remain,
  // in upper-case hex. Route, authorize and forward this.
  std::string path;

  // The query as received, without the `?`, unchanged: interpreting it is
  // the service's business. No query and an empty one (`/a?`) are the same.
  std::string query;

  // Set only for absolute-form: the scheme (`http` or `https`) and the
  // authority (`host` or `host:port`, lower case), which the caller must
  // use instead of the Host field. Empty for origin-form.
  std::string scheme;
  std::string authority;

  // The origin-form to forward upstream: path, then `?query` if the query is
  // not empty.
  std::string OriginForm() const;

  bool operator==(const NormalizedTarget&) const = default;
};

// `[address]`, an IPv6 literal of a Host field or authority, in the one
// form RFC 5952 gives each address (lower case, zeros compressed), so that
// `[0:0::1]` and `[::1]` are one host; nullopt unless it is one.
std::optional<std::string> CanonicalIpv6Literal(std::string_view bracketed);

// `host` or `host:port`, as an absolute-form target's authority or a Host
// field must be (RFC 9112 section 3.2): host a reg-name of unreserved
// characters without empty labels (one final dot aside) or an IPv6 literal,
// port at most 65535; an IPv6 literal must parse as an address. Stricter than RFC 3986
// (no userinfo, escapes, sub-delims or IPvFuture), as no real host needs them
// and each is a chance for two parsers to disagree. kInvalidArgument if not.
Status CheckAuthority(std::string_view authority);

// Normalizes `target`, the request-target of a request line, as described at
// the top of this file. On failure returns kInvalidArgument with a short
// message naming the rule ("malformed percent-encoding", "encoded slash",
// "invalid utf-8", ...), for logs and audit records, not for clients.
Result<NormalizedTarget> NormalizeRequestTarget(std::string_view target,
                                                const PathNormalizationOptions& options = {});

// If `path` lies under `prefix` (as PathHasPrefixSegment says), what of it
// follows the segments `prefix` matched, their parameters included: empty
// or starting with '/' (`/orders;v=2/7` below `/orders` is `/7`; below `/`
// or an empty prefix, the whole path). Else nullopt. With `ignore_case`,
// segments are compared without regard to ASCII case (`/ADMIN/x` is under
// `/admin`).
std::optional<std::string_view> PathBelowPrefix(std::string_view path, std::string_view prefix,
                                                bool ignore_case = false);

// True if `path` lies under `prefix` segment by segment: `/admin` is under
// `/admin`, and `/admin/` and `/admin/x` are too, but `/administrator` is
// not. Both must be normalized paths. A trailing slash on the prefix is
// ignored, and an empty prefix or `/` holds every path (but not `*`). A path segment
// followed by parameters still matches (`/admin;x=1/y` is under `/admin`,
// and `/api;v=2/admin` under `/api/admin`) because many servers strip them
// before routing, so appending `;x` cannot step out of a rule. Comparison is
// byte-wise and case-sensitive unless `ignore_case`; `%2F` is not a
// separator.
inline bool PathHasPrefixSegment(std::string_view path, std::string_view prefix,
                                 bool ignore_case = false) {
  return PathBelowPrefix(path, prefix, ignore_case).has_value();
}

// What a service resolves `segment`, one segment of a normalized path, to:
// without its path parameters (from the first `;`, which Tomcat, Jetty and
// Spring strip), its escapes decoded (`q%3A1` is `q:1`, `Q1%20report` is
// `Q1 report`). So `secret;a` and `secret;jsessionid=x` name `secret`, as
// the service will take them. nullopt if nothing is left, or if decoding
// would give a `/`, `\` or control character (a separator or a byte no
// name holds: such a segment names nothing with certainty).
std::optional<std::string> SegmentResource(std::string_view segment);

// `path`, a normalized path, without its segments' parameters (each from
// its first `;` to the segment's end), as Tomcat, Jetty and Spring resolve
// it before they route: `/docs;v=2/secret;a` is `/docs/secret`.
std::string PathWithoutParameters(std::string_view path);

namespace internal {
// The normalized form of `path` (a path without query) computed step by step,
// without NormalizeRequestTarget's shortcut for a path already normal: lets
// tests check that the shortcut agrees.
Result<std::string> NormalizePathInFull(std::string_view path,
                                        const PathNormalizationOptions& options = {});
}  // namespace internal

}  // namespace bulwark::net

#endif  // BULWARK_NET_REQUEST_PATH_H_

#include "net/request_path.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace bulwark::net {
namespace {

using namespace std::string_view_literals;

// The normalized path of `target`, or "error: <message>".
std::string PathOf(std::string_view target, const PathNormalizationOptions& options = {}) {
  Result<NormalizedTarget> result = NormalizeRequestTarget(target, options);
  if (!result.has_value()) return "error: " + result.error().message();
  return result->path;
}

void ExpectRejected(std::string_view target, std::string_view message,
                    const PathNormalizationOptions& options = {}) {
  Result<NormalizedTarget> result = NormalizeRequestTarget(target, options);
  ASSERT_FALSE(result.has_value()) << target << " -> " << result->path;
  EXPECT_EQ(result.error().code(), StatusCode::kInvalidArgument) << target;
  EXPECT_EQ(result.error().message(), message) << target;
}

TEST(RequestPathTest, TheShortcutForNormalPathsAgreesWithTheFullSteps) {
  // Every path up to six bytes over an alphabet of separators, dots,
  // parameters, escapes and backslashes, with slashes merged or kept.
  constexpr std::string_view kAlphabet = "/.a;%2EF\\";
  for (bool merge : {true, false}) {
    const PathNormalizationOptions options{.merge_slashes = merge};
    std::string path = "/";
    size_t checked = 0;
    const auto check = [&] {
      Result<NormalizedTarget> got = NormalizeRequestTarget(path, options);
      Result<std::string> want = internal::NormalizePathInFull(path, options);
      ASSERT_EQ(got.has_value(), want.has_value()) << path;
      if (got) {
        EXPECT_EQ(got->path, *want) << path;
      } else {
        EXPECT_EQ(got.error().message(), want.error().message()) << path;
      }
      ++checked;
    };
    const auto extend = [&](const auto& self, int left) -> void {
      check();
      if (left == 0) return;
      for (char c : kAlphabet) {
        path.push_back(c);
        self(self, left - 1);
        path.pop_back();
      }
    };
    extend(extend, 5);
    EXPECT_GT(checked, 30000u);
  }
}

TEST(RequestPathTest, KeepsAPlainPath) {
  Result<NormalizedTarget> result = NormalizeRequestTarget("/api/v1/users");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->path, "/api/v1/users");
  EXPECT_EQ(result->query, "");
  EXPECT_EQ(result->scheme, "");
  EXPECT_EQ(result->authority, "");
}

TEST(RequestPathTest, SplitsOffTheQueryAndLeavesItUnchanged) {
  Result<NormalizedTarget> result = NormalizeRequestTarget("/a/./b?x=%2f/../%zz&y=?a%41");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->path, "/a/b");
  EXPECT_EQ(result->query, "x=%2f/../%zz&y=?a%41");
}

TEST(RequestPathTest, OriginFormJoinsPathAndNonEmptyQuery) {
  EXPECT_EQ(NormalizeRequestTarget("/a/../b?q=1")->OriginForm(), "/b?q=1");
  EXPECT_EQ(NormalizeRequestTarget("/a?")->OriginForm(), "/a");
}

TEST(RequestPathTest, RemovesDotSegments) {
  EXPECT_EQ(PathOf("/a/b/../c"), "/a/c");
  EXPECT_EQ(PathOf("/a/./b"), "/a/b");
  EXPECT_EQ(PathOf("/a/b/c/./../../g"), "/a/g");
  EXPECT_EQ(PathOf("/a/b/.."), "/a/");
  EXPECT_EQ(PathOf("/a/."), "/a/");
  EXPECT_EQ(PathOf("/a/..b/c.."), "/a/..b/c..");  // not dot-segments
}

TEST(RequestPathTest, NeverClimbsAboveTheRoot) {
  EXPECT_EQ(PathOf("/../x"), "/x");
  EXPECT_EQ(PathOf("/../../.."), "/");
  EXPECT_EQ(PathOf("/a/../../b"), "/b");
}

TEST(RequestPathTest, RemovesPercentEncodedDotSegments) {
  EXPECT_EQ(PathOf("/%2e%2e/admin"), "/admin");
  EXPECT_EQ(PathOf("/a/%2E%2E/admin"), "/admin");
  EXPECT_EQ(PathOf("/a/.%2e/admin"), "/admin");
  EXPECT_EQ(PathOf("/a/%2e./admin"), "/admin");
  EXPECT_EQ(PathOf("/%2e/admin"), "/admin");
}

TEST(RequestPathTest, ClassicBypassShapesReachTheirRealTarget) {
  for (std::string_view target : {"/./admin", "//admin", "/public/../admin", "/%2e%2e/admin",
                                  "/public/%2E%2E/admin", "/.//./admin", "/x/.%2E/./admin"}) {
    EXPECT_EQ(PathOf(target), "/admin") << target;
  }
}

TEST(RequestPathTest, MergesDuplicateSlashes) {
  EXPECT_EQ(PathOf("//admin"), "/admin");
  EXPECT_EQ(PathOf("/a//b///c"), "/a/b/c");
  EXPECT_EQ(PathOf("//"), "/");
}

TEST(RequestPathTest, KeepsDuplicateSlashesWhenMergingIsOff) {
  const PathNormalizationOptions keep{.merge_slashes = false};
  EXPECT_EQ(PathOf("//admin", keep), "//admin");
  EXPECT_EQ(PathOf("/a//b/", keep), "/a//b/");
  EXPECT_EQ(PathOf("/a//../b", keep), "/a/b");  // RFC 3986 5.2.4: `..` removes the empty segment
}

TEST(RequestPathTest, KeepsTheTrailingSlash) {
  EXPECT_EQ(PathOf("/a/"), "/a/");
  EXPECT_EQ(PathOf("/a//"), "/a/");
  EXPECT_EQ(PathOf("/"), "/");
}

TEST(RequestPathTest, DecodesOnlyUnreservedCharacters) {
  EXPECT_EQ(PathOf("/%41%7a%30%2D%2E%5F%7E"), "/Az0-._~");
  EXPECT_EQ(PathOf("/%25%20%3A%40"), "/%25%20%3A%40");
  const PathNormalizationOptions delimiters{.allow_encoded_query_delimiters = true};
  EXPECT_EQ(PathOf("/%3F%23%25%20%3A%40", delimiters), "/%3F%23%25%20%3A%40");
}

TEST(RequestPathTest, UppercasesTheHexOfKeptEscapes) {
  EXPECT_EQ(PathOf("/a%3a%c3%a9%7c"), "/a%3A%C3%A9%7C");
}

TEST(RequestPathTest, DoesNotDecodeTwice) {
  EXPECT_EQ(PathOf("/%252e%252e/admin"), "/%252e%252e/admin");
  EXPECT_EQ(PathOf("/a%252fb"), "/a%252fb");
}

TEST(RequestPathTest, RejectsMalformedPercentEncoding) {
  for (std::string_view target : {"/%", "/%2", "/%zz", "/a%g1", "/%%41", "/a%2"}) {
    ExpectRejected(target, "malformed percent-encoding");
  }
}

TEST(RequestPathTest, RejectsAnEncodedSlashByDefault) {
  ExpectRejected("/admin%2f..", "encoded slash");
  ExpectRejected("/a%2Fb", "encoded slash");
}

TEST(RequestPathTest, KeepsAnEncodedSlashEncodedWhenAllowed) {
  const PathNormalizationOptions allow{.allow_encoded_slash = true};
  EXPECT_EQ(PathOf("/admin%2f..", allow), "/admin%2F..");
  EXPECT_EQ(PathOf("/a%2fb/../c", allow), "/c");
}

TEST(RequestPathTest, RejectsAnEncodedBackslashByDefault) {
  ExpectRejected("/a%5cb", "encoded backslash");
  ExpectRejected("/%5C..%5Cadmin", "encoded backslash");
}

TEST(RequestPathTest, KeepsAnEncodedBackslashEncodedWhenAllowed) {
  EXPECT_EQ(PathOf("/a%5cb", {.allow_encoded_backslash = true}), "/a%5Cb");
}

// A proxy in front that decodes the path (nginx's `proxy_pass` with a URI
// part) hands `;` to a service that strips parameters: `/admin%3B/x` is
// Jetty's `/admin/x`, and `/public/..%3B/admin` Tomcat's `/admin`.
TEST(RequestPathTest, RejectsAnEncodedSemicolonByDefault) {
  ExpectRejected("/admin%3B/x", "encoded semicolon");
  ExpectRejected("/public/..%3b/admin", "encoded semicolon");
  ExpectRejected("/admin%3bjsessionid=1/users", "encoded semicolon");
  ExpectRejected("/public/.%2E%3B/admin", "encoded semicolon");
}

TEST(RequestPathTest, KeepsAnEncodedSemicolonEncodedWhenAllowed) {
  const PathNormalizationOptions allow{.allow_encoded_semicolon = true};
  EXPECT_EQ(PathOf("/a%3bb", allow), "/a%3Bb");
  EXPECT_EQ(PathOf("/public/..%3B/admin", allow), "/public/..%3B/admin");  // an ordinary segment
  EXPECT_FALSE(PathHasPrefixSegment(PathOf("/admin%3B/x", allow), "/admin"));
}

// A service or proxy behind that decodes the whole target before it splits
// off the query takes `/admin%3F` for `/admin`, which the gateway would have
// routed as another path.
TEST(RequestPathTest, RejectsAnEncodedQueryOrFragmentDelimiterByDefault) {
  ExpectRejected("/admin%3F", "encoded query or fragment delimiter");
  ExpectRejected("/admin%3fx=1", "encoded query or fragment delimiter");
  ExpectRejected("/admin%23/public", "encoded query or fragment delimiter");
  ExpectRejected("/public/..%2e/admin%23", "encoded query or fragment delimiter");
  EXPECT_EQ(PathOf("/search?q=%3F%23"), "/search");  // the query is not the path
}

TEST(RequestPathTest, KeepsEncodedQueryDelimitersEncodedWhenAllowed) {
  const PathNormalizationOptions allow{.allow_encoded_query_delimiters = true};
  EXPECT_EQ(PathOf("/files/a%3fb%23c", allow), "/files/a%3Fb%23c");
  EXPECT_FALSE(PathHasPrefixSegment(PathOf("/admin%3F", allow), "/admin"));
}

TEST(RequestPathTest, RejectsARawBackslash) {
  ExpectRejected("/\\..\\admin", "backslash");
  ExpectRejected("/a\\b", "backslash");
}

TEST(RequestPathTest, RejectsNulRawOrEncoded) {
  ExpectRejected("/a\0b"sv, "nul byte");
  ExpectRejected("/a?b\0"sv, "nul byte");
  ExpectRejected("/a%00", "encoded nul byte");
}

TEST(RequestPathTest, RejectsControlCharactersRawOrEncoded) {
  for (std::string_view target : {"/a\tb", "/a\x7f", "/a\r\nX: y", "/a?\x01"}) {
    ExpectRejected(target, "control character");
  }
  ExpectRejected("/a%0d%0aX:%20y", "encoded control character");
  ExpectRejected("/a%7F", "encoded control character");
}

TEST(RequestPathTest, RejectsRawNonAsciiBytes) {
  ExpectRejected("/caf\xc3\xa9", "non-ascii byte");
  ExpectRejected("/a?caf\xc3\xa9", "non-ascii byte");
}

TEST(RequestPathTest, AcceptsPercentEncodedValidUtf8) {
  EXPECT_EQ(PathOf("/caf%c3%a9"), "/caf%C3%A9");
  EXPECT_EQ(PathOf("/%E2%82%AC/%F0%9F%94%92/%F4%8F%BF%BF"), "/%E2%82%AC/%F0%9F%94%92/%F4%8F%BF%BF");
}

TEST(RequestPathTest, RejectsEscapesThatAreNotValidUtf8) {
  for (std::string_view target : {
           "/%C0%AF",              // overlong '/'
           "/%C0%AE%C0%AE/admin",  // overlong '.'
           "/%E0%80%AF",           // overlong, three bytes
           "/%F0%80%80%AF",        // overlong, four bytes
           "/%ED%A0%80",           // surrogate
           "/%80",                 // stray continuation byte
           "/%C3",                 // truncated
           "/%C3a",                // lead byte followed by ASCII
           "/%E2%82",              // truncated three-byte sequence
           "/%F4%90%80%80",        // above U+10FFFF
           "/%FF",                 // never valid
       }) {
    ExpectRejected(target, "invalid utf-8");
  }
}

TEST(RequestPathTest, RejectsCharactersOutsideThePathGrammar) {
  for (std::string_view target :
       {"/a\"b", "/a<b", "/a>b", "/a^b", "/a`b", "/a{b", "/a|b", "/a}b", "/a[b", "/a]b"}) {
    ExpectRejected(target, "invalid character");
  }
  ExpectRejected("/a b", "invalid character");
  ExpectRejected("/a?b c", "invalid character");
}

TEST(RequestPathTest, KeepsSubDelimitersColonAndAt) {
  EXPECT_EQ(PathOf("/a;b=c,d/!$&'()*+:@"), "/a;b=c,d/!$&'()*+:@");
  EXPECT_EQ(PathOf("/a;v=1/b;/;"), "/a;v=1/b;/;");
}

// An empty segment with parameters before another is what Tomcat, Jetty
// and Spring strip and merge away (`/;x/admin` is their `/admin`), so a
// route for `/admin` would not see what the service does. Last, it is
// their trailing slash (`/;jsessionid=1`), as here.
TEST(RequestPathTest, RejectsParametersOnAnEmptySegmentBeforeAnother) {
  for (std::string_view target : {"/;x/admin", "/;/admin", "/api/;x/admin", "/;x;y/admin",
                                  "//;x/admin", "/;%2e%2e/admin", "/a/;x/b/"}) {
    ExpectRejected(target, "parameters on an empty segment");
  }
  EXPECT_EQ(PathOf("/;jsessionid=1"), "/;jsessionid=1");
  EXPECT_EQ(PathOf("/app/;jsessionid=1?q"), "/app/;jsessionid=1");
  EXPECT_EQ(PathOf("/;x/admin", {.allow_dot_segment_parameters = true}), "/;x/admin");
}

TEST(RequestPathTest, RejectsParametersOnDotSegments) {
  for (std::string_view target :
       {"/admin/..;/", "/public/..;/admin", "/.;x/admin", "/%2e%2e;/admin", "/a/..;"}) {
    ExpectRejected(target, "parameters on dot segment");
  }
}

TEST(RequestPathTest, KeepsParametersOnDotSegmentsWhenAllowed) {
  EXPECT_EQ(PathOf("/public/..;/admin", {.allow_dot_segment_parameters = true}),
            "/public/..;/admin");
}

// For forward-auth, whose proxy passes the path on as the client sent it:
// anything resolving would change in its structure is refused, escaped or
// not, with or without parameters; what a service decodes the same way
// (unreserved escapes) and a final slash are not.
TEST(RequestPathTest, RefusesDotAndEmptySegmentsWhenThePathIsPassedOnUnresolved) {
  const PathNormalizationOptions unresolved{.refuse_unresolved_segments = true};
  for (std::string_view target :
       {"/admin/../public/x", "/admin/%2e%2e/public/x", "/admin/.%2E/x", "/admin/%2E./x",
        "/./admin", "/admin/.", "/admin/..", "/a/%2e/b", "/admin/..?x=1",
        "http://api.example/admin/../public", "/a/.;x/b"}) {
    Result<NormalizedTarget> result = NormalizeRequestTarget(target, unresolved);
    ASSERT_FALSE(result.has_value()) << target << " -> " << result->path;
    EXPECT_TRUE(result.error().message() == "dot segment in a path passed on unresolved" ||
                result.error().message() == "parameters on dot segment")
        << target << ": " << result.error().message();
  }
  for (std::string_view target : {"//admin", "/admin//../public/x", "/public//admin", "/a//",
                                  "http://api.example//public/admin"}) {
    ExpectRejected(target, "empty segment in a path passed on unresolved", unresolved);
  }
  EXPECT_EQ(PathOf("/admin/", unresolved), "/admin/");
  EXPECT_EQ(PathOf("/", unresolved), "/");
  EXPECT_EQ(PathOf("/%61dmin/x", unresolved), "/admin/x");
  EXPECT_EQ(PathOf("/a/.b/..c/...", unresolved), "/a/.b/..c/...");
  EXPECT_EQ(PathOf("/app/;jsessionid=1", unresolved), "/app/;jsessionid=1");
  // Without the option the same paths resolve, as for the reverse proxy,
  // which forwards the resolved path.
  EXPECT_EQ(PathOf("/admin/../public/x"), "/public/x");
  EXPECT_EQ(PathOf("/public//admin"), "/public/admin");
}

TEST(RequestPathTest, StaysCaseSensitive) {
  EXPECT_EQ(PathOf("/ADMIN/Users"), "/ADMIN/Users");
  EXPECT_FALSE(PathHasPrefixSegment(PathOf("/ADMIN"), "/admin"));
}

TEST(RequestPathTest, RejectsAFragment) {
  ExpectRejected("/a#b", "fragment in request-target");
  ExpectRejected("/a?x#y", "fragment in request-target");
  ExpectRejected("http://h#x/", "fragment in request-target");
}

TEST(RequestPathTest, RejectsAnEmptyTarget) { ExpectRejected("", "empty request-target"); }

TEST(RequestPathTest, RejectsAuthorityFormAndOtherShapes) {
  for (std::string_view target : {"example.com:443", "a/b", "?x", "http:/a", "mailto:x", "**"}) {
    ExpectRejected(target, "unsupported request-target form");
  }
}

TEST(RequestPathTest, AcceptsAsteriskFormOnlyWhenAllowed) {
  ExpectRejected("*", "asterisk-form request-target");
  EXPECT_EQ(PathOf("*", {.allow_asterisk_form = true}), "*");
  ExpectRejected("*?x", "unsupported request-target form", {.allow_asterisk_form = true});
}

TEST(RequestPathTest, ReducesAbsoluteFormToItsPath) {
  Result<NormalizedTarget> result = NormalizeRequestTarget("HTTP://Example.COM:8080/a/../b?q=A");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->path, "/b");
  EXPECT_EQ(result->query, "q=A");
  EXPECT_EQ(result->scheme, "http");
  EXPECT_EQ(result->authority, "example.com:8080");
  EXPECT_EQ(PathOf("https://h"), "/");
  EXPECT_EQ(NormalizeRequestTarget("https://[::1]?x")->OriginForm(), "/?x");
}

TEST(RequestPathTest, RejectsAbsoluteFormWhenDisallowed) {
  ExpectRejected("http://h/a", "absolute-form request-target", {.allow_absolute_form = false});
}

TEST(RequestPathTest, RejectsAbsoluteFormWithOtherSchemesOrBadAuthority) {
  ExpectRejected("ftp://h/", "unsupported scheme");
  ExpectRejected("http://user:pw@h/", "userinfo in authority");
  for (std::string_view target :
       {"http:///a", "http://h:/", "http://h:x/", "http://h:65536/", "http://h%41/",
        "http://h:1:2/", "http://[::1/", "http://[]/", "http://[::1]x/", "http://h!/",
        "http://[:::]/", "http://[1::2::3]/", "http://[12345::]/", "http://[::1.2.3]/"}) {
    ExpectRejected(target, "invalid authority");
  }
}

TEST(RequestPathTest, GivesAnIpv6LiteralItsOneForm) {
  EXPECT_EQ(CanonicalIpv6Literal("[::1]"), "[::1]");
  EXPECT_EQ(CanonicalIpv6Literal("[0:0:0:0:0:0:0:1]"), "[::1]");
  EXPECT_EQ(CanonicalIpv6Literal("[2001:DB8:0:0:1:0:0:1]"), "[2001:db8::1:0:0:1]");
  EXPECT_EQ(CanonicalIpv6Literal("[::ffff:192.0.2.1]"), "[::ffff:192.0.2.1]");
  for (std::string_view bad : {"::1", "[::1", "[]", "[1::2::3]", "[::1%25eth0]", "[g::1]",
                               "[0000:0000:0000:0000:0000:0000:0000:0000:0]"}) {
    EXPECT_EQ(CanonicalIpv6Literal(bad), std::nullopt) << bad;
  }
  EXPECT_TRUE(CheckAuthority("[0:0::1]:8443").ok());
  EXPECT_FALSE(CheckAuthority("[1::2::3]:8443").ok());
}

TEST(RequestPathTest, IsIdempotent) {
  const PathNormalizationOptions keep{.merge_slashes = false, .allow_dot_segment_parameters = true};
  for (std::string_view target : {"/a/b/../c", "/%2e%2e/%2E/x/", "//a//b//", "/a%3a%41?q=%zz",
                                  "/./.././", "/caf%c3%a9", "http://H/x/..", "/a;b/..", "/..a/"}) {
    for (const PathNormalizationOptions& options : {PathNormalizationOptions{}, keep}) {
      Result<NormalizedTarget> once = NormalizeRequestTarget(target, options);
      ASSERT_TRUE(once.has_value()) << target;
      Result<NormalizedTarget> twice = NormalizeRequestTarget(once->OriginForm(), options);
      ASSERT_TRUE(twice.has_value()) << target;
      EXPECT_EQ(twice->path, once->path) << target;
      EXPECT_EQ(twice->query, once->query) << target;
    }
  }
}

TEST(PathHasPrefixSegmentTest, MatchesWholeSegmentsOnly) {
  EXPECT_TRUE(PathHasPrefixSegment("/admin", "/admin"));
  EXPECT_TRUE(PathHasPrefixSegment("/admin/", "/admin"));
  EXPECT_TRUE(PathHasPrefixSegment("/admin/x", "/admin"));
  EXPECT_TRUE(PathHasPrefixSegment("/api/admin/x", "/api/admin"));
  EXPECT_FALSE(PathHasPrefixSegment("/administrator", "/admin"));
  EXPECT_FALSE(PathHasPrefixSegment("/adm", "/admin"));
  EXPECT_FALSE(PathHasPrefixSegment("/api", "/api/admin"));
  EXPECT_FALSE(PathHasPrefixSegment("/x/admin", "/admin"));
}

TEST(PathHasPrefixSegmentTest, IgnoresATrailingSlashOnThePrefix) {
  EXPECT_TRUE(PathHasPrefixSegment("/admin", "/admin/"));
  EXPECT_TRUE(PathHasPrefixSegment("/admin/x", "/admin/"));
  EXPECT_FALSE(PathHasPrefixSegment("/administrator", "/admin/"));
}

TEST(PathHasPrefixSegmentTest, RootOrEmptyPrefixHoldsEveryPath) {
  EXPECT_TRUE(PathHasPrefixSegment("/", "/"));
  EXPECT_TRUE(PathHasPrefixSegment("/anything/at/all", "/"));
  EXPECT_TRUE(PathHasPrefixSegment("/x", ""));
  EXPECT_FALSE(PathHasPrefixSegment("*", "/"));
}

TEST(PathHasPrefixSegmentTest, PathParametersDoNotStepOutOfAPrefix) {
  EXPECT_TRUE(PathHasPrefixSegment("/admin;jsessionid=1", "/admin"));
  EXPECT_TRUE(PathHasPrefixSegment("/admin;x/users", "/admin"));
  EXPECT_TRUE(PathHasPrefixSegment("/api;v=2/admin/x", "/api/admin"));
  EXPECT_FALSE(PathHasPrefixSegment("/admin2;x", "/admin"));
}

TEST(PathWithoutParametersTest, DropsEachSegmentsParameters) {
  EXPECT_EQ(PathWithoutParameters("/docs;v=2/secret;a"), "/docs/secret");
  EXPECT_EQ(PathWithoutParameters("/a;x;y/b/c;jsessionid=1"), "/a/b/c");
  EXPECT_EQ(PathWithoutParameters("/docs/;jsessionid=1"), "/docs/");
  EXPECT_EQ(PathWithoutParameters("/a/b%3Bc"), "/a/b%3Bc");  // an escaped ';' is no parameter
  EXPECT_EQ(PathWithoutParameters("/plain/path"), "/plain/path");
  EXPECT_EQ(PathWithoutParameters("/"), "/");
}

TEST(PathHasPrefixSegmentTest, IgnoresCaseOnlyWhenAsked) {
  constexpr bool kIgnoreCase = true;
  EXPECT_FALSE(PathHasPrefixSegment("/ADMIN/x", "/admin"));
  EXPECT_TRUE(PathHasPrefixSegment("/ADMIN/x", "/admin", kIgnoreCase));
  EXPECT_TRUE(PathHasPrefixSegment("/Api;v=2/aDmin", "/api/admin", kIgnoreCase));
  EXPECT_TRUE(PathHasPrefixSegment("/admin;X", "/ADMIN", kIgnoreCase));
  EXPECT_FALSE(PathHasPrefixSegment("/ADMINISTRATOR", "/admin", kIgnoreCase));
  EXPECT_FALSE(PathHasPrefixSegment("/ADM", "/admin", kIgnoreCase));
  EXPECT_FALSE(PathHasPrefixSegment("/x/ADMIN", "/admin", kIgnoreCase));
  EXPECT_EQ(PathBelowPrefix("/ORDERS;v=2/7/Items", "/orders", kIgnoreCase), "/7/Items");
}

TEST(PathBelowPrefixTest, IsWhatFollowsTheMatchedSegmentsAndTheirParameters) {
  EXPECT_EQ(PathBelowPrefix("/orders", "/orders"), "");
  EXPECT_EQ(PathBelowPrefix("/orders/", "/orders"), "/");
  EXPECT_EQ(PathBelowPrefix("/orders/7/items", "/orders"), "/7/items");
  EXPECT_EQ(PathBelowPrefix("/orders/7", "/orders/"), "/7");
  EXPECT_EQ(PathBelowPrefix("/orders;v=2/7", "/orders"), "/7");
  EXPECT_EQ(PathBelowPrefix("/orders;v=2", "/orders"), "");
  EXPECT_EQ(PathBelowPrefix("/api;v=2/admin;x/y;z", "/api/admin"), "/y;z");
  EXPECT_EQ(PathBelowPrefix("/x/y", "/"), "/x/y");
  EXPECT_EQ(PathBelowPrefix("/x/y", ""), "/x/y");
  EXPECT_EQ(PathBelowPrefix("/ordersx/7", "/orders"), std::nullopt);
  EXPECT_EQ(PathBelowPrefix("/orders%2F7", "/orders"), std::nullopt);
  EXPECT_EQ(PathBelowPrefix("*", "/"), std::nullopt);
}

TEST(PathHasPrefixSegmentTest, EncodedSlashIsNotASeparator) {
  EXPECT_FALSE(PathHasPrefixSegment("/admin%2Fx", "/admin"));
}

TEST(PathHasPrefixSegmentTest, RelativePrefixMatchesNothing) {
  EXPECT_FALSE(PathHasPrefixSegment("/admin", "admin"));
}

}  // namespace
}  // namespace bulwark::net

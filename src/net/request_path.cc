#include "net/request_path.h"

#include <arpa/inet.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/utf8.h"
#include "net/request_head.h"

namespace bulwark::net {

namespace {

constexpr char kUpperHex[] = "0123456789ABCDEF";

constexpr bool IsAlpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

constexpr bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }

constexpr bool IsUnreserved(unsigned char c) {
  return IsAlpha(c) || IsDigit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// RFC 3986 pchar without pct-encoded, plus '/'.
constexpr std::array<bool, 256> kPathChars = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) {
    const auto u = static_cast<unsigned char>(c);
    table[u] = IsUnreserved(u) || std::string_view("!$&'()*+,;=:@/").find(static_cast<char>(u)) !=
                                      std::string_view::npos;
  }
  return table;
}();

bool IsPathChar(unsigned char c) { return kPathChars[c]; }

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7F; }

int HexValue(unsigned char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

std::unexpected<Status> Invalid(const char* message) { return Err(InvalidArgumentError(message)); }

// The bytes a target may never hold, wherever they are: a fragment, NUL,
// controls, non-ASCII.
Status CheckTargetByte(unsigned char c) {
  if (c == '#') return InvalidArgumentError("fragment in request-target");
  if (c == 0) return InvalidArgumentError("nul byte");
  if (IsControl(c)) return InvalidArgumentError("control character");
  if (c >= 0x80) return InvalidArgumentError("non-ascii byte");
  if (c == ' ') return InvalidArgumentError("invalid character");
  return OkStatus();
}

// Checks the bytes and escapes of `path`, decodes escaped unreserved
// characters and upper-cases the hex of the other escapes.
Result<std::string> CanonicalizeEscapes(std::string_view path,
                                        const PathNormalizationOptions& options) {
  std::string out;
  out.reserve(path.size());
  std::string decoded;  // every escape decoded, for the UTF-8 check only
  bool has_non_ascii_escape = false;
  for (size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (c != '%') {
      BULWARK_RETURN_IF_ERROR(CheckTargetByte(c));
      if (c == '\\') return Invalid("backslash");
      if (!IsPathChar(c)) return Invalid("invalid character");
      out.push_back(static_cast<char>(c));
      decoded.push_back(static_cast<char>(c));
      continue;
    }
    if (path.size() - i < 3) return Invalid("malformed percent-encoding");
    const int high = HexValue(static_cast<unsigned char>(path[i + 1]));
    const int low = HexValue(static_cast<unsigned char>(path[i + 2]));
    if (high < 0 || low < 0) return Invalid("malformed percent-encoding");
    i += 2;
    const auto value = static_cast<unsigned char>(high * 16 + low);
    decoded.push_back(static_cast<char>(value));
    if (value == 0) return Invalid("encoded nul byte");
    if (IsControl(value)) return Invalid("encoded control character");
    if (value == '/' && !options.allow_encoded_slash) return Invalid("encoded slash");
    if (value == '\\' && !options.allow_encoded_backslash) return Invalid("encoded backslash");
    if (value == ';' && !options.allow_encoded_semicolon) return Invalid("encoded semicolon");
    if ((value == '?' || value == '#') && !options.allow_encoded_query_delimiters) {
      return Invalid("encoded query or fragment delimiter");
    }
    if (value >= 0x80) has_non_ascii_escape = true;
    if (IsUnreserved(value)) {
      out.push_back(static_cast<char>(value));
    } else {
      out += {'%', kUpperHex[value >> 4], kUpperHex[value & 0xF]};
    }
  }
  if (has_non_ascii_escape && !IsValidUtf8(decoded)) return Invalid("invalid utf-8");
  return out;
}

bool IsDotSegment(std::string_view segment) { return segment == "." || segment == ".."; }

// RFC 3986 5.2.4 on an absolute path whose escapes are canonical, so that
// every `.` is literal and every `/` a separator; plus merging of slashes.
Result<std::string> RemoveDotSegments(std::string_view path,
                                      const PathNormalizationOptions& options) {
  const size_t size = path.size();
  std::vector<std::string_view> kept;
  bool trailing_slash = false;
  path.remove_prefix(1);  // the leading '/'
  while (true) {
    const size_t slash = path.find('/');
    const std::string_view segment = path.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    // The segment as servers that strip path parameters take it.
    const std::string_view head = segment.substr(0, segment.find(';'));
    if (head.size() != segment.size() && !options.allow_dot_segment_parameters) {
      if (IsDotSegment(head)) return Invalid("parameters on dot segment");
      // Tomcat, Jetty and Spring strip the parameters and merge the empty
      // segment left: `/;x/admin` is their `/admin`. Last, it is their
      // trailing slash, as here (`/;jsessionid=...`).
      if (head.empty() && !last) return Invalid("parameters on an empty segment");
    }
    if (options.refuse_unresolved_segments) {
      if (IsDotSegment(head)) return Invalid("dot segment in a path passed on unresolved");
      if (head.empty() && !last) return Invalid("empty segment in a path passed on unresolved");
    }
    if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
      trailing_slash = last;
    } else if (segment == ".") {
      trailing_slash = last;
    } else if (segment.empty() && last) {
      trailing_slash = true;
    } else if (!segment.empty() || !options.merge_slashes) {
      kept.push_back(segment);
    }
    if (last) break;
    path.remove_prefix(slash + 1);
  }
  std::string out;
  out.reserve(size);
  for (std::string_view segment : kept) {
    out.push_back('/');
    out.append(segment);
  }
  if (out.empty() || trailing_slash) out.push_back('/');
  return out;
}

// True if normalizing `path` would return it unchanged, as for most paths
// requests carry, known from one pass without building anything: every byte
// a literal path character (no escape, backslash, control or non-ASCII
// byte), no empty segment, and no segment that starts with '.' or ';' (so
// no dot segment and no empty one, with or without parameters).
bool IsAlreadyNormal(std::string_view path) {
  if (path.empty() || path[0] != '/') return false;
  for (size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (!IsPathChar(c)) return false;
    if (c == '/' && i + 1 < path.size() &&
        (path[i + 1] == '/' || path[i + 1] == '.' || path[i + 1] == ';')) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::string> SegmentResource(std::string_view segment) {
  segment = segment.substr(0, segment.find(';'));
  if (segment.empty()) return std::nullopt;
  std::string out;
  out.reserve(segment.size());
  for (size_t i = 0; i < segment.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(segment[i]);
    if (c == '%') {
      if (i + 2 >= segment.size()) return std::nullopt;
      const int high = HexValue(static_cast<unsigned char>(segment[i + 1]));
      const int low = HexValue(static_cast<unsigned char>(segment[i + 2]));
      if (high < 0 || low < 0) return std::nullopt;
      c = static_cast<unsigned char>(high * 16 + low);
      i += 2;
    }
    if (c == '/' || c == '\\' || IsControl(c)) return std::nullopt;
    out.push_back(static_cast<char>(c));
  }
  return out;
}

std::string PathWithoutParameters(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  while (!path.empty()) {
    const size_t param = path.find(';');
    out.append(path.substr(0, param));
    if (param == std::string_view::npos) break;
    const size_t next = path.find('/', param);
    if (next == std::string_view::npos) break;
    path.remove_prefix(next);
  }
  return out;
}

namespace internal {

Result<std::string> NormalizePathInFull(std::string_view path,
                                        const PathNormalizationOptions& options) {
  if (path.empty()) return std::string("/");
  BULWARK_ASSIGN_OR_RETURN(std::string canonical, CanonicalizeEscapes(path, options));
  return RemoveDotSegments(canonical, options);
}

}  // namespace internal

namespace {

Result<std::string> NormalizePath(std::string_view path, const PathNormalizationOptions& options) {
  if (IsAlreadyNormal(path)) return std::string(path);
  return internal::NormalizePathInFull(path, options);
}

// The length of `scheme "://"` at the start of `target`, or 0.
size_t SchemePrefixLength(std::string_view target) {
  if (target.empty() || !IsAlpha(static_cast<unsigned char>(target[0]))) return 0;
  size_t i = 1;
  while (i < target.size()) {
    const auto c = static_cast<unsigned char>(target[i]);
    if (!IsAlpha(c) && !IsDigit(c) && c != '+' && c != '-' && c != '.') break;
    ++i;
  }
  return target.substr(i).starts_with("://") ? i + 3 : 0;
}

}  // namespace

std::optional<std::string> CanonicalIpv6Literal(std::string_view bracketed) {
  // The longest IPv6 text, with an IPv4 tail, is 45 characters.
  if (bracketed.size() < 4 || bracketed.size() > 47 || bracketed.front() != '[' ||
      bracketed.back() != ']') {
    return std::nullopt;
  }
  std::array<char, INET6_ADDRSTRLEN + 2> text{};
  bracketed.substr(1, bracketed.size() - 2).copy(text.data(), bracketed.size() - 2);
  in6_addr address{};
  if (inet_pton(AF_INET6, text.data(), &address) != 1) return std::nullopt;
  text[0] = '[';
  if (inet_ntop(AF_INET6, &address, text.data() + 1, INET6_ADDRSTRLEN) == nullptr) {
    return std::nullopt;
  }
  std::string canonical(text.data());
  canonical.push_back(']');
  return canonical;
}

Status CheckAuthority(std::string_view authority) {
  if (authority.find('@') != std::string_view::npos) {
    return InvalidArgumentError("userinfo in authority");
  }
  // Made only when refused: the error's message is a heap string, and every
  // request's Host comes through here.
  const auto invalid = [] { return InvalidArgumentError("invalid authority"); };
  const bool ip_literal = authority.starts_with('[');
  const size_t host_end = ip_literal ? authority.find(']') : authority.find(':');
  if (ip_literal && host_end == std::string_view::npos) return invalid();
  const std::string_view host =
      ip_literal ? authority.substr(1, host_end - 1) : authority.substr(0, host_end);
  const std::string_view rest = host_end == std::string_view::npos
                                    ? std::string_view()
                                    : authority.substr(host_end + (ip_literal ? 1 : 0));
  if (host.empty()) return invalid();
  // A name's labels are not empty: `.example`, `a..example` and `.` are
  // refused (as nginx refuses the last two), so that no service takes such
  // a host for another than the one it is routed as; one final dot (a
  // fully qualified name) is the same host without it.
  if (!ip_literal && (host.front() == '.' || host.find("..") != std::string_view::npos)) {
    return invalid();
  }
  if (ip_literal) {
    if (!CanonicalIpv6Literal(authority.substr(0, host_end + 1)).has_value()) return invalid();
  } else {
    for (char c : host) {
      if (!IsUnreserved(static_cast<unsigned char>(c))) return invalid();
    }
  }
  if (rest.empty()) return OkStatus();
  if (rest[0] != ':' || rest.size() < 2 || rest.size() > 6) return invalid();
  int port = 0;
  for (char c : rest.substr(1)) {
    if (!IsDigit(static_cast<unsigned char>(c))) return invalid();
    port = port * 10 + (c - '0');
  }
  return port <= 65535 ? OkStatus() : invalid();
}

std::string NormalizedTarget::OriginForm() const {
  return query.empty() ? path : path + '?' + query;
}

Result<NormalizedTarget> NormalizeRequestTarget(std::string_view target,
                                                const PathNormalizationOptions& options) {
  if (target.empty()) return Invalid("empty request-target");
  if (target == "*") {
    if (!options.allow_asterisk_form) return Invalid("asterisk-form request-target");
    NormalizedTarget asterisk;
    asterisk.path = "*";
    return asterisk;
  }
  NormalizedTarget result;
  if (target[0] != '/') {
    const size_t prefix = SchemePrefixLength(target);
    if (prefix == 0) return Invalid("unsupported request-target form");
    if (!options.allow_absolute_form) return Invalid("absolute-form request-target");
    for (char c : target.substr(0, prefix - 3)) result.scheme.push_back(AsciiLower(c));
    if (result.scheme != "http" && result.scheme != "https") return Invalid("unsupported scheme");
    target.remove_prefix(prefix);
    const size_t end = target.find_first_of("/?");
    const std::string_view authority = target.substr(0, end);
    for (char c : authority) {
      BULWARK_RETURN_IF_ERROR(CheckTargetByte(static_cast<unsigned char>(c)));
    }
    BULWARK_RETURN_IF_ERROR(CheckAuthority(authority));
    for (char c : authority) result.authority.push_back(AsciiLower(c));
    target.remove_prefix(authority.size());
  }
  const size_t question = target.find('?');
  if (question != std::string_view::npos) {
    const std::string_view query = target.substr(question + 1);
    for (char c : query) BULWARK_RETURN_IF_ERROR(CheckTargetByte(static_cast<unsigned char>(c)));
    result.query = std::string(query);
    target = target.substr(0, question);
  }
  BULWARK_ASSIGN_OR_RETURN(result.path, NormalizePath(target, options));
  return result;
}

std::optional<std::string_view> PathBelowPrefix(std::string_view path, std::string_view prefix,
                                                bool ignore_case) {
  const auto same = [ignore_case](std::string_view a, std::string_view b) {
    return ignore_case ? EqualsIgnoreCase(a, b) : a == b;
  };
  if (!path.starts_with('/')) return std::nullopt;
  if (prefix.empty() || prefix == "/") return path;
  if (!prefix.starts_with('/')) return std::nullopt;
  if (prefix.ends_with('/')) prefix.remove_suffix(1);
  // Both views now start at a '/' that precedes a segment.
  while (!prefix.empty()) {
    if (path.empty()) return std::nullopt;
    prefix.remove_prefix(1);
    path.remove_prefix(1);
    const std::string_view want = prefix.substr(0, prefix.find('/'));
    const std::string_view have = path.substr(0, path.find('/'));
    if (!same(have, want) && !(have.size() > want.size() && have[want.size()] == ';' &&
                               same(have.substr(0, want.size()), want))) {
      return std::nullopt;
    }
    prefix.remove_prefix(want.size());
    path.remove_prefix(have.size());
  }
  return path;
}

}  // namespace bulwark::net

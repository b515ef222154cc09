// Fuzzes request-target normalization. Besides "never crash", it checks
// four properties of every accepted target, and aborts if one fails:
//   - idempotence: the gateway routes, authorizes and forwards one path, and
//     a service normalizing it again must not find another;
//   - shape: no dot-segment, no `//` when merging, no `\`, no `%2F`/`%5C`
//     unless allowed, only canonical escapes and path characters, and
//     escapes that decode to valid UTF-8 (checked by a second decoder);
//   - oracle: the path equals what RFC 3986 5.2.4, written out literally,
//     makes of an independent canonicalization of the input;
//   - PathHasPrefixSegment holds for a cut of the path exactly when the cut
//     falls at a segment boundary.
// The first input byte selects the options: bit 0 allow_encoded_slash, bit 1
// allow_encoded_backslash, bit 2 turns merge_slashes off, bit 3 turns
// allow_absolute_form off, bit 4 allow_asterisk_form, bit 5
// allow_dot_segment_parameters, bit 7 allow_encoded_semicolon. Seeds
// starting with '@' (0x40) use the defaults.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/request_path.h"

namespace {

using bulwark::net::NormalizedTarget;
using bulwark::net::PathNormalizationOptions;

[[noreturn]] void Fail(const char* what, std::string_view input, std::string_view output) {
  std::fprintf(stderr, "%s\n  input:  %.*s\n  output: %.*s\n", what, static_cast<int>(input.size()),
               input.data(), static_cast<int>(output.size()), output.data());
  std::abort();
}

bool IsUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int UpperHexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes every escape of a path whose escapes are well-formed.
std::string DecodeAll(std::string_view path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%') {
      out += static_cast<char>(std::stoi(std::string(path.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += path[i];
    }
  }
  return out;
}

// UTF-8 by decoding each code point and checking its range, unlike the
// byte-range table of the code under test.
bool IsValidUtf8ByCodePoints(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const size_t length = lead < 0x80         ? 1
                          : lead >> 5 == 0x6  ? 2
                          : lead >> 4 == 0xE  ? 3
                          : lead >> 3 == 0x1E ? 4
                                              : 0;
    if (length == 0 || i + length > s.size()) return false;
    uint32_t code_point = length == 1 ? lead : lead & (0x7F >> length);
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if (next >> 6 != 0x2) return false;
      code_point = code_point << 6 | (next & 0x3F);
    }
    constexpr uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code_point < kMinimum[length] || code_point > 0x10FFFF) return false;
    if (code_point >= 0xD800 && code_point <= 0xDFFF) return false;
    i += length;
  }
  return true;
}

// Returns what is wrong with `path`, or nullptr.
const char* CheckPathShape(std::string_view path, const PathNormalizationOptions& options) {
  if (path == "*") return options.allow_asterisk_form ? nullptr : "asterisk-form not allowed";
  if (!path.starts_with('/')) return "path does not start with '/'";
  if (options.merge_slashes && path.find("//") != std::string_view::npos) return "'//' remains";
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '%') {
      if (path.size() - i < 3) return "truncated escape";
      const int high = UpperHexValue(path[i + 1]);
      const int low = UpperHexValue(path[i + 2]);
      if (high < 0 || low < 0) return "escape not in upper-case hex";
      const char value = static_cast<char>(high * 16 + low);
      if (IsUnreserved(value)) return "escaped unreserved character";
      if (value == '/' && !options.allow_encoded_slash) return "%2F remains";
      if (value == '\\' && !options.allow_encoded_backslash) return "%5C remains";
      if (value == ';' && !options.allow_encoded_semicolon) return "%3B remains";
      if (static_cast<unsigned char>(value) < 0x20 || value == 0x7F) return "escaped control";
      i += 2;
    } else if (!IsUnreserved(c) &&
               std::string_view("!$&'()*+,;=:@/").find(c) == std::string_view::npos) {
      return "byte outside the path characters";
    }
  }
  for (size_t start = 1; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    const std::string_view head =
        options.allow_dot_segment_parameters ? segment : segment.substr(0, segment.find(';'));
    if (head == "." || head == "..") return "dot-segment remains";
    if (!options.allow_dot_segment_parameters && segment.starts_with(';') && end != path.size()) {
      return "an empty segment with parameters remains before another";
    }
    start = end + 1;
  }
  if (!IsValidUtf8ByCodePoints(DecodeAll(path))) return "escapes are not valid utf-8";
  // Every cut of the path is a prefix it lies under exactly when the cut
  // falls at a segment boundary (a '/' either side, a ';', or the end).
  for (size_t k = 1; k <= path.size(); ++k) {
    const bool boundary =
        k == path.size() || path[k - 1] == '/' || path[k] == '/' || path[k] == ';';
    if (bulwark::net::PathHasPrefixSegment(path, path.substr(0, k)) != boundary) {
      return "PathHasPrefixSegment disagrees with the segment boundaries";
    }
  }
  return nullptr;
}

// RFC 3986 5.2.4, step by step as the RFC writes it.
std::string RemoveDotSegmentsAsWritten(std::string in) {
  std::string out;
  auto remove_last_segment = [&out] {
    const size_t slash = out.rfind('/');
    out.erase(slash == std::string::npos ? 0 : slash);
  };
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.erase(0, 3);
    } else if (in.starts_with("./")) {
      in.erase(0, 2);
    } else if (in.starts_with("/./")) {
      in.replace(0, 3, "/");
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../")) {
      in.replace(0, 4, "/");
      remove_last_segment();
    } else if (in == "/..") {
      in = "/";
      remove_last_segment();
    } else if (in == "." || in == "..") {
      in.clear();
    } else {
      const size_t end = in.find('/', 1);
      out += in.substr(0, end);
      in.erase(0, end == std::string::npos ? in.size() : end);
    }
  }
  return out;
}

// The path an accepted `target` must normalize to: escapes of unreserved
// characters decoded, others upper-cased, slashes merged, then 5.2.4.
std::string ExpectedPath(std::string_view target, const PathNormalizationOptions& options) {
  if (!target.starts_with('/')) {  // absolute-form: drop scheme and authority
    target.remove_prefix(target.find("://") + 3);
    const size_t end = target.find_first_of("/?");
    target.remove_prefix(end == std::string_view::npos ? target.size() : end);
  }
  target = target.substr(0, target.find('?'));
  std::string path;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] != '%') {
      if (!(options.merge_slashes && target[i] == '/' && path.ends_with('/'))) path += target[i];
      continue;
    }
    const std::string hex = {
        static_cast<char>(std::toupper(static_cast<unsigned char>(target[i + 1]))),
        static_cast<char>(std::toupper(static_cast<unsigned char>(target[i + 2])))};
    const char value = static_cast<char>(std::stoi(hex, nullptr, 16));
    path += IsUnreserved(value) ? std::string(1, value) : "%" + hex;
    i += 2;
  }
  path = RemoveDotSegmentsAsWritten(path);
  return path.empty() ? "/" : path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t bits = data[0];
  const PathNormalizationOptions options{
      .allow_encoded_slash = (bits & 1) != 0,
      .allow_encoded_backslash = (bits & 2) != 0,
      .allow_encoded_semicolon = (bits & 128) != 0,
      .merge_slashes = (bits & 4) == 0,
      .allow_absolute_form = (bits & 8) == 0,
      .allow_asterisk_form = (bits & 16) != 0,
      .allow_dot_segment_parameters = (bits & 32) != 0,
  };
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  bulwark::Result<NormalizedTarget> once = bulwark::net::NormalizeRequestTarget(input, options);
  if (!once.has_value()) {
    if (once.error().code() != bulwark::StatusCode::kInvalidArgument) {
      Fail("refusal is not kInvalidArgument", input, once.error().ToString());
    }
    return 0;
  }
  if (const char* problem = CheckPathShape(once->path, options)) Fail(problem, input, once->path);
  for (char c : once->query) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F || c == '#') Fail("bad byte in query", input, once->query);
  }
  if (!once->authority.empty() && once->path == "*") Fail("absolute '*'", input, once->path);

  if (once->path != "*") {
    if (const std::string expected = ExpectedPath(input, options); once->path != expected) {
      Fail("differs from RFC 3986 5.2.4", input, once->path + " (expected " + expected + ")");
    }
  }

  const std::string forwarded = once->OriginForm();
  bulwark::Result<NormalizedTarget> twice =
      bulwark::net::NormalizeRequestTarget(forwarded, options);
  if (!twice.has_value()) Fail("normalized target refused", input, forwarded);
  if (twice->path != once->path || twice->query != once->query) {
    Fail("not idempotent", input, forwarded + " -> " + twice->OriginForm());
  }
  return 0;
}

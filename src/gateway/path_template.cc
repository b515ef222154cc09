#include "gateway/path_template.h"

#include <fmt/format.h>

#include <algorithm>

#include "net/request_head.h"
#include "net/request_path.h"

namespace bulwark::gateway {

namespace {

// Splits "/a/b/c" into {"a", "b", "c"}.
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    const size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// "{name}" -> "name", "{name*}" -> "name" with rest = true; else nullopt.
std::optional<std::string_view> Parameter(std::string_view segment, bool* rest) {
  if (segment.size() < 3 || segment.front() != '{' || segment.back() != '}') return std::nullopt;
  std::string_view name = segment.substr(1, segment.size() - 2);
  const bool star = name.back() == '*';
  if (star) name.remove_suffix(1);
  *rest = star;
  if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      })) {
    return std::nullopt;
  }
  return name;
}

}  // namespace

Result<std::vector<PathSegment>> CompilePathTemplate(std::string_view path) {
  std::vector<PathSegment> out;
  if (path.empty()) return out;
  if (path.front() != '/') return Err(InvalidArgumentError("path must start with '/'"));
  const std::vector<std::string_view> segments = Segments(path);
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string_view s = segments[i];
    bool star = false;
    if (auto name = Parameter(s, &star)) {
      if (star && i + 1 != segments.size()) {
        return Err(
            InvalidArgumentError(fmt::format("path: {{{}*}} must be the last segment", *name)));
      }
      if (std::any_of(out.begin(), out.end(),
                      [&](const PathSegment& p) { return p.parameter && p.text == *name; })) {
        return Err(InvalidArgumentError(fmt::format("path: parameter `{}` appears twice", *name)));
      }
      out.push_back({std::string(*name), true, star});
    } else if (s.find_first_of("{}") != std::string_view::npos) {
      return Err(InvalidArgumentError(fmt::format("path: bad segment `{}`", s)));
    } else {
      out.push_back({std::string(s), false, false});
    }
  }
  return out;
}

PathParams SampleParams(const std::vector<PathSegment>& segments) {
  PathParams out;
  for (const PathSegment& s : segments) {
    if (s.parameter) out.emplace(s.text, "x");
  }
  return out;
}

Result<std::string> ExpandTemplate(std::string_view text, const PathParams& params) {
  std::string out;
  while (!text.empty()) {
    const size_t open = text.find('{');
    out += text.substr(0, open);
    if (open == std::string_view::npos) break;
    const size_t close = text.find('}', open);
    if (close == std::string_view::npos) return Err(InvalidArgumentError("unclosed { in template"));
    auto it = params.find(text.substr(open + 1, close - open - 1));
    if (it == params.end()) {
      return Err(InvalidArgumentError(fmt::format("parameter `{}` is not in the path",
                                                  text.substr(open + 1, close - open - 1))));
    }
    out += it->second;
    text.remove_prefix(close + 1);
  }
  return out;
}

std::optional<PathParams> MatchPathTemplate(const std::vector<PathSegment>& segments,
                                            std::string_view path, bool ignore_case) {
  PathParams params;
  if (segments.empty()) return params;
  std::string_view rest = path;
  if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  for (size_t i = 0; i < segments.size(); ++i) {
    const PathSegment& want = segments[i];
    if (want.rest) {
      if (rest.empty()) return std::nullopt;
      // Each segment as the service will resolve it, joined by '/'.
      std::string value;
      for (std::string_view left = rest;;) {
        const size_t slash = left.find('/');
        std::optional<std::string> segment = net::SegmentResource(left.substr(0, slash));
        if (!segment) return std::nullopt;
        value += *segment;
        if (slash == std::string_view::npos) break;
        value.push_back('/');
        left.remove_prefix(slash + 1);
      }
      params.emplace(want.text, std::move(value));
      return params;
    }
    const size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    const bool last = i + 1 == segments.size();
    if (last != (slash == std::string_view::npos)) return std::nullopt;
    if (want.parameter) {
      // What the service will take the segment for (`secret;a` is secret,
      // `q%3A1` is q:1), so that a policy on one name cannot be stepped
      // around by writing it another way.
      std::optional<std::string> value = net::SegmentResource(segment);
      if (!value) return std::nullopt;
      params.emplace(want.text, std::move(*value));
    } else if (ignore_case ? !net::EqualsIgnoreCase(segment, want.text) : segment != want.text) {
      return std::nullopt;
    }
    rest = last ? std::string_view() : rest.substr(slash + 1);
  }
  return params;
}

}  // namespace bulwark::gateway

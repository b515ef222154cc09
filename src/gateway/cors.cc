#include "gateway/cors.h"

#include <libpsl.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "net/request_head.h"

namespace bulwark::gateway {

namespace {

struct OriginParts {
  std::string_view scheme;
  std::string_view host;
  std::string_view port;  // "" for none
};

// Whether every site under `domain` may be anyone's: a suffix of the Public
// Suffix List (`co.uk`, and the private section's `github.io`,
// `s3.amazonaws.com`, where anyone can have a name), or an unlisted
// top-level domain. The newer of libpsl's built-in list and the system's.
bool IsPublicSuffix(const std::string& domain) {
  static const std::unique_ptr<psl_ctx_t, void (*)(psl_ctx_t*)> latest(psl_latest(nullptr),
                                                                       psl_free);
  const psl_ctx_t* list = latest != nullptr ? latest.get() : psl_builtin();
  // Without a list (a libpsl built without one, and no system file), the
  // check for a top-level domain, made before, is all there is.
  return list != nullptr && psl_is_public_suffix(list, domain.c_str()) != 0;
}

bool IsLowerAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A serialized origin as a browser sends it (the URL standard's
// serialization): lower-case `scheme://host[:port]`, the host a domain of
// letters, digits, '-' and '.', or an IPv4 address, or an IPv6 literal in
// brackets; a port of up to five digits without a leading zero. Nothing
// follows: no path, no '/', no user information.
std::optional<OriginParts> ParseOrigin(std::string_view text) {
  const size_t separator = text.find("://");
  if (separator == std::string_view::npos || separator == 0) return std::nullopt;
  OriginParts parts;
  parts.scheme = text.substr(0, separator);
  if (!IsLowerAlpha(parts.scheme.front()) ||
      !std::all_of(parts.scheme.begin(), parts.scheme.end(), [](char c) {
        return IsLowerAlpha(c) || IsDigit(c) || c == '+' || c == '-' || c == '.';
      })) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(separator + 3);
  size_t host_end;
  if (rest.starts_with('[')) {
    host_end = rest.find(']');
    if (host_end == std::string_view::npos || host_end < 3) return std::nullopt;
    const std::string_view inside = rest.substr(1, host_end - 1);
    if (!std::all_of(inside.begin(), inside.end(), [](char c) {
          return IsDigit(c) || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
        })) {
      return std::nullopt;
    }
    ++host_end;
  } else {
    host_end = rest.find(':');
    if (host_end == std::string_view::npos) host_end = rest.size();
    const std::string_view host = rest.substr(0, host_end);
    if (host.empty() || host.front() == '.' || host.front() == '-' ||
        host.find("..") != std::string_view::npos ||
        !std::all_of(host.begin(), host.end(), [](char c) {
          return IsLowerAlpha(c) || IsDigit(c) || c == '-' || c == '.';
        })) {
      return std::nullopt;
    }
  }
  parts.host = rest.substr(0, host_end);
  rest.remove_prefix(host_end);
  if (!rest.empty()) {
    if (rest.front() != ':') return std::nullopt;
    parts.port = rest.substr(1);
    unsigned value = 0;
    const auto [end, ec] =
        std::from_chars(parts.port.data(), parts.port.data() + parts.port.size(), value);
    if (parts.port.empty() || parts.port.size() > 5 || parts.port.front() == '0' ||
        ec != std::errc() || end != parts.port.data() + parts.port.size() || value > 65535) {
      return std::nullopt;
    }
  }
  return parts;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

bool IsDefaultPort(const OriginParts& parts) {
  return (parts.scheme == "http" && parts.port == "80") ||
         (parts.scheme == "https" && parts.port == "443");
}

}  // namespace

bool CorsPolicy::AllowsOrigin(std::string_view origin) const {
  const std::optional<OriginParts> parts = ParseOrigin(origin);
  if (!parts) return false;
  if (any_origin) return true;
  if (std::find(origins.begin(), origins.end(), origin) != origins.end()) return true;
  return std::any_of(subdomains.begin(), subdomains.end(), [&](const Subdomains& pattern) {
    const std::string_view host = parts->host;
    return parts->scheme == pattern.scheme && parts->port == pattern.port &&
           host.size() > pattern.domain.size() + 1 && host.ends_with(pattern.domain) &&
           host[host.size() - pattern.domain.size() - 1] == '.';
  });
}

Status AddAllowedOrigin(std::string_view text, CorsPolicy& policy) {
  if (text == "*") {
    if (policy.any_origin || !policy.origins.empty() || !policy.subdomains.empty()) {
      return InvalidArgumentError("'*' allows every origin: list it alone");
    }
    policy.any_origin = true;
    return OkStatus();
  }
  if (policy.any_origin) return InvalidArgumentError("'*' allows every origin: list it alone");
  std::string origin = Lower(text);
  if (origin == "null") {
    return InvalidArgumentError(
        "'null' is the origin of sandboxed frames, file: pages and redirected requests of any "
        "site, so no page can be told apart by it");
  }
  const size_t scheme_end = origin.find("://");
  const size_t after_scheme = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  if (origin.find('/', after_scheme) != std::string::npos) {
    return InvalidArgumentError(
        "'" + std::string(text) +
        "' is not an origin: a browser sends scheme://host[:port], with no path or "
        "trailing '/'");
  }
  const size_t star = origin.find('*');
  const bool pattern = star != std::string::npos;
  if (pattern) {
    if (scheme_end == std::string::npos || star != after_scheme ||
        origin.compare(star, 2, "*.") != 0 || origin.find('*', star + 1) != std::string::npos) {
      return InvalidArgumentError(
          "'" + std::string(text) +
          "': a pattern is scheme://*.domain[:port], its '*' the first label alone");
    }
    origin.erase(star, 2);  // https://example.com, to parse as an origin
  }
  const std::optional<OriginParts> parts = ParseOrigin(origin);
  if (!parts) {
    return InvalidArgumentError("'" + std::string(text) +
                                "' is not an origin as a browser sends it: scheme://host[:port]");
  }
  if (IsDefaultPort(*parts)) {
    return InvalidArgumentError("'" + std::string(text) +
                                "': a browser sends an origin without its default port");
  }
  if (pattern) {
    if (parts->host.starts_with('[') || parts->host.find('.') == std::string_view::npos) {
      return InvalidArgumentError(
          "'" + std::string(text) +
          "' would allow every site of a top-level domain: name a domain under it");
    }
    if (IsPublicSuffix(std::string(parts->host))) {
      return InvalidArgumentError(
          "'" + std::string(text) + "' would allow every site under a public suffix (" +
          std::string(parts->host) + ", where anyone can have a name): name a domain under it");
    }
    CorsPolicy::Subdomains subdomains{.scheme = std::string(parts->scheme),
                                      .domain = std::string(parts->host),
                                      .port = std::string(parts->port)};
    const bool seen = std::any_of(
        policy.subdomains.begin(), policy.subdomains.end(), [&](const CorsPolicy::Subdomains& s) {
          return s.scheme == subdomains.scheme && s.domain == subdomains.domain &&
                 s.port == subdomains.port;
        });
    if (seen) return InvalidArgumentError("'" + std::string(text) + "' is named twice");
    policy.subdomains.push_back(std::move(subdomains));
    return OkStatus();
  }
  if (std::find(policy.origins.begin(), policy.origins.end(), origin) != policy.origins.end()) {
    return InvalidArgumentError("'" + std::string(text) + "' is named twice");
  }
  policy.origins.push_back(std::move(origin));
  return OkStatus();
}

std::optional<std::string> DecideCorsPreflight(const CorsPolicy& policy,
                                               const CorsPreflight& preflight,
                                               std::string& fields) {
  if (!policy.AllowsOrigin(preflight.origin)) return "CORS preflight: origin not allowed";
  if (!net::IsToken(preflight.method) || std::find(policy.methods.begin(), policy.methods.end(),
                                                   preflight.method) == policy.methods.end()) {
    return "CORS preflight: method not allowed";
  }
  // The fields asked for, each allowed (in any case), echoed in lower
  // case; the first refused, if one is.
  std::string requested;
  std::string_view refused;
  net::AnyListElement(preflight.headers, [&](std::string_view name) {
    if (name.empty()) return false;
    const bool allowed =
        net::IsToken(name) &&
        (policy.any_header ||
         std::any_of(policy.headers.begin(), policy.headers.end(), [&](const std::string& header) {
           return net::EqualsIgnoreCase(name, header);
         }));
    if (!allowed) {
      refused = name;
      return true;
    }
    if (!requested.empty()) requested += ", ";
    requested += Lower(name);
    return false;
  });
  if (!refused.empty()) {
    return "CORS preflight: field " +
           (net::IsToken(refused) ? Lower(refused) : "a malformed name") + " not allowed";
  }

  net::AppendFieldLine(fields, "Access-Control-Allow-Origin", preflight.origin);
  if (policy.credentials) net::AppendFieldLine(fields, "Access-Control-Allow-Credentials", "true");
  net::AppendFieldLine(fields, "Access-Control-Allow-Methods",
                       fmt::format("{}", fmt::join(policy.methods, ", ")));
  if (!requested.empty()) net::AppendFieldLine(fields, "Access-Control-Allow-Headers", requested);
  if (policy.max_age_s) {
    net::AppendFieldLine(fields, "Access-Control-Max-Age", fmt::format("{}", *policy.max_age_s));
  }
  net::AppendFieldLine(fields, "Vary",
                       "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  return std::nullopt;
}

void AppendCorsFields(const CorsPolicy& policy, std::string_view origin, int origin_count,
                      std::string& fields) {
  if (origin_count == 1 && policy.AllowsOrigin(origin)) {
    net::AppendFieldLine(fields, "Access-Control-Allow-Origin", origin);
    if (policy.credentials)
      net::AppendFieldLine(fields, "Access-Control-Allow-Credentials", "true");
    net::AppendFieldLine(
        fields, "Access-Control-Expose-Headers",
        policy.expose_headers.empty()
            ? std::string(kGatewayExposedFields)
            : fmt::format("{}, {}", kGatewayExposedFields, fmt::join(policy.expose_headers, ", ")));
  }
  net::AppendFieldLine(fields, "Vary", "Origin");
}

bool IsSafeMethod(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

bool IsOwnOrigin(std::string_view origin, bool tls, std::string_view host) {
  const std::string_view scheme = tls ? "https://" : "http://";
  return !host.empty() && origin.starts_with(scheme) &&
         net::EqualsIgnoreCase(origin.substr(scheme.size()), host);
}

bool IsCorsResponseField(std::string_view name) {
  return std::any_of(std::begin(kCorsResponseFields), std::end(kCorsResponseFields),
                     [&](std::string_view field) { return net::EqualsIgnoreCase(name, field); });
}

}  // namespace bulwark::gateway

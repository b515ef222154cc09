#include "gateway/route.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <string>

#include "net/request_head.h"
#include "net/request_path.h"

namespace bulwark::gateway {

std::string_view HostWithoutPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  return host.substr(0, host.rfind(':'));
}

namespace {

// RoutedHostName but for its case, which the route match ignores.
std::string_view HostNameOf(std::string_view host) {
  host = HostWithoutPort(host);
  if (host.size() > 1 && host.back() == '.') host.remove_suffix(1);
  return host;
}

}  // namespace

std::string RoutedHostName(std::string_view host) {
  const std::string_view bare_host = HostNameOf(host);
  if (bare_host.starts_with('[')) {
    return net::CanonicalIpv6Literal(bare_host).value_or(std::string(bare_host));
  }
  std::string name(bare_host);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

bool PathUnderPrefix(std::string_view path, std::string_view prefix, bool ignore_case) {
  return net::PathHasPrefixSegment(path, prefix, ignore_case);
}

bool RouteAuthn::TakesApiKeys() const {
  return mode != AuthnMode::kNone && std::find(credentials.begin(), credentials.end(),
                                               CredentialKind::kApiKey) != credentials.end();
}

bool IsSpiffePattern(std::string_view pattern) { return pattern.starts_with(kSpiffeScheme); }

bool IsIdentityField(std::string_view name) {
  return net::HasPrefixIgnoringCase(name, kGatewayFieldPrefix);
}

namespace {

// Every X-Forwarded-* (Bulwark sets For, Proto, Host and Prefix; the others,
// -Uri, -Method, -Ssl, -Scheme, -Port..., would tell a service what the
// client made up) and every X-Envoy-* (as Envoy drops them from the requests
// of its external clients). And the client certificate a TLS-terminating
// proxy passes on, which a service takes as verified: RFC 9440's fields
// (which such a proxy must remove from what clients send, section 4), and
// the names nginx configurations, IIS's ARR and AWS's load balancers use.
// Bulwark terminates TLS and passes the verified identity as X-Bulwark-*.
constexpr std::string_view kOwnedPrefixes[] = {
    kGatewayFieldPrefix,     "X-Forwarded-",    "X-Envoy-",
    "Client-Cert",           "X-SSL-",          "SSL-Client",
    "X-Client-Cert",         "X-Client-Verify", "X-ARR-ClientCert",
    "X-Amzn-Mtls-Clientcert"};

// The client addresses and original targets other proxies and CDNs set,
// which frameworks take on trust (Gin's X-Real-IP, Akamai's
// True-Client-IP...): from a client, each is a claim of its own. And
// Proxy-Authorization, a credential for the first proxy that asked for one
// (RFC 9110 section 11.7.2), which is the gateway, never the service.
constexpr std::string_view kOwnedNames[] = {"Host",
                                            "Expect",
                                            "Forwarded",
                                            "Proxy-Authorization",
                                            "X-Real-IP",
                                            "X-Client-IP",
                                            "True-Client-IP",
                                            "X-Cluster-Client-IP",
                                            "CF-Connecting-IP",
                                            "Fastly-Client-IP",
                                            "X-Original-Forwarded-For",
                                            "X-Original-URI",
                                            "X-Original-Method"};

constexpr char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The first letters (lower case) that owned names and prefixes start with:
// any other field (Authorization, Accept, User-Agent...) is told apart by
// its first letter alone. Every request's every field passes here.
constexpr std::array<bool, 256> kOwnedFirstLetter = [] {
  std::array<bool, 256> table{};
  for (const std::string_view s : kOwnedPrefixes)
    table[static_cast<unsigned char>(Lower(s[0]))] = true;
  for (const std::string_view s : kOwnedNames)
    table[static_cast<unsigned char>(Lower(s[0]))] = true;
  return table;
}();

}  // namespace

bool IsGatewayOwnedRequestField(std::string_view name) {
  if (name.empty()) return false;
  const char first = Lower(name[0]);
  if (!kOwnedFirstLetter[static_cast<unsigned char>(first)]) return false;
  for (const std::string_view prefix : kOwnedPrefixes) {
    if (Lower(prefix[0]) == first && net::HasPrefixIgnoringCase(name, prefix)) return true;
  }
  for (const std::string_view owned : kOwnedNames) {
    if (Lower(owned[0]) == first && net::EqualsIgnoreCase(name, owned)) return true;
  }
  return false;
}

std::string ForwardedPath(const Route& route, std::string_view path) {
  if (!route.prefix_rewrite) return std::string(path);
  const std::string_view rest =
      net::PathBelowPrefix(path, route.path_prefix, !route.case_sensitive).value_or(path);
  const std::string& to = *route.prefix_rewrite;
  if (to.empty() && rest.empty()) return std::string(1, '/');
  std::string out;
  out.reserve(to.size() + rest.size());
  out.append(to).append(rest);
  return out;
}

const Route* RouteTable::Match(std::string_view method, std::string_view host,
                               std::string_view path) const {
  std::string_view bare_host = HostNameOf(host);
  std::optional<std::string> ipv6_literal;
  if (bare_host.starts_with('[')) {
    ipv6_literal = net::CanonicalIpv6Literal(bare_host);
    if (ipv6_literal.has_value()) bare_host = *ipv6_literal;
  }
  for (const Route& route : routes_) {
    if (!route.host.empty() && !net::EqualsIgnoreCase(route.host, bare_host)) continue;
    if (!PathUnderPrefix(path, route.path_prefix, !route.case_sensitive)) continue;
    if (!route.methods.empty() &&
        std::find(route.methods.begin(), route.methods.end(), method) == route.methods.end()) {
      continue;
    }
    return &route;
  }
  return nullptr;
}

}  // namespace bulwark::gateway

#include "gateway/forward_auth.h"

#include <chrono>
#include <string>

namespace bulwark::gateway {

namespace {

enum class Flavor { kNginx, kEnvoy, kTraefik };

constexpr std::string_view kEnvoyPrefix = "/auth/envoy";

std::optional<Flavor> FlavorOf(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  if (path == "/auth/nginx") return Flavor::kNginx;
  if (path == "/auth/traefik") return Flavor::kTraefik;
  if (target.starts_with(kEnvoyPrefix) &&
      (target.size() == kEnvoyPrefix.size() || target[kEnvoyPrefix.size()] == '/' ||
       target[kEnvoyPrefix.size()] == '?')) {
    return Flavor::kEnvoy;
  }
  return std::nullopt;
}

bool Trusted(const ForwardAuthOptions& options, std::string_view peer) {
  auto ip = IpAddress::Parse(peer);
  if (!ip) return false;
  if (options.trusted_proxies.empty()) {
    static const CidrRange kLoopback4 = *CidrRange::Parse("127.0.0.0/8");
    static const CidrRange kLoopback6 = *CidrRange::Parse("::1");
    return kLoopback4.Contains(*ip) || kLoopback6.Contains(*ip);
  }
  for (const CidrRange& range : options.trusted_proxies) {
    if (range.Contains(*ip)) return true;
  }
  return false;
}

// The client address a trusted proxy reports: X-Real-IP, else the last hop
// of X-Forwarded-For (the one the proxy itself appended), else the peer.
std::string_view ClientIp(const net::HttpRequest& request) {
  if (auto real = request.Header("X-Real-IP")) return *real;
  if (auto xff = request.Header("X-Forwarded-For")) {
    std::string_view last = *xff;
    if (size_t comma = last.rfind(','); comma != std::string_view::npos) {
      last.remove_prefix(comma + 1);
    }
    while (!last.empty() && last.front() == ' ') last.remove_prefix(1);
    return last;
  }
  return request.remote_address;
}

int CountHeaders(const net::HttpRequest& request, std::string_view name) {
  int n = 0;
  for (const auto& [k, v] : request.headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return (a | 0x20) == (b | 0x20);
        })) {
      ++n;
    }
  }
  return n;
}

net::HttpResponse Plain(int status, std::string_view body) {
  return {.status = status,
          .headers = {{"Content-Type", "text/plain; charset=utf-8"}, {"Cache-Control", "no-store"}},
          .body = std::string(body)};
}

std::string_view ReasonBody(int status) {
  switch (status) {
    case 200:
      return "allowed\n";
    case 400:
      return "bad request\n";
    case 401:
      return "unauthorized\n";
    case 403:
      return "forbidden\n";
    case 404:
      return "no route\n";
    case 429:
      return "too many requests\n";
    default:
      return "denied\n";
  }
}

}  // namespace

std::optional<net::HttpResponse> HandleForwardAuth(const Gateway& gateway,
                                                   const ForwardAuthOptions& options,
                                                   const net::HttpRequest& request,
                                                   DecisionRecorder* recorder) {
  const auto start = std::chrono::steady_clock::now();
  std::optional<Flavor> flavor = FlavorOf(request.target);
  if (!flavor) return std::nullopt;
  if (!Trusted(options, request.remote_address)) return Plain(403, "forbidden\n");

  RequestFacts facts{.client_ip = ClientIp(request), .headers = &request.headers};
  facts.authorization = request.Header("Authorization").value_or("");
  facts.authorization_count = CountHeaders(request, "Authorization");
  switch (*flavor) {
    case Flavor::kNginx:
      facts.method = request.Header("X-Original-Method").value_or(request.method);
      facts.target = request.Header("X-Original-URI").value_or("");
      facts.host = request.Header("Host").value_or("");
      break;
    case Flavor::kEnvoy: {
      facts.method = request.method;
      std::string_view rest = std::string_view(request.target).substr(kEnvoyPrefix.size());
      facts.target = rest.empty() || rest.front() == '?' ? std::string_view("/") : rest;
      facts.host = request.Header("Host").value_or("");
      break;
    }
    case Flavor::kTraefik:
      facts.method = request.Header("X-Forwarded-Method").value_or("");
      facts.target = request.Header("X-Forwarded-Uri").value_or("");
      facts.host = request.Header("X-Forwarded-Host").value_or("");
      break;
  }
  if (facts.method.empty() || facts.target.empty()) {
    return Plain(400, "missing original request\n");
  }

  Decision decision = gateway.Decide(facts);
  static constexpr std::string_view kFrontend[] = {"nginx", "envoy", "traefik"};
  const bool nginx_cannot_pass = *flavor == Flavor::kNginx && decision.status != 200 &&
                                 decision.status != 401 && decision.status != 403;
  net::HttpResponse response =
      Plain(nginx_cannot_pass ? 403 : decision.status, ReasonBody(decision.status));
  response.headers.emplace_back("X-Bulwark-Status", std::to_string(decision.status));
  for (auto& h : decision.response_headers) response.headers.push_back(std::move(h));
  if (decision.allowed()) {
    for (auto& h : decision.identity_headers) response.headers.push_back(std::move(h));
  }
  if (recorder) {
    recorder->Record(kFrontend[static_cast<int>(*flavor)], facts, decision, decision.status,
                     std::chrono::steady_clock::now() - start);
  }
  return response;
}

}  // namespace bulwark::gateway

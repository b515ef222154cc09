#include "gateway/forward_auth.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>
#include <vector>

#include "core/log.h"
#include "gateway/api_key_authenticator.h"
#include "gateway/identity_token.h"
#include "gateway/key_refetch_wait.h"
#include "gateway/route.h"
#include "gateway/status_response.h"
#include "net/request_path.h"

namespace bulwark::gateway {

namespace {

enum class Flavor { kNginx, kEnvoy, kTraefik };

constexpr std::string_view kEnvoyPrefix = "/auth/envoy";

// The path of `target`, without its query.
std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

std::optional<Flavor> FlavorOf(std::string_view target) {
  const std::string_view path = PathOf(target);
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
  const std::optional<IpAddress> ip = IpAddress::Parse(peer);
  return ip && AnyContains(options.trusted_proxies, *ip);
}

// The fields that say what is decided, each allowed once: were a client's
// copy read before the proxy's, the client would choose the path, method,
// host or address decided on.
constexpr std::string_view kOnceFields[] = {
    "X-Real-IP",          "X-Original-Method", "X-Original-URI",  "X-Original-Host",
    "X-Forwarded-Method", "X-Forwarded-Uri",   "X-Forwarded-Host"};

// The client address a trusted proxy reports: from nginx X-Real-IP, which
// its recipe sets (the subrequest passes on the client's own
// X-Forwarded-For as it came); from Envoy and Traefik the last hop of
// X-Forwarded-For, the one the proxy itself appended (the last of its field
// lines, which together make one list). Envoy never sets X-Real-IP, and
// Traefik keeps the copy a load balancer it trusts passed on (AWS's passes
// the client's as it came), so from them X-Real-IP is the client's own
// claim. Without its field the address is unknown ("", which address rules
// refuse), never the peer's: behind a proxy the peer is the proxy, and an
// address rule that lets in the proxy's network would let in everyone.
std::string_view ClientIp(const net::HttpRequest& request, Flavor flavor) {
  if (flavor == Flavor::kNginx) return request.Header("X-Real-IP").value_or("");
  std::optional<std::string_view> xff;
  for (const auto& [name, value] : request.headers) {
    if (net::EqualsIgnoreCase(name, "X-Forwarded-For")) xff = value;
  }
  if (!xff) return {};
  std::string_view last = *xff;
  if (size_t comma = last.rfind(','); comma != std::string_view::npos) {
    last.remove_prefix(comma + 1);
  }
  net::TrimOws(last);
  return last;
}

// The field of Envoy's ext_authz HTTP service: an OK answer names in it the
// fields Envoy removes from the request before it forwards it, once it has
// set those of the answer that its allowed_upstream_headers let through.
constexpr std::string_view kEnvoyRemovals = "x-envoy-auth-headers-to-remove";

// Fields a client may send that frameworks take on trust as a proxy's word:
// where the client is (X-Real-IP, True-Client-IP...), which host, prefix
// or path it asked for (X-Forwarded-Host, Forwarded...), its verified
// certificate (RFC 9440's Client-Cert...). The reverse proxy drops them
// (IsGatewayOwnedRequestField); Envoy neither sets nor removes them, so an
// allowed answer names them whether Envoy showed them or not, and a
// request decided on `Host: api.example` does not reach a service that
// trusts X-Forwarded-Host as `admin.example`. (Envoy's own, X-Forwarded-For
// and -Proto with use_remote_address, X-Forwarded-Client-Cert and
// X-Envoy-*, stay: it sets them, or sanitizes a client's copy.)
constexpr std::string_view kClientClaims[] = {
    "forwarded",          "x-forwarded-host",   "x-forwarded-prefix",       "x-forwarded-uri",
    "x-forwarded-method", "x-forwarded-server", "x-forwarded-ssl",          "x-forwarded-scheme",
    "x-real-ip",          "x-client-ip",        "true-client-ip",           "x-cluster-client-ip",
    "cf-connecting-ip",   "fastly-client-ip",   "x-original-forwarded-for", "x-original-uri",
    "x-original-method",  "x-original-host",    "proxy-authorization",      "client-cert",
    "client-cert-chain",  "x-ssl-client-cert",  "x-ssl-client-verify",      "x-client-cert",
    "x-client-verify",    "x-arr-clientcert",   "x-amzn-mtls-clientcert"};

// Fields Envoy sets itself, or keeps from clients only as configured, that
// an answer must not ask it to remove: the request's own Host and Expect,
// the X-Forwarded-For it appends to and the X-Forwarded-Proto,
// X-Forwarded-Port and X-Forwarded-Client-Cert it sets, and X-Envoy-*.
bool IsEnvoysOwn(std::string_view name) {
  for (std::string_view own : {"Host", "Expect", "X-Forwarded-For", "X-Forwarded-Proto",
                               "X-Forwarded-Port", "X-Forwarded-Client-Cert"}) {
    if (net::EqualsIgnoreCase(name, own)) return true;
  }
  return net::HasPrefixIgnoringCase(name, "X-Envoy-");
}

// What an allowed request behind Envoy loses on its way to the service, as
// the reverse proxy drops it (DroppedRequestFields): the credential the
// gateway consumed (a verified JWT whose issuer does not forward tokens, an
// API key on a route that reads them), the route's request_headers
// removals, and every identity field the answer does not set, so that no
// client's copy stands in for one the gateway leaves unset
// (X-Bulwark-Spiffe-Id for a JWT caller). The fields named are those Envoy
// may have even where it did not show them to the gateway (its
// allowed_headers), and those it showed. Empty if nothing is removed.
std::string EnvoyRemovals(const HeaderList& request_fields, const Decision& decision,
                          const HeaderList& answer_fields) {
  std::vector<std::string> names;  // lower case, as Envoy keeps them
  auto remove = [&](std::string_view name) {
    for (const auto& field : answer_fields) {
      if (net::EqualsIgnoreCase(field.first, name)) return;  // set, so replaced
    }
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::find(names.begin(), names.end(), lower) == names.end()) {
      names.push_back(std::move(lower));
    }
  };
  const DroppedRequestFields dropped = DroppedFieldsOf(decision);
  if (dropped.authorization) remove("Authorization");
  if (dropped.api_key) remove(kApiKeyHeader);
  for (const std::string& name : dropped.named) remove(name);
  for (std::string_view name : kIdentityHeaders) remove(name);
  remove(kIdentityTokenHeader);
  for (std::string_view name : kClientClaims) remove(name);
  for (const auto& [name, value] : request_fields) {
    if (IsIdentityField(name) || dropped.Drops(name, value) ||
        (IsGatewayOwnedRequestField(name) && !IsEnvoysOwn(name))) {
      remove(name);
    }
  }
  std::string list;
  for (const std::string& name : names) {
    if (!list.empty()) list.append(", ");
    list.append(name);
  }
  return list;
}

// nginx and Traefik, with the recipes of docs/gateway.md, give the service
// the Authorization and X-Api-Key of an allowed answer in place of the
// client's, so the answer repeats those of the client's the reverse proxy
// would pass on (DroppedRequestFields): any on a route that reads none, and
// a JWT whose issuer sets forward_token. A field the client sent twice is
// not repeated: which of the two the proxy would pass is its own choice.
void AppendPassedCredentials(const RequestFacts& facts, const Decision& decision,
                             HeaderList& answer_fields) {
  const DroppedRequestFields dropped = DroppedFieldsOf(decision);
  if (facts.authorization_count == 1 && !dropped.Drops("Authorization", facts.authorization)) {
    answer_fields.emplace_back("Authorization", facts.authorization);
  }
  if (facts.api_key_count == 1 && !dropped.Drops(kApiKeyHeader, facts.api_key)) {
    answer_fields.emplace_back(kApiKeyHeader, facts.api_key);
  }
}

// The audience of the signed identity an allowed answer carries: the
// route's upstream, as the reverse proxy signs for it, else the route's
// name (a route behind forward-auth need not name an upstream).
std::string_view IdentityAudience(const Route& route) {
  return route.upstream.empty() ? std::string_view(route.name) : std::string_view(route.upstream);
}

}  // namespace

bool IsForwardAuthTarget(std::string_view target) {
  // The endpoints and every path that begins as one does: a proxy given a
  // wrong address (`/auth/traefik/`, `/auth/nginx.`) gets 404, a denial,
  // not a catch-all route's service's 200. Other paths under /auth/
  // (Keycloak's /auth/realms/, an app's /auth/callback) stay routes'.
  const std::string_view path = PathOf(target);
  return path == "/auth" || path == "/auth/" || path.starts_with("/auth/nginx") ||
         path.starts_with("/auth/traefik") || path.starts_with(kEnvoyPrefix);
}

boost::asio::awaitable<std::optional<net::HttpResponse>> HandleForwardAuth(
    const Gateway& gateway, const ForwardAuthOptions& options, const net::HttpRequest& request,
    DecisionRecorder* recorder, const IdentityTokenSigner* identity) {
  const auto start = std::chrono::steady_clock::now();
  std::optional<Flavor> flavor = FlavorOf(request.target);
  if (!options.enabled || !flavor) co_return std::nullopt;

  RequestFacts facts{.headers = &request.headers, .target_passed_on_as_sent = true};
  const std::string_view host = FillCredentialFacts(request.headers, facts);
  // What stops the call before any decision (Decide answers it, so that it
  // is audited and counted): what the fields say is trusted only from a
  // proxy, and only when said once each and well formed.
  const auto refuse = [&facts](int status, std::string_view reason) {
    if (facts.refused_status == 0) {
      facts.refused_status = status;
      facts.refused_reason = reason;
    }
  };
  if (!Trusted(options, request.remote_address)) {
    facts.client_ip = request.remote_address;  // the fields say nothing trusted
    refuse(403, "forward-auth call from a peer not in trusted_proxies");
  } else {
    facts.client_ip = ClientIp(request, *flavor);
    for (std::string_view name : kOnceFields) {
      if (request.HeaderCount(name) > 1) refuse(400, "a forward-auth field came twice");
    }
  }
  switch (*flavor) {
    case Flavor::kNginx:
      // The subrequest's own Host is Bulwark's address, not the request's.
      facts.method = request.Header("X-Original-Method").value_or("");
      facts.target = request.Header("X-Original-URI").value_or("");
      facts.host = request.Header("X-Original-Host").value_or("");
      break;
    case Flavor::kEnvoy: {
      facts.method = request.method;
      std::string_view rest = std::string_view(request.target).substr(kEnvoyPrefix.size());
      facts.target = rest.empty() || rest.front() == '?' ? std::string_view("/") : rest;
      facts.host = host;
      break;
    }
    case Flavor::kTraefik:
      facts.method = request.Header("X-Forwarded-Method").value_or("");
      facts.target = request.Header("X-Forwarded-Uri").value_or("");
      facts.host = request.Header("X-Forwarded-Host").value_or("");
      break;
  }
  if (facts.method.empty() || facts.target.empty() || facts.host.empty()) {
    refuse(400, "forward-auth call without the method, target or host to decide");
  } else if (!net::CheckAuthority(facts.host).ok()) {
    // As the reverse proxy refuses such a Host: routes match on the host.
    refuse(400, "bad forwarded host");
  }

  Decision decision = gateway.Decide(facts);
  static constexpr std::string_view kFrontend[] = {"nginx", "envoy", "traefik"};
  DecisionRecord record(recorder, kFrontend[static_cast<int>(*flavor)], facts, decision, start);
  // Refused for a kid its issuer's keys lack while they are refetched (the
  // coroutine only then): wait for that fetch and decide once more.
  if (decision.jwks_refetch.pending) {
    co_await DecideAgainAfterKeyRefetch(gateway, facts, decision, start);
  }
  // The signed identity, for a service that does not trust the network: an
  // answer that cannot carry it refuses (503), as the reverse proxy
  // forwards nothing without it.
  std::string identity_token;
  if (identity != nullptr && decision.allowed() && decision.principal) {
    Result<std::string> token =
        identity->TokenFor(*decision.principal, IdentityAudience(*decision.route));
    if (token) {
      identity_token = std::move(*token);
    } else {
      log::Error("gateway.identity_token_failed", {{"error", token.error().message()}});
      decision.status = 503;
      decision.reason = "identity token not signed";
    }
  }

  // nginx is told 403 with the real status (it turns anything but 401 and
  // 403 into 500). So is Envoy, for a 5xx: it takes one for the service
  // failing, not for a denial, and answers its status_on_error, or with
  // failure_mode_allow lets the request through unchecked; a TRACE or a
  // missing identity token must be denied whatever that setting.
  const bool cannot_pass = (*flavor == Flavor::kNginx && decision.status != 200 &&
                            decision.status != 401 && decision.status != 403) ||
                           (*flavor == Flavor::kEnvoy && decision.status >= 500);
  net::HttpResponse response = StatusResponse(cannot_pass ? 403 : decision.status);
  response.headers.emplace_back("X-Bulwark-Status", std::to_string(decision.status));
  response.passed_on_fields.append(decision.response_fields);
  AppendRequestIdField(decision.request_id, response.passed_on_fields);
  for (auto& h : decision.identity_headers()) response.headers.push_back(std::move(h));
  if (!identity_token.empty()) {
    response.headers.emplace_back(kIdentityTokenHeader, std::move(identity_token));
  }
  if (decision.allowed()) {
    if (*flavor == Flavor::kEnvoy) {
      std::string removals = EnvoyRemovals(request.headers, decision, response.headers);
      if (!removals.empty()) response.headers.emplace_back(kEnvoyRemovals, std::move(removals));
    } else {
      AppendPassedCredentials(facts, decision, response.headers);
    }
  }
  record.Answered(decision.status);
  co_return response;
}

}  // namespace bulwark::gateway

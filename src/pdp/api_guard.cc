#include "pdp/api_guard.h"

#include <string>

#include "identity/static_token.h"
#include "net/request_head.h"

namespace bulwark::pdp {

bool HasToken(const net::HttpRequest& request, std::string_view token_sha256) {
  return identity::StaticTokenMatches(net::BearerTokenOf(request), token_sha256);
}

std::optional<net::HttpResponse> RefuseUnlessAuthorized(const net::HttpRequest& request,
                                                        std::string_view token_sha256,
                                                        std::string_view realm,
                                                        const TokenRefusalAudit& audit) {
  const std::string_view token = net::BearerTokenOf(request);
  if (identity::StaticTokenMatches(token, token_sha256)) return std::nullopt;
  net::HttpResponse response = net::BearerRefusal(request, realm, "API token required");
  if (audit.queue != nullptr && audit.clock != nullptr) {
    audit::AuditEvent event;
    event.time = audit.clock->Now();
    event.request_id = request.request_id;
    event.action = request.method;
    event.resource = std::string(audit.path);
    event.route = std::string(audit.route);
    event.host = std::string(request.Header("Host").value_or(""));
    event.client_ip = request.remote_address;
    event.decision = audit::AuditDecision::kDeny;
    event.status = response.status;
    event.reason = std::string(audit.route) + (token.empty() ? " token missing" : " token invalid");
    (void)audit.queue->TryEnqueue(std::move(event));
  }
  return response;
}

std::optional<net::HttpResponse> RefuseUnlessAuthorizedJsonPost(const net::HttpRequest& request,
                                                                std::string_view token_sha256,
                                                                std::string_view realm,
                                                                const TokenRefusalAudit& audit) {
  if (auto refused = RefuseUnlessAuthorized(request, token_sha256, realm, audit)) return refused;
  if (request.method != "POST") {
    net::HttpResponse response = net::JsonError(405, "use POST");
    response.headers.emplace_back("Allow", "POST");
    return response;
  }
  if (!net::IsJsonContentType(request.Header("Content-Type").value_or(""))) {
    return net::JsonError(415, "Content-Type must be application/json");
  }
  return std::nullopt;
}

}  // namespace bulwark::pdp

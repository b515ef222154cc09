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
                                                        std::string_view realm) {
  if (HasToken(request, token_sha256)) return std::nullopt;
  return net::BearerRefusal(request, realm, "API token required");
}

std::optional<net::HttpResponse> RefuseUnlessAuthorizedJsonPost(const net::HttpRequest& request,
                                                                std::string_view token_sha256,
                                                                std::string_view realm) {
  if (auto refused = RefuseUnlessAuthorized(request, token_sha256, realm)) return refused;
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

// The checks every decision-point call passes first. Internal to pdp/.
#ifndef BULWARK_PDP_API_GUARD_H_
#define BULWARK_PDP_API_GUARD_H_

#include <optional>
#include <string_view>

#include "audit/audit_queue.h"
#include "core/clock.h"
#include "net/http_server.h"

namespace bulwark::pdp {

// Where a call refused for its token is recorded, as the admin API records
// its own: a record denying `method path` on `route` ("pdp", "authzen",
// "relations") with status 401 and "<route> token missing" or "... invalid".
// With a null queue nothing is recorded.
struct TokenRefusalAudit {
  audit::AuditQueue* queue = nullptr;
  const Clock* clock = nullptr;
  std::string_view route;
  std::string_view path;  // the normalized path called
};

// Whether `request` carries the bearer token whose SHA-256 is `token_sha256`.
bool HasToken(const net::HttpRequest& request, std::string_view token_sha256);

// The refusal for a call without the bearer token whose SHA-256 is
// `token_sha256` (401 with a WWW-Authenticate naming `realm`, recorded to
// `audit`), that is not a POST (405) or has no JSON body (415); nullopt for
// a call that may go on.
std::optional<net::HttpResponse> RefuseUnlessAuthorizedJsonPost(const net::HttpRequest& request,
                                                                std::string_view token_sha256,
                                                                std::string_view realm,
                                                                const TokenRefusalAudit& audit);

// The 401 alone, for APIs that also accept other methods.
std::optional<net::HttpResponse> RefuseUnlessAuthorized(const net::HttpRequest& request,
                                                        std::string_view token_sha256,
                                                        std::string_view realm,
                                                        const TokenRefusalAudit& audit);

}  // namespace bulwark::pdp

#endif  // BULWARK_PDP_API_GUARD_H_

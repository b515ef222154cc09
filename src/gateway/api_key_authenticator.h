// ApiKeyAuthenticator: the principal of an API key (identity/api_keys.h),
// sent as `X-Api-Key: bwk_...` or `Authorization: Bearer bwk_...`. The
// key's subject, scopes and roles become the principal's; its id is kept for
// per-key rate limits and audit. Thread-safe.
#ifndef BULWARK_GATEWAY_API_KEY_AUTHENTICATOR_H_
#define BULWARK_GATEWAY_API_KEY_AUTHENTICATOR_H_

#include <string_view>

#include "core/status.h"
#include "gateway/principal.h"
#include "identity/api_keys.h"

namespace bulwark::gateway {

inline constexpr std::string_view kApiKeyHeader = "X-Api-Key";

class ApiKeyAuthenticator {
 public:
  // Errors of ApiKeyIndex::Verify (kUnauthenticated with a reason safe to
  // log; kUnavailable when the index cannot be trusted).
  static Result<Principal> Authenticate(const identity::ApiKeyIndex& index, std::string_view key);
};

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_API_KEY_AUTHENTICATOR_H_

#include "gateway/api_key_authenticator.h"

namespace bulwark::gateway {

Result<Principal> ApiKeyAuthenticator::Authenticate(const identity::ApiKeyIndex& index,
                                                    std::string_view key) {
  BULWARK_ASSIGN_OR_RETURN(identity::ApiKey verified, index.Verify(key));
  // Keys are checked when made; one stored before a rule was (a subject
  // with surrounding spaces) is refused here rather than forwarded.
  if (!identity::IsForwardableSubject(verified.subject)) {
    return Err(UnauthenticatedError("api key subject cannot be forwarded"));
  }
  Principal principal;
  principal.credential_ = CredentialKind::kApiKey;
  principal.subject_ = std::move(verified.subject);
  principal.issuer_ = "api-key";
  principal.scopes_ = std::move(verified.scopes);
  principal.roles_ = std::move(verified.roles);
  principal.api_key_id_ = std::move(verified.id);
  return principal;
}

}  // namespace bulwark::gateway

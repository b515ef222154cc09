#include "gateway/principal.h"

#include <algorithm>

namespace bulwark::gateway {

bool Principal::HasScope(std::string_view scope) const {
  return std::find(scopes_.begin(), scopes_.end(), scope) != scopes_.end();
}

bool Principal::HasRole(std::string_view role) const {
  return std::find(roles_.begin(), roles_.end(), role) != roles_.end();
}

std::string JoinWithSpaces(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ' ';
    out += item;
  }
  return out;
}

std::string_view CredentialKindName(CredentialKind kind) {
  switch (kind) {
    case CredentialKind::kJwt:
      return "jwt";
    case CredentialKind::kApiKey:
      return "api_key";
    case CredentialKind::kMtls:
      return "mtls";
  }
  return "unknown";
}

}  // namespace bulwark::gateway

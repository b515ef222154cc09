#include "gateway/principal.h"

#include <algorithm>

#include "net/request_head.h"

namespace bulwark::gateway {

bool Principal::HasScope(std::string_view scope) const {
  return std::find(scopes_.begin(), scopes_.end(), scope) != scopes_.end();
}

bool Principal::HasRole(std::string_view role) const {
  return std::find(roles_.begin(), roles_.end(), role) != roles_.end();
}

std::shared_ptr<const Principal> Principal::Seal(Principal principal) {
  principal.identity_fields_.clear();
  for (const auto& [name, value] : IdentityHeaders(principal)) {
    net::AppendFieldLine(principal.identity_fields_, name, value);
  }
  return std::make_shared<const Principal>(std::move(principal));
}

std::vector<std::pair<std::string, std::string>> IdentityHeaders(const Principal& p) {
  std::vector<std::pair<std::string, std::string>> h;
  h.reserve(7);
  h.emplace_back("X-Bulwark-Subject", p.subject());
  h.emplace_back("X-Bulwark-Issuer", p.issuer());
  h.emplace_back("X-Bulwark-Scopes", JoinWithSpaces(p.scopes()));
  h.emplace_back("X-Bulwark-Roles", JoinRolesForField(p.roles()));
  h.emplace_back("X-Bulwark-Credential", CredentialKindName(p.credential()));
  if (!p.spiffe_id().empty()) h.emplace_back("X-Bulwark-Spiffe-Id", p.spiffe_id());
  if (!p.api_key_id().empty()) h.emplace_back("X-Bulwark-Key-Id", p.api_key_id());
  return h;
}

std::string JoinWithSpaces(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ' ';
    out += item;
  }
  return out;
}

std::string JoinRolesForField(const std::vector<std::string>& roles) {
  std::string out;
  for (const auto& role : roles) {
    if (!out.empty()) out += ' ';
    for (char c : role) {
      if (c == ' ') {
        out += "%20";
      } else if (c == ',') {
        out += "%2C";
      } else if (c == '%') {
        out += "%25";
      } else {
        out += c;
      }
    }
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

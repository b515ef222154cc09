#include "gateway/authorizer.h"

#include <algorithm>

namespace bulwark::gateway {

namespace {

bool MatchesPattern(std::string_view value, std::string_view pattern) {
  if (value.empty()) return false;
  if (!pattern.empty() && pattern.back() == '*') {
    return value.starts_with(pattern.substr(0, pattern.size() - 1));
  }
  return value == pattern;
}

// "spiffe://prod.example/ns/x" is in trust domain "prod.example".
bool InTrustDomain(std::string_view spiffe_id, std::string_view domain) {
  if (!spiffe_id.starts_with(kSpiffeScheme)) return false;
  std::string_view rest = spiffe_id.substr(kSpiffeScheme.size());
  return rest.starts_with(domain) && (rest.size() == domain.size() || rest[domain.size()] == '/');
}

AuthzDecision Deny(std::string reason) { return {.allowed = false, .reason = std::move(reason)}; }

}  // namespace

AuthzDecision RouteRuleAuthorizer::Authorize(const AuthzRequest& request) const {
  if (request.route == nullptr) return Deny("no route");
  const RouteAuthz& rules = request.route->authz;
  const bool address_rules = !rules.allow_cidrs.empty() || !rules.deny_cidrs.empty();
  if (address_rules && !request.client_ip) return Deny("client address unknown");
  for (const CidrRange& deny : rules.deny_cidrs) {
    if (deny.Contains(*request.client_ip)) return Deny("client address denied");
  }
  if (!rules.allow_cidrs.empty() && !AnyContains(rules.allow_cidrs, *request.client_ip)) {
    return Deny("client address not allowed");
  }
  const bool identity_rules = !rules.principals.empty() || !rules.spiffe_trust_domains.empty() ||
                              !rules.roles.empty() || !rules.scopes.empty();
  if (!identity_rules) return {.allowed = true, .reason = "allowed"};
  const Principal* p = request.principal;
  if (p == nullptr) return Deny("principal required");
  if (!rules.principals.empty() &&
      std::none_of(rules.principals.begin(), rules.principals.end(), [&](const std::string& pat) {
        // A SPIFFE ID only as a verified certificate carries it: a token's
        // `sub` may say anything its issuer likes.
        return IsSpiffePattern(pat) ? MatchesPattern(p->spiffe_id(), pat)
                                    : MatchesPattern(p->subject(), pat);
      })) {
    return Deny("principal not allowed");
  }
  if (!rules.spiffe_trust_domains.empty() &&
      std::none_of(rules.spiffe_trust_domains.begin(), rules.spiffe_trust_domains.end(),
                   [&](const std::string& d) { return InTrustDomain(p->spiffe_id(), d); })) {
    return Deny("trust domain not allowed");
  }
  if (!rules.roles.empty() && std::none_of(rules.roles.begin(), rules.roles.end(),
                                           [&](const std::string& r) { return p->HasRole(r); })) {
    return Deny("missing role");
  }
  AuthzDecision decision{.allowed = true, .reason = "allowed"};
  for (const std::string& scope : rules.scopes) {
    if (!p->HasScope(scope)) decision.missing_scopes.push_back(scope);
  }
  if (!decision.missing_scopes.empty()) {
    decision.allowed = false;
    decision.reason = "missing scope";
  }
  return decision;
}

}  // namespace bulwark::gateway

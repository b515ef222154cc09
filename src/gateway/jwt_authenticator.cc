#include "gateway/jwt_authenticator.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "jose/base64url.h"
#include "jose/json.h"
#include "jose/jws.h"
#include "jose/jwt.h"
#include "net/request_head.h"

namespace bulwark::gateway {

namespace {

// Appends the strings of a claim that is an array of strings or a
// space-separated string (RFC 8693 `scope`).
void AppendStrings(const boost::json::value* v, std::vector<std::string>& out) {
  if (v == nullptr) return;
  if (const auto* s = v->if_string()) {
    std::string_view rest(*s);
    while (!rest.empty()) {
      size_t space = rest.find(' ');
      std::string_view item = rest.substr(0, space);
      if (!item.empty()) out.emplace_back(item);
      if (space == std::string_view::npos) break;
      rest.remove_prefix(space + 1);
    }
  } else if (const auto* a = v->if_array()) {
    for (const auto& item : *a) {
      if (const auto* s = item.if_string()) out.emplace_back(*s);
    }
  }
}

const boost::json::value* Lookup(const boost::json::object& claims, std::string_view dotted) {
  const boost::json::object* obj = &claims;
  const boost::json::value* v = nullptr;
  while (true) {
    size_t dot = dotted.find('.');
    auto it = obj->find(dotted.substr(0, dot));
    if (it == obj->end()) return nullptr;
    v = &it->value();
    if (dot == std::string_view::npos) return v;
    obj = v->if_object();
    if (obj == nullptr) return nullptr;
    dotted.remove_prefix(dot + 1);
  }
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(NotFoundError(fmt::format("cannot read '{}'", path)));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

struct JwtAuthenticator::Issuer {
  JwtIssuerConfig config;
  std::unique_ptr<jose::JwtVerifier> verifier;
};

JwtAuthenticator::JwtAuthenticator(std::vector<Issuer> issuers) : issuers_(std::move(issuers)) {}
JwtAuthenticator::~JwtAuthenticator() = default;

Result<std::unique_ptr<JwtAuthenticator>> JwtAuthenticator::Create(
    std::vector<JwtIssuerConfig> configs, const Clock& clock) {
  std::vector<Issuer> issuers;
  for (JwtIssuerConfig& config : configs) {
    if (config.name.empty() || config.issuer.empty()) {
      return Err(InvalidArgumentError("jwt issuer: name and issuer are required"));
    }
    if (config.audiences.empty()) {
      return Err(InvalidArgumentError(
          fmt::format("jwt issuer '{}': at least one audience is required", config.name)));
    }
    BULWARK_ASSIGN_OR_RETURN(std::string text, ReadFile(config.jwks_file));
    auto keys = jose::Jwks::ParseKeyOrSet(text);
    if (!keys) {
      return Err(InvalidArgumentError(fmt::format("jwt issuer '{}': keys in '{}': {}", config.name,
                                                  config.jwks_file, keys.error().message())));
    }
    jose::JwtValidationOptions options{.issuers = {config.issuer},
                                       .audiences = config.audiences,
                                       .leeway = config.leeway,
                                       .max_lifetime = config.max_lifetime,
                                       .required_typ = config.required_typ};
    BULWARK_ASSIGN_OR_RETURN(auto verifier,
                             jose::JwtVerifier::Create(std::move(*keys), options, clock));
    issuers.push_back({std::move(config), std::move(verifier)});
  }
  return std::unique_ptr<JwtAuthenticator>(new JwtAuthenticator(std::move(issuers)));
}

bool JwtAuthenticator::HasIssuer(std::string_view name) const {
  return std::any_of(issuers_.begin(), issuers_.end(),
                     [&](const Issuer& i) { return i.config.name == name; });
}

Result<Principal> JwtAuthenticator::Authenticate(std::string_view token,
                                                 std::span<const std::string> allowed) const {
  const Issuer* issuer = nullptr;
  if (issuers_.size() == 1) {
    issuer = &issuers_[0];
  } else {
    // Several issuers: the unverified `iss` only picks whose keys to try; the
    // chosen verifier then checks `iss` again under the signature.
    auto jws = jose::ParseCompactJws(token);
    if (!jws) return Err(UnauthenticatedError(jws.error().message()));
    auto payload = jose::Base64UrlDecode(jws->payload_b64);
    if (!payload) return Err(UnauthenticatedError("malformed token"));
    auto claims = jose::ParseJsonObject(*payload);
    if (!claims) return Err(UnauthenticatedError("malformed claims"));
    const auto* iss = Lookup(*claims, "iss");
    for (const Issuer& candidate : issuers_) {
      if (iss && iss->is_string() && iss->get_string() == candidate.config.issuer) {
        issuer = &candidate;
      }
    }
  }
  if (issuer == nullptr) return Err(UnauthenticatedError("issuer not allowed"));
  if (!allowed.empty() &&
      std::find(allowed.begin(), allowed.end(), issuer->config.name) == allowed.end()) {
    return Err(UnauthenticatedError("issuer not allowed"));
  }
  auto jwt = issuer->verifier->Verify(token);
  if (!jwt) return Err(UnauthenticatedError(jwt.error().message()));

  Principal p;
  p.credential_ = CredentialKind::kJwt;
  p.subject_ = (*jwt)->subject();
  p.issuer_ = issuer->config.name;
  const auto& claims = (*jwt)->claims();
  AppendStrings(Lookup(claims, "scope"), p.scopes_);
  AppendStrings(Lookup(claims, "scp"), p.scopes_);
  AppendStrings(Lookup(claims, issuer->config.roles_claim), p.roles_);
  if (p.subject_.empty()) return Err(UnauthenticatedError("token has no subject"));
  // These travel on as header values: control characters would split them.
  auto unsafe = [](std::string_view s) {
    return std::any_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
  };
  if (unsafe(p.subject_) || std::any_of(p.scopes_.begin(), p.scopes_.end(), unsafe) ||
      std::any_of(p.roles_.begin(), p.roles_.end(), unsafe)) {
    return Err(UnauthenticatedError("control characters in claims"));
  }
  return p;
}

std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() + 1) return std::nullopt;
  if (!net::EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  std::string_view rest = authorization.substr(kScheme.size());
  if (rest.front() != ' ') return std::nullopt;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  if (rest.empty() || rest.find(' ') != std::string_view::npos) return std::nullopt;
  return rest;
}

}  // namespace bulwark::gateway

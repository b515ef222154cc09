#include "gateway/identity_token.h"

#include <atomic>
#include <unordered_map>

#include <boost/json.hpp>

#include "core/file.h"
#include "crypto/secret_bytes.h"
#include "jose/jwt.h"

namespace bulwark::gateway {

namespace {

std::atomic<uint64_t> next_signer_id{1};
constexpr size_t kMaxCachedTokens = 4096;

// One io thread's reusable tokens, for one signer at a time.
struct TokenCache {
  uint64_t signer_id = 0;
  struct Entry {
    std::string token;
    int64_t reuse_until = 0;
  };
  std::unordered_map<std::string, Entry> entries;
};

TokenCache& ThreadCache(uint64_t signer_id) {
  thread_local TokenCache cache;
  if (cache.signer_id != signer_id) {
    cache.entries.clear();
    cache.signer_id = signer_id;
  }
  return cache;
}

// Everything the claims depend on, so equal keys mean equal claims.
std::string CacheKey(const Principal& p, std::string_view audience) {
  std::string key;
  // Each part after its length, so that no two principals' parts run
  // together into one key (roles {"a b"} and {"a", "b"}).
  const auto add = [&key](std::string_view part) {
    key.append(std::to_string(part.size())).append(1, ':').append(part);
  };
  for (std::string_view part :
       {audience, CredentialKindName(p.credential()), std::string_view(p.issuer()),
        std::string_view(p.subject()), std::string_view(p.spiffe_id()),
        std::string_view(p.api_key_id())}) {
    add(part);
  }
  add(std::to_string(p.scopes().size()));
  for (const auto& s : p.scopes()) add(s);
  add(std::to_string(p.roles().size()));
  for (const auto& r : p.roles()) add(r);
  return key;
}

}  // namespace

IdentityTokenSigner::IdentityTokenSigner(jose::Jwk key, IdentityTokenOptions options,
                                         const Clock& clock, std::string public_jwks)
    : key_(std::move(key)),
      options_(std::move(options)),
      clock_(clock),
      public_jwks_(std::move(public_jwks)),
      id_(next_signer_id.fetch_add(1)) {}

Result<std::unique_ptr<IdentityTokenSigner>> IdentityTokenSigner::Create(
    const IdentityTokenOptions& options, const Clock& clock) {
  if (options.issuer.empty())
    return Err(InvalidArgumentError("identity token: issuer is required"));
  if (options.ttl < std::chrono::seconds(10) || options.ttl > std::chrono::hours(1)) {
    return Err(InvalidArgumentError("identity token: ttl must be between 10 s and 1 h"));
  }
  Result<std::string> text = ReadSecretFile(options.key_file);
  if (!text) return Err(NotFoundError("identity token: " + text.error().message()));
  auto key = jose::Jwk::Parse(*text);
  crypto::WipeString(*text);  // the private key's text
  if (!key) {
    return Err(InvalidArgumentError("identity token: key file " + options.key_file + ": " +
                                    key.error().message()));
  }
  if (!key->is_private() || key->is_symmetric() || key->kid().empty()) {
    return Err(InvalidArgumentError(
        "identity token: the key must be a private asymmetric JWK with a kid"));
  }
  BULWARK_ASSIGN_OR_RETURN(jose::Jwk public_key, key->PublicJwk());
  std::string jwks = "{\"keys\":[" + public_key.ToJson() + "]}";
  return std::unique_ptr<IdentityTokenSigner>(
      new IdentityTokenSigner(std::move(*key), options, clock, std::move(jwks)));
}

Result<std::string> IdentityTokenSigner::Sign(const Principal& p, std::string_view audience,
                                              int64_t now) const {
  boost::json::object claims;
  claims["iss"] = options_.issuer;
  claims["sub"] = p.subject();
  claims["aud"] = audience;
  claims["iat"] = now;
  claims["exp"] = now + options_.ttl.count();
  claims["scope"] = JoinWithSpaces(p.scopes());
  boost::json::array roles;
  for (const auto& r : p.roles()) roles.emplace_back(r);
  claims["roles"] = std::move(roles);
  claims["cred"] = CredentialKindName(p.credential());
  if (!p.issuer().empty()) claims["idp"] = p.issuer();
  if (!p.spiffe_id().empty()) claims["spiffe_id"] = p.spiffe_id();
  if (!p.api_key_id().empty()) claims["api_key_id"] = p.api_key_id();
  return jose::SignJwt(key_, claims);
}

Result<std::string> IdentityTokenSigner::TokenFor(const Principal& principal,
                                                  std::string_view audience) const {
  const int64_t now = clock_.NowUnixSeconds();
  TokenCache& cache = ThreadCache(id_);
  std::string key = CacheKey(principal, audience);
  if (auto it = cache.entries.find(key);
      it != cache.entries.end() && now < it->second.reuse_until) {
    return it->second.token;
  }
  BULWARK_ASSIGN_OR_RETURN(std::string token, Sign(principal, audience, now));
  if (cache.entries.size() >= kMaxCachedTokens) cache.entries.clear();
  cache.entries[std::move(key)] = {token, now + options_.ttl.count() / 2};
  return token;
}

}  // namespace bulwark::gateway

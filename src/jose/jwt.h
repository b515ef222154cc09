// JWT (RFC 7519) verification with strict claim validation, and signing.
//
//   auto verifier = JwtVerifier::Create(jwks, {.issuers = {"https://idp"},
//                                               .audiences = {"api"}}, clock);
//   Result<std::shared_ptr<const VerifiedJwt>> jwt = verifier->Verify(token);
//
// Failures are kUnauthenticated with a short reason that is safe to show an
// operator ("invalid signature", "expired", "algorithm not allowed for key",
// "unknown key", "issuer not allowed", ...). Tokens already verified are
// served from a bounded cache keyed by the token's hash (time claims are
// re-checked on every hit); replacing the key set empties the cache.
#ifndef BULWARK_JOSE_JWT_H_
#define BULWARK_JOSE_JWT_H_

#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "jose/jwk.h"
#include "jose/jws.h"

namespace bulwark::jose {

class VerificationCache;

struct JwtValidationOptions {
  // Accepted `iss` values; empty accepts any issuer.
  std::vector<std::string> issuers;
  // The token's `aud` must contain one of these; empty skips the check.
  std::vector<std::string> audiences;
  // Allowed clock skew for exp, nbf and iat.
  std::chrono::seconds leeway{60};
  // exp is required unless false (and max_lifetime unset).
  bool require_exp = true;
  // If set, exp - iat (or exp - now without iat) may not exceed this, and
  // exp is required.
  std::optional<std::chrono::seconds> max_lifetime;
  // If set, the header `typ` must equal it (case-insensitively, with or
  // without "application/"), e.g. "at+jwt" for RFC 9068 access tokens.
  std::string required_typ;
  // If not empty, only these algorithms are accepted (on top of each key's own).
  std::vector<JwsAlgorithm> allowed_algorithms;
  size_t max_token_bytes = kDefaultMaxTokenBytes;
  // Entries kept by the verification cache (0 disables it), and the bytes
  // they may be charged (see VerificationCache).
  size_t cache_capacity = 65536;
  size_t cache_max_bytes = size_t{64} << 20;
};

// A token whose signature and claims were checked. Only JwtVerifier makes one.
class VerifiedJwt {
 public:
  const JwsHeader& header() const { return header_; }
  const boost::json::object& claims() const { return claims_; }
  const std::string& subject() const { return subject_; }
  const std::string& issuer() const { return issuer_; }
  const std::vector<std::string>& audiences() const { return audiences_; }
  // NumericDate claims; 0 when absent (or the epoch itself, which is
  // checked as present).
  int64_t expires_at() const { return exp_; }
  int64_t not_before() const { return nbf_; }
  int64_t issued_at() const { return iat_; }

 private:
  friend class JwtVerifier;
  VerifiedJwt() = default;
  JwsHeader header_;
  boost::json::object claims_;
  std::string subject_, issuer_;
  std::vector<std::string> audiences_;
  int64_t exp_ = 0, nbf_ = 0, iat_ = 0;
};

// Thread-safe: Verify may run on many threads while ReplaceKeys swaps keys.
class JwtVerifier {
 public:
  static Result<std::unique_ptr<JwtVerifier>> Create(Jwks keys, JwtValidationOptions options,
                                                     const Clock& clock);
  ~JwtVerifier();

  Result<std::shared_ptr<const VerifiedJwt>> Verify(std::string_view token) const;

  // Verifies without consulting or filling the cache.
  Result<std::shared_ptr<const VerifiedJwt>> VerifyUncached(std::string_view token) const;

  // Swaps in a new key set (e.g. after a JWKS refresh) and empties the cache.
  void ReplaceKeys(Jwks keys);

  // True if the current key set has a key with this kid (lets a JWKS fetcher
  // decide whether an unknown kid warrants a refresh).
  bool HasKid(std::string_view kid) const;

 private:
  JwtVerifier(JwtValidationOptions options, const Clock& clock);
  Status CheckTimes(std::optional<int64_t> exp, std::optional<int64_t> nbf,
                    std::optional<int64_t> iat, int64_t now) const;
  Result<std::shared_ptr<const VerifiedJwt>> ValidateClaims(ParsedJws jws) const;

  JwtValidationOptions options_;
  const Clock& clock_;
  std::shared_ptr<const Jwks> keys_;         // accessed with std::atomic_load/store
  std::atomic<uint64_t> key_generation_{0};  // bumped by ReplaceKeys after the swap
  std::unique_ptr<VerificationCache> cache_;
};

// Signs `claims` as a JWT with `key`. `typ` goes into the header ("JWT" by
// default; "at+jwt" for access tokens).
Result<std::string> SignJwt(const Jwk& key, const boost::json::object& claims,
                            std::string_view typ = "JWT");

}  // namespace bulwark::jose

#endif  // BULWARK_JOSE_JWT_H_

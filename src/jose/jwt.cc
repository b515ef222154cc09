#include "jose/jwt.h"

#include <boost/json/serialize.hpp>
#include <cmath>

#include "jose/base64url.h"
#include "jose/json.h"
#include "jose/verification_cache.h"

namespace bulwark::jose {
namespace {

namespace json = boost::json;

Status Unauth(std::string_view why) { return UnauthenticatedError(std::string(why)); }

// Reads a NumericDate claim into `out` (nullopt when absent: a claim of 0,
// the epoch, is present); false if present but not a number in range.
bool NumericDate(const json::object& claims, std::string_view name, std::optional<int64_t>& out) {
  out.reset();
  auto it = claims.find(name);
  if (it == claims.end()) return true;
  const json::value& v = it->value();
  constexpr int64_t kMax = int64_t{1} << 40;  // ~36,000 years: far past any real date
  int64_t value = 0;
  if (v.is_int64()) {
    value = v.get_int64();
  } else if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<uint64_t>(kMax)) return false;
    value = static_cast<int64_t>(v.get_uint64());
  } else if (v.is_double()) {
    double d = v.get_double();
    if (!std::isfinite(d) || std::fabs(d) > static_cast<double>(kMax)) return false;
    value = static_cast<int64_t>(std::floor(d));
  } else {
    return false;
  }
  if (value < 0 || value > kMax) return false;
  out = value;
  return true;
}

bool TypMatches(std::string_view typ, std::string_view required) {
  auto lower = [](std::string_view s) {
    std::string r(s);
    for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
  };
  std::string t = lower(typ), r = lower(required);
  if (t.starts_with("application/")) t.erase(0, 12);
  if (r.starts_with("application/")) r.erase(0, 12);
  return t == r;
}

}  // namespace

JwtVerifier::JwtVerifier(JwtValidationOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  if (options_.cache_capacity > 0 && options_.cache_max_bytes > 0) {
    cache_ = std::make_unique<VerificationCache>(options_.cache_capacity, options_.cache_max_bytes);
  }
}

JwtVerifier::~JwtVerifier() = default;

Result<std::unique_ptr<JwtVerifier>> JwtVerifier::Create(Jwks keys, JwtValidationOptions options,
                                                         const Clock& clock) {
  if (options.leeway.count() < 0 || options.leeway > std::chrono::hours(1)) {
    return Err(InvalidArgumentError("leeway must be between 0 and 1 hour"));
  }
  std::unique_ptr<JwtVerifier> v(new JwtVerifier(std::move(options), clock));
  v->ReplaceKeys(std::move(keys));
  return v;
}

void JwtVerifier::ReplaceKeys(Jwks keys) {
  std::atomic_store(&keys_, std::make_shared<const Jwks>(std::move(keys)));
  // After the swap: a Verify that read the old generation may have used the
  // old keys; its cache entry carries that generation and is never served.
  key_generation_.fetch_add(1, std::memory_order_acq_rel);
  if (cache_) cache_->Clear();
}

bool JwtVerifier::HasKid(std::string_view kid) const {
  return !std::atomic_load(&keys_)->FindByKid(kid).empty();
}

Result<std::shared_ptr<const VerifiedJwt>> JwtVerifier::Verify(std::string_view token) const {
  if (token.size() > options_.max_token_bytes) return Err(Unauth("token too large"));
  // Read before the keys are: a result is cached under the generation whose
  // keys (or older ones) checked it, and served only while it is current.
  const uint64_t generation = key_generation_.load(std::memory_order_acquire);
  if (cache_) {
    if (auto hit = cache_->Lookup(token, clock_.NowUnixSeconds(), generation)) return hit;
  }
  BULWARK_ASSIGN_OR_RETURN(auto jwt, VerifyUncached(token));
  if (cache_) {
    int64_t until = jwt->expires_at() == 0 ? 0 : jwt->expires_at() + options_.leeway.count();
    cache_->Insert(token, jwt, until, generation);
  }
  return jwt;
}

Result<std::shared_ptr<const VerifiedJwt>> JwtVerifier::VerifyUncached(
    std::string_view token) const {
  auto parsed = ParseCompactJws(token, options_.max_token_bytes);
  if (!parsed) return Err(Unauth(parsed.error().message()));
  const JwsHeader& header = parsed->header;
  if (!options_.allowed_algorithms.empty() &&
      std::find(options_.allowed_algorithms.begin(), options_.allowed_algorithms.end(),
                header.alg) == options_.allowed_algorithms.end()) {
    return Err(Unauth("algorithm not allowed"));
  }
  std::shared_ptr<const Jwks> keys = std::atomic_load(&keys_);
  BULWARK_RETURN_IF_ERROR(VerifyParsedJwsWithKeySet(*parsed, *keys));
  return ValidateClaims(std::move(*parsed));
}

Status JwtVerifier::CheckTimes(std::optional<int64_t> exp, std::optional<int64_t> nbf,
                               std::optional<int64_t> iat, int64_t now) const {
  int64_t leeway = options_.leeway.count();
  // A lifetime bound needs an end: a token that never expires is not let
  // by it even where exp is otherwise optional.
  if (!exp && (options_.require_exp || options_.max_lifetime)) return Unauth("missing exp");
  if (exp && now >= *exp + leeway) return Unauth("expired");
  if (nbf && now + leeway < *nbf) return Unauth("not yet valid");
  if (iat && now + leeway < *iat) return Unauth("issued in the future");
  if (options_.max_lifetime && exp) {
    int64_t start = iat.value_or(now);
    if (*exp - start > options_.max_lifetime->count()) return Unauth("lifetime too long");
  }
  return OkStatus();
}

Result<std::shared_ptr<const VerifiedJwt>> JwtVerifier::ValidateClaims(ParsedJws jws) const {
  if (!options_.required_typ.empty() && !TypMatches(jws.header.typ, options_.required_typ)) {
    return Err(Unauth("wrong token type"));
  }
  std::string payload;
  if (!Base64UrlDecodeInto(jws.payload_b64, payload)) return Err(Unauth("malformed token"));
  auto claims = ParseJsonObject(payload);
  if (!claims) return Err(Unauth("malformed claims: " + claims.error().message()));

  std::shared_ptr<VerifiedJwt> jwt(new VerifiedJwt());
  std::optional<int64_t> exp, nbf, iat;
  if (!NumericDate(*claims, "exp", exp) || !NumericDate(*claims, "nbf", nbf) ||
      !NumericDate(*claims, "iat", iat)) {
    return Err(Unauth("malformed time claim"));
  }
  BULWARK_RETURN_IF_ERROR(CheckTimes(exp, nbf, iat, clock_.NowUnixSeconds()));
  jwt->exp_ = exp.value_or(0);
  jwt->nbf_ = nbf.value_or(0);
  jwt->iat_ = iat.value_or(0);

  for (auto [name, field] : {std::pair{"iss", &jwt->issuer_}, std::pair{"sub", &jwt->subject_}}) {
    if (auto it = claims->find(name); it != claims->end()) {
      if (!it->value().is_string()) return Err(Unauth(std::string("malformed ") + name));
      *field = it->value().get_string();
    }
  }
  if (!options_.issuers.empty() && std::find(options_.issuers.begin(), options_.issuers.end(),
                                             jwt->issuer_) == options_.issuers.end()) {
    return Err(Unauth("issuer not allowed"));
  }
  if (auto it = claims->find("aud"); it != claims->end()) {
    if (it->value().is_string()) {
      jwt->audiences_.emplace_back(it->value().get_string());
    } else if (it->value().is_array()) {
      for (const auto& a : it->value().get_array()) {
        if (!a.is_string()) return Err(Unauth("malformed aud"));
        jwt->audiences_.emplace_back(a.get_string());
      }
    } else {
      return Err(Unauth("malformed aud"));
    }
  }
  if (!options_.audiences.empty()) {
    bool match = false;
    for (const auto& a : jwt->audiences_) {
      match = match || std::find(options_.audiences.begin(), options_.audiences.end(), a) !=
                           options_.audiences.end();
    }
    if (!match) return Err(Unauth("audience not allowed"));
  }
  jwt->header_ = std::move(jws.header);
  jwt->claims_ = std::move(*claims);
  return std::shared_ptr<const VerifiedJwt>(std::move(jwt));
}

Result<std::string> SignJwt(const Jwk& key, const json::object& claims, std::string_view typ) {
  json::object extra;
  if (!typ.empty()) extra["typ"] = typ;
  return SignCompactJws(key, json::serialize(claims), extra);
}

}  // namespace bulwark::jose

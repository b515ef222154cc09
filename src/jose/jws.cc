#include "jose/jws.h"

#include <boost/json/serialize.hpp>

#include "crypto/digest.h"
#include "crypto/signature.h"
#include "jose/base64url.h"
#include "jose/json.h"

namespace bulwark::jose {
namespace {

namespace json = boost::json;

Status Malformed() { return InvalidArgumentError("malformed token"); }

// Header members that would let a token name, embed or fetch its own key.
constexpr std::string_view kForbiddenHeaderMembers[] = {"jwk", "jku", "x5u", "x5c"};

Result<JwsHeader> ParseHeader(std::string_view b64) {
  std::string text;
  if (!Base64UrlDecodeInto(b64, text)) return Err(Malformed());
  JsonLimits limits;
  limits.max_bytes = 4096;
  limits.max_depth = 4;
  limits.max_members = 64;
  auto obj = ParseJsonObject(text, limits);
  if (!obj) return Err(InvalidArgumentError("malformed token header: " + obj.error().message()));
  JwsHeader h;
  auto alg = obj->find("alg");
  if (alg == obj->end() || !alg->value().is_string()) {
    return Err(InvalidArgumentError("token header has no alg"));
  }
  auto parsed = ParseJwsAlgorithm(alg->value().get_string());
  if (!parsed) return Err(InvalidArgumentError("algorithm not allowed"));
  h.alg = *parsed;
  for (std::string_view m : kForbiddenHeaderMembers) {
    if (obj->contains(m)) {
      return Err(InvalidArgumentError("unsupported header parameter " + std::string(m)));
    }
  }
  if (obj->contains("crit")) return Err(InvalidArgumentError("unknown crit header parameter"));
  if (auto kid = obj->find("kid"); kid != obj->end()) {
    if (!kid->value().is_string()) return Err(InvalidArgumentError("token kid is not a string"));
    h.kid = kid->value().get_string();
    // Present but empty names no key; taken as absent, it would let a token
    // choose to be tried against every key (and log no kid).
    if (h.kid.empty()) return Err(InvalidArgumentError("token kid is empty"));
  }
  if (auto typ = obj->find("typ"); typ != obj->end()) {
    if (!typ->value().is_string()) return Err(InvalidArgumentError("token typ is not a string"));
    h.typ = typ->value().get_string();
  }
  h.members = std::move(*obj);
  return h;
}

}  // namespace

Result<ParsedJws> ParseCompactJws(std::string_view token, size_t max_bytes) {
  if (token.size() > max_bytes) return Err(InvalidArgumentError("token too large"));
  size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return Err(Malformed());
  size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Err(Malformed());
  }
  ParsedJws jws;
  BULWARK_ASSIGN_OR_RETURN(jws.header, ParseHeader(token.substr(0, dot1)));
  jws.signing_input = token.substr(0, dot2);
  jws.payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  if (!Base64UrlDecodeInto(token.substr(dot2 + 1), jws.signature) || jws.signature.empty()) {
    return Err(Malformed());
  }
  return jws;
}

Status VerifyParsedJws(const ParsedJws& jws, const Jwk& key) {
  BULWARK_RETURN_IF_ERROR(key.CheckCanVerify(jws.header.alg));
  if (IsHmac(jws.header.alg)) {
    if (key.secret() == nullptr) return PermissionDeniedError("algorithm not allowed for key");
    if (!crypto::HmacVerify(HmacHashFor(jws.header.alg), *key.secret(), jws.signing_input,
                            jws.signature)) {
      return UnauthenticatedError("invalid signature");
    }
    return OkStatus();
  }
  // CheckCanVerify above made sure the header's alg is the key's, for which
  // the verifier was prepared.
  if (key.verifier() == nullptr) return PermissionDeniedError("algorithm not allowed for key");
  return key.verifier()->Verify(jws.signing_input, jws.signature);
}

Result<VerifiedJws> VerifyCompactJws(std::string_view token, const Jwk& key, size_t max_bytes) {
  BULWARK_ASSIGN_OR_RETURN(ParsedJws jws, ParseCompactJws(token, max_bytes));
  BULWARK_RETURN_IF_ERROR(VerifyParsedJws(jws, key));
  std::string payload;
  if (!Base64UrlDecodeInto(jws.payload_b64, payload)) return Err(Malformed());
  return VerifiedJws(std::move(jws.header), std::move(payload));
}

Status VerifyParsedJwsWithKeySet(const ParsedJws& jws, const Jwks& keys) {
  std::vector<const Jwk*> candidates;
  if (!jws.header.kid.empty()) {
    candidates = keys.FindByKid(jws.header.kid);
    if (candidates.empty()) return UnauthenticatedError("unknown key");
  } else {
    for (const Jwk& k : keys.keys()) {
      if (k.algorithm() == jws.header.alg) candidates.push_back(&k);
    }
  }
  Status result = UnauthenticatedError("algorithm not allowed for key");
  for (const Jwk* key : candidates) {
    Status s = VerifyParsedJws(jws, *key);
    if (s.ok()) return s;
    if (s.code() == StatusCode::kUnauthenticated) result = s;
  }
  return UnauthenticatedError(result.message());
}

Result<VerifiedJws> VerifyCompactJws(std::string_view token, const Jwks& keys, size_t max_bytes) {
  BULWARK_ASSIGN_OR_RETURN(ParsedJws jws, ParseCompactJws(token, max_bytes));
  BULWARK_RETURN_IF_ERROR(VerifyParsedJwsWithKeySet(jws, keys));
  std::string payload;
  if (!Base64UrlDecodeInto(jws.payload_b64, payload)) return Err(Malformed());
  return VerifiedJws(std::move(jws.header), std::move(payload));
}

Result<std::string> SignCompactJws(const Jwk& key, std::string_view payload,
                                   const json::object& extra_header) {
  BULWARK_RETURN_IF_ERROR(key.CheckCanSign());
  json::object header;
  header["alg"] = JwsAlgorithmName(key.algorithm());
  if (!key.kid().empty()) header["kid"] = key.kid();
  for (const auto& m : extra_header) {
    if (m.key() == "alg" || m.key() == "kid") {
      return Err(InvalidArgumentError("extra header may not set alg or kid"));
    }
    header[m.key()] = m.value();
  }
  std::string out = Base64UrlEncode(json::serialize(header));
  out += '.';
  out += Base64UrlEncode(payload);
  std::string sig;
  if (IsHmac(key.algorithm())) {
    BULWARK_ASSIGN_OR_RETURN(sig, crypto::Hmac(HmacHashFor(key.algorithm()), *key.secret(), out));
  } else {
    BULWARK_ASSIGN_OR_RETURN(
        sig, crypto::Sign(*key.private_key(), SignatureAlgorithmFor(key.algorithm()), out));
  }
  out += '.';
  out += Base64UrlEncode(sig);
  return out;
}

}  // namespace bulwark::jose

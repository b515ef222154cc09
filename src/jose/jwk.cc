#include "jose/jwk.h"

#include <boost/json/serialize.hpp>

#include <algorithm>

#include "crypto/digest.h"
#include "crypto/random.h"
#include "crypto/secret_bytes.h"
#include "jose/base64url.h"
#include "jose/json.h"

namespace bulwark::jose {
namespace {

namespace json = boost::json;
using crypto::KeyType;

Status Invalid(std::string_view what) { return InvalidArgumentError(std::string(what)); }

// A member that must be a string if present, as a view of the object's
// own text.
Result<std::optional<std::string_view>> OptStringView(const json::object& o,
                                                      std::string_view name) {
  auto it = o.find(name);
  if (it == o.end()) return std::optional<std::string_view>();
  if (!it->value().is_string()) {
    return Err(Invalid("jwk member '" + std::string(name) + "' must be a string"));
  }
  return std::optional<std::string_view>(it->value().get_string());
}

Result<std::optional<std::string>> OptString(const json::object& o, std::string_view name) {
  BULWARK_ASSIGN_OR_RETURN(auto view, OptStringView(o, name));
  return view ? std::optional<std::string>(*view) : std::nullopt;
}

// Decoded from the object's own text, with no copy of it (a private
// member's text is wiped there: WipeSecretMembers).
Result<std::string> B64Member(const json::object& o, std::string_view name) {
  BULWARK_ASSIGN_OR_RETURN(auto text, OptStringView(o, name));
  if (!text) return Err(Invalid("jwk is missing '" + std::string(name) + "'"));
  auto bytes = Base64UrlDecode(*text);
  if (!bytes) return Err(Invalid("jwk member '" + std::string(name) + "' is not base64url"));
  return std::move(*bytes);
}

Result<crypto::SecretBytes> SecretMember(const json::object& o, std::string_view name) {
  BULWARK_ASSIGN_OR_RETURN(std::string bytes, B64Member(o, name));
  crypto::SecretBytes out = crypto::SecretBytes::FromString(bytes);
  crypto::WipeString(bytes);
  return out;
}

// The members of a JWK that hold private key material (RFC 7518 section 6).
constexpr std::string_view kSecretMembers[] = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"};

// Overwrites every string `value` holds, at any depth.
void WipeStrings(json::value& value) {
  if (json::string* text = value.if_string()) {
    std::fill(text->data(), text->data() + text->size(), '\0');
  } else if (json::array* items = value.if_array()) {
    for (json::value& item : *items) WipeStrings(item);
  } else if (json::object* members = value.if_object()) {
    for (auto& member : *members) WipeStrings(member.value());
  }
}

// Overwrites the text of `key`'s private members (RSA's `oth` an array of
// them), and of each key of a set, before the parsed document is freed.
void WipeSecretMembers(json::object& key) {
  for (std::string_view name : kSecretMembers) {
    if (json::value* member = key.if_contains(name)) WipeStrings(*member);
  }
  if (json::value* keys = key.if_contains("keys"); keys != nullptr && keys->is_array()) {
    for (json::value& item : keys->get_array()) {
      if (json::object* one = item.if_object()) WipeSecretMembers(*one);
    }
  }
}

std::optional<KeyType> CurveFromName(std::string_view crv) {
  if (crv == "P-256") return KeyType::kEcP256;
  if (crv == "P-384") return KeyType::kEcP384;
  if (crv == "P-521") return KeyType::kEcP521;
  return std::nullopt;
}

JwsAlgorithm ImpliedAlgorithm(KeyType t) {
  switch (t) {
    case KeyType::kEd25519:
      return JwsAlgorithm::kEdDSA;
    case KeyType::kEcP256:
      return JwsAlgorithm::kES256;
    case KeyType::kEcP384:
      return JwsAlgorithm::kES384;
    case KeyType::kEcP521:
      return JwsAlgorithm::kES512;
    case KeyType::kRsa:
      return JwsAlgorithm::kRS256;
  }
  return JwsAlgorithm::kES256;
}

bool AlgorithmFitsKey(JwsAlgorithm alg, KeyType t) {
  switch (alg) {
    case JwsAlgorithm::kEdDSA:
      return t == KeyType::kEd25519;
    case JwsAlgorithm::kES256:
      return t == KeyType::kEcP256;
    case JwsAlgorithm::kES384:
      return t == KeyType::kEcP384;
    case JwsAlgorithm::kES512:
      return t == KeyType::kEcP521;
    case JwsAlgorithm::kRS256:
    case JwsAlgorithm::kRS384:
    case JwsAlgorithm::kRS512:
    case JwsAlgorithm::kPS256:
    case JwsAlgorithm::kPS384:
    case JwsAlgorithm::kPS512:
      return t == KeyType::kRsa;
    default:
      return false;
  }
}

size_t MinHmacKeyBytes(JwsAlgorithm alg) {
  return alg == JwsAlgorithm::kHS512 ? 64 : alg == JwsAlgorithm::kHS384 ? 48 : 32;
}

std::string_view CurveName(KeyType t) {
  switch (t) {
    case KeyType::kEd25519:
      return "Ed25519";
    case KeyType::kEcP256:
      return "P-256";
    case KeyType::kEcP384:
      return "P-384";
    case KeyType::kEcP521:
      return "P-521";
    default:
      return "";
  }
}

std::string SecretB64(const crypto::SecretBytes& s) {
  return Base64UrlEncode(s.ExposeSecretAsString());
}

}  // namespace

std::string_view Jwk::kty() const {
  if (secret_) return "oct";
  KeyType t = public_key_ ? public_key_->type() : private_key_->type();
  if (t == KeyType::kEd25519) return "OKP";
  if (t == KeyType::kRsa) return "RSA";
  return "EC";
}

Status Jwk::Finish(std::optional<JwsAlgorithm> declared) {
  if (secret_) {
    if (!declared) return Invalid("symmetric jwk needs an 'alg'");
    if (!IsHmac(*declared)) return Invalid("jwk 'alg' does not fit an oct key");
    if (secret_->size() < MinHmacKeyBytes(*declared)) {
      return Invalid("hmac key is shorter than the hash output");
    }
    alg_ = *declared;
  } else {
    KeyType t = public_key_ ? public_key_->type() : private_key_->type();
    if (declared && !AlgorithmFitsKey(*declared, t))
      return Invalid("jwk 'alg' does not fit the key");
    alg_ = declared ? *declared : ImpliedAlgorithm(t);
  }
  explicit_alg_ = declared.has_value();
  if (!use_.empty() && key_ops_) {
    bool sig_ops = std::all_of(key_ops_->begin(), key_ops_->end(), [](const std::string& op) {
      return op == "sign" || op == "verify";
    });
    if ((use_ == "sig") != sig_ops) return Invalid("jwk 'use' and 'key_ops' disagree");
  }
  if (public_key_ && private_key_) public_key_.reset();
  if (!secret_) {
    const crypto::PublicKey& pub = public_key_ ? *public_key_ : private_key_->public_key();
    BULWARK_ASSIGN_OR_RETURN(crypto::PreparedVerifier v,
                             crypto::PreparedVerifier::Create(pub, SignatureAlgorithmFor(alg_)));
    verifier_ = std::make_shared<const crypto::PreparedVerifier>(std::move(v));
  }
  return OkStatus();
}

Result<Jwk> Jwk::Parse(std::string_view text) {
  BULWARK_ASSIGN_OR_RETURN(json::object obj, ParseJsonObject(text));
  Result<Jwk> jwk = FromJson(obj);
  WipeSecretMembers(obj);
  return jwk;
}

Result<Jwk> Jwk::FromJson(const json::object& o) {
  Jwk jwk;
  BULWARK_ASSIGN_OR_RETURN(auto kty, OptString(o, "kty"));
  if (!kty) return Err(Invalid("jwk is missing 'kty'"));
  BULWARK_ASSIGN_OR_RETURN(auto kid, OptString(o, "kid"));
  jwk.kid_ = kid.value_or("");
  BULWARK_ASSIGN_OR_RETURN(auto use, OptString(o, "use"));
  jwk.use_ = use.value_or("");
  if (auto it = o.find("key_ops"); it != o.end()) {
    if (!it->value().is_array()) return Err(Invalid("jwk 'key_ops' must be an array"));
    std::vector<std::string> ops;
    for (const auto& v : it->value().get_array()) {
      if (!v.is_string()) return Err(Invalid("jwk 'key_ops' must hold strings"));
      std::string op(v.get_string());
      if (std::find(ops.begin(), ops.end(), op) != ops.end()) {
        return Err(Invalid("jwk 'key_ops' repeats a value"));
      }
      ops.push_back(std::move(op));
    }
    jwk.key_ops_ = std::move(ops);
  }
  std::optional<JwsAlgorithm> declared;
  BULWARK_ASSIGN_OR_RETURN(auto alg, OptString(o, "alg"));
  if (alg) {
    declared = ParseJwsAlgorithm(*alg);
    if (!declared) return Err(Invalid("jwk 'alg' is not a supported signature algorithm"));
  }
  bool has_d = o.contains("d");
  if (*kty == "OKP") {
    BULWARK_ASSIGN_OR_RETURN(auto crv, OptString(o, "crv"));
    if (crv != "Ed25519") return Err(Invalid("unsupported OKP curve"));
    BULWARK_ASSIGN_OR_RETURN(std::string x, B64Member(o, "x"));
    BULWARK_ASSIGN_OR_RETURN(auto pub, crypto::PublicKey::FromEd25519(x));
    if (has_d) {
      BULWARK_ASSIGN_OR_RETURN(auto d, SecretMember(o, "d"));
      BULWARK_ASSIGN_OR_RETURN(auto priv, crypto::PrivateKey::FromEd25519Seed(d));
      if (*priv.public_key().Ed25519Raw() != x) return Err(Invalid("jwk 'd' does not match 'x'"));
      jwk.private_key_ = std::move(priv);
    }
    jwk.public_key_ = std::move(pub);
  } else if (*kty == "EC") {
    BULWARK_ASSIGN_OR_RETURN(auto crv, OptString(o, "crv"));
    auto curve = CurveFromName(crv.value_or(""));
    if (!curve) return Err(Invalid("unsupported EC curve"));
    BULWARK_ASSIGN_OR_RETURN(std::string x, B64Member(o, "x"));
    BULWARK_ASSIGN_OR_RETURN(std::string y, B64Member(o, "y"));
    if (has_d) {
      BULWARK_ASSIGN_OR_RETURN(auto d, SecretMember(o, "d"));
      BULWARK_ASSIGN_OR_RETURN(auto priv, crypto::PrivateKey::FromEc(*curve, d, x, y));
      jwk.private_key_ = std::move(priv);
    } else {
      BULWARK_ASSIGN_OR_RETURN(auto pub, crypto::PublicKey::FromEcPoint(*curve, x, y));
      jwk.public_key_ = std::move(pub);
    }
  } else if (*kty == "RSA") {
    if (o.contains("oth")) return Err(Invalid("multi-prime RSA keys are not supported"));
    BULWARK_ASSIGN_OR_RETURN(std::string n, B64Member(o, "n"));
    BULWARK_ASSIGN_OR_RETURN(std::string e, B64Member(o, "e"));
    if (has_d) {
      crypto::RsaPrivateComponents c;
      BULWARK_ASSIGN_OR_RETURN(c.d, SecretMember(o, "d"));
      BULWARK_ASSIGN_OR_RETURN(c.p, SecretMember(o, "p"));
      BULWARK_ASSIGN_OR_RETURN(c.q, SecretMember(o, "q"));
      BULWARK_ASSIGN_OR_RETURN(c.dp, SecretMember(o, "dp"));
      BULWARK_ASSIGN_OR_RETURN(c.dq, SecretMember(o, "dq"));
      BULWARK_ASSIGN_OR_RETURN(c.qi, SecretMember(o, "qi"));
      BULWARK_ASSIGN_OR_RETURN(auto priv, crypto::PrivateKey::FromRsa(n, e, c));
      jwk.private_key_ = std::move(priv);
    } else {
      BULWARK_ASSIGN_OR_RETURN(auto pub, crypto::PublicKey::FromRsa(n, e));
      jwk.public_key_ = std::move(pub);
    }
  } else if (*kty == "oct") {
    BULWARK_ASSIGN_OR_RETURN(auto k, SecretMember(o, "k"));
    jwk.secret_ = std::make_shared<const crypto::SecretBytes>(std::move(k));
  } else {
    return Err(Invalid("unsupported jwk 'kty'"));
  }
  BULWARK_RETURN_IF_ERROR(jwk.Finish(declared));
  return jwk;
}

Result<Jwk> Jwk::FromPrivateKey(crypto::PrivateKey key, JwsAlgorithm alg, std::string kid) {
  Jwk jwk;
  jwk.private_key_ = std::move(key);
  jwk.kid_ = std::move(kid);
  BULWARK_RETURN_IF_ERROR(jwk.Finish(alg));
  return jwk;
}

Result<Jwk> Jwk::FromPublicKey(crypto::PublicKey key, JwsAlgorithm alg, std::string kid) {
  Jwk jwk;
  jwk.public_key_ = std::move(key);
  jwk.kid_ = std::move(kid);
  BULWARK_RETURN_IF_ERROR(jwk.Finish(alg));
  return jwk;
}

Result<Jwk> Jwk::FromSecret(crypto::SecretBytes secret, JwsAlgorithm alg, std::string kid) {
  Jwk jwk;
  jwk.secret_ = std::make_shared<const crypto::SecretBytes>(std::move(secret));
  jwk.kid_ = std::move(kid);
  BULWARK_RETURN_IF_ERROR(jwk.Finish(alg));
  return jwk;
}

Result<Jwk> Jwk::Generate(JwsAlgorithm alg, std::string kid) {
  Result<Jwk> jwk = Err(InternalError("unreachable"));
  if (IsHmac(alg)) {
    BULWARK_ASSIGN_OR_RETURN(auto secret, crypto::RandomSecret(MinHmacKeyBytes(alg)));
    jwk = FromSecret(std::move(secret), alg, kid);
  } else {
    KeyType t = alg == JwsAlgorithm::kEdDSA   ? KeyType::kEd25519
                : alg == JwsAlgorithm::kES256 ? KeyType::kEcP256
                : alg == JwsAlgorithm::kES384 ? KeyType::kEcP384
                : alg == JwsAlgorithm::kES512 ? KeyType::kEcP521
                                              : KeyType::kRsa;
    BULWARK_ASSIGN_OR_RETURN(auto key, crypto::PrivateKey::Generate(t, 2048));
    jwk = FromPrivateKey(std::move(key), alg, kid);
  }
  if (jwk && jwk->kid_.empty()) jwk->kid_ = jwk->Thumbprint();
  return jwk;
}

Status Jwk::CheckCanVerify(JwsAlgorithm alg) const {
  if (alg != alg_) return PermissionDeniedError("algorithm not allowed for key");
  if (!use_.empty() && use_ != "sig") return PermissionDeniedError("key is not for signatures");
  if (key_ops_ && std::find(key_ops_->begin(), key_ops_->end(), "verify") == key_ops_->end()) {
    return PermissionDeniedError("key_ops does not allow verify");
  }
  return OkStatus();
}

Status Jwk::CheckCanSign() const {
  if (!is_private()) return FailedPreconditionError("key has no private part");
  if (!use_.empty() && use_ != "sig") return PermissionDeniedError("key is not for signatures");
  if (key_ops_ && std::find(key_ops_->begin(), key_ops_->end(), "sign") == key_ops_->end()) {
    return PermissionDeniedError("key_ops does not allow sign");
  }
  return OkStatus();
}

Result<Jwk> Jwk::PublicJwk() const {
  if (secret_) return Err(FailedPreconditionError("a symmetric key has no public half"));
  Jwk pub;
  pub.kid_ = kid_;
  pub.alg_ = alg_;
  pub.explicit_alg_ = explicit_alg_;
  pub.use_ = use_;
  if (key_ops_) {
    std::vector<std::string> ops;
    for (const auto& op : *key_ops_) {
      if (op == "verify" || op == "sign") {
        if (std::find(ops.begin(), ops.end(), "verify") == ops.end()) ops.push_back("verify");
      } else if (op != "decrypt" && op != "unwrapKey" && op != "deriveKey" && op != "deriveBits") {
        ops.push_back(op);
      }
    }
    pub.key_ops_ = std::move(ops);
  }
  pub.public_key_ = private_key_ ? private_key_->public_key() : *public_key_;
  pub.verifier_ = verifier_;
  return pub;
}

json::object Jwk::ToJsonObject(bool include_private) const {
  json::object o;
  o["kty"] = kty();
  if (!kid_.empty()) o["kid"] = kid_;
  if (!use_.empty()) o["use"] = use_;
  if (key_ops_) {
    json::array ops;
    for (const auto& op : *key_ops_) ops.emplace_back(op);
    o["key_ops"] = std::move(ops);
  }
  o["alg"] = JwsAlgorithmName(alg_);
  if (secret_) {
    if (include_private) o["k"] = SecretB64(*secret_);
    return o;
  }
  const crypto::PublicKey& pub = private_key_ ? private_key_->public_key() : *public_key_;
  bool priv = include_private && private_key_.has_value();
  switch (pub.type()) {
    case KeyType::kEd25519:
      o["crv"] = "Ed25519";
      o["x"] = Base64UrlEncode(*pub.Ed25519Raw());
      if (priv) o["d"] = SecretB64(*private_key_->Ed25519Seed());
      break;
    case KeyType::kEcP256:
    case KeyType::kEcP384:
    case KeyType::kEcP521: {
      auto p = *pub.EcCoordinates();
      o["crv"] = CurveName(pub.type());
      o["x"] = Base64UrlEncode(p.x);
      o["y"] = Base64UrlEncode(p.y);
      if (priv) o["d"] = SecretB64(*private_key_->EcPrivateScalar());
      break;
    }
    case KeyType::kRsa: {
      auto c = *pub.RsaComponents();
      o["n"] = Base64UrlEncode(c.n);
      o["e"] = Base64UrlEncode(c.e);
      if (priv) {
        auto r = *private_key_->RsaPrivate();
        o["d"] = SecretB64(r.d);
        o["p"] = SecretB64(r.p);
        o["q"] = SecretB64(r.q);
        o["dp"] = SecretB64(r.dp);
        o["dq"] = SecretB64(r.dq);
        o["qi"] = SecretB64(r.qi);
      }
      break;
    }
  }
  return o;
}

std::string Jwk::ToJson(bool include_private) const {
  return json::serialize(ToJsonObject(include_private));
}

std::string Jwk::Thumbprint() const {
  // RFC 7638: the required members only, in lexicographic order, no whitespace.
  json::object full = ToJsonObject(/*include_private=*/true);
  auto s = [&](std::string_view k) { return std::string(full.at(k).as_string()); };
  std::string canonical;
  if (secret_) {
    canonical = "{\"k\":\"" + s("k") + "\",\"kty\":\"oct\"}";
  } else if (kty() == "RSA") {
    canonical = "{\"e\":\"" + s("e") + "\",\"kty\":\"RSA\",\"n\":\"" + s("n") + "\"}";
  } else if (kty() == "EC") {
    canonical = "{\"crv\":\"" + s("crv") + "\",\"kty\":\"EC\",\"x\":\"" + s("x") + "\",\"y\":\"" +
                s("y") + "\"}";
  } else {
    canonical = "{\"crv\":\"" + s("crv") + "\",\"kty\":\"OKP\",\"x\":\"" + s("x") + "\"}";
  }
  return Base64UrlEncode(crypto::Digest(crypto::HashAlgorithm::kSha256, canonical));
}

Result<Jwks> Jwks::Parse(std::string_view text) {
  JsonLimits limits;
  limits.max_bytes = 1 << 20;
  BULWARK_ASSIGN_OR_RETURN(json::object obj, ParseJsonObject(text, limits));
  const Result<Jwks> set = FromParsedSet(obj);
  WipeSecretMembers(obj);
  return set;
}

Result<Jwks> Jwks::FromParsedSet(const json::object& obj) {
  auto it = obj.find("keys");
  if (it == obj.end() || !it->value().is_array()) {
    return Err(Invalid("jwks must be an object with a 'keys' array"));
  }
  Jwks set;
  for (const auto& v : it->value().get_array()) {
    if (!v.is_object()) {
      ++set.skipped_;
      continue;
    }
    auto jwk = Jwk::FromJson(v.get_object());
    if (jwk) {
      set.keys_.push_back(std::move(*jwk));
    } else {
      ++set.skipped_;
    }
  }
  return set;
}

Result<Jwks> Jwks::ParseKeyOrSet(std::string_view text) {
  JsonLimits limits;
  limits.max_bytes = 1 << 20;
  BULWARK_ASSIGN_OR_RETURN(json::object obj, ParseJsonObject(text, limits));
  Result<Jwks> set = [&]() -> Result<Jwks> {
    if (obj.contains("keys")) return FromParsedSet(obj);
    BULWARK_ASSIGN_OR_RETURN(Jwk jwk, Jwk::FromJson(obj));
    std::vector<Jwk> keys;
    keys.push_back(std::move(jwk));
    return Jwks(std::move(keys));
  }();
  WipeSecretMembers(obj);
  return set;
}

size_t Jwks::DropSecretKeys() {
  return std::erase_if(keys_, [](const Jwk& key) { return key.is_private(); });
}

std::vector<const Jwk*> Jwks::FindByKid(std::string_view kid) const {
  std::vector<const Jwk*> out;
  for (const Jwk& k : keys_) {
    if (k.kid() == kid) out.push_back(&k);
  }
  return out;
}

std::string Jwks::ToJson(bool include_private) const {
  json::array arr;
  for (const Jwk& k : keys_) arr.emplace_back(k.ToJsonObject(include_private));
  json::object o;
  o["keys"] = std::move(arr);
  return json::serialize(o);
}

}  // namespace bulwark::jose

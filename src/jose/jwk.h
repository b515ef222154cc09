// JSON Web Keys (RFC 7517, 7518 section 6, 8037) and key sets.
//
// A Jwk knows which single algorithm it is for: its `alg` member, or, when
// absent, the one its type implies (EdDSA for Ed25519, ES256/384/512 by
// curve, RS256 for RSA). A symmetric key without `alg` is refused, since its
// use would be ambiguous. A token's header never picks the algorithm: it can
// only match the key's.
//
// `use` and `key_ops` are honoured: a key marked for encryption ("use":"enc",
// or key_ops without "verify") never verifies a signature.
//
// Jwk and Jwks are immutable values, safe to share between threads.
#ifndef BULWARK_JOSE_JWK_H_
#define BULWARK_JOSE_JWK_H_

#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crypto/keys.h"
#include "crypto/secret_bytes.h"
#include "crypto/signature.h"
#include "jose/algorithm.h"

namespace bulwark::jose {

class Jwk {
 public:
  // Parses one JWK. kInvalidArgument with the reason for malformed or
  // unsupported keys (unknown kty or crv, bad base64url, short HMAC keys,
  // RSA outside 2048-4096 bits, EC points off the curve, inconsistent
  // use/key_ops, alg that does not fit the key).
  static Result<Jwk> Parse(std::string_view json);
  static Result<Jwk> FromJson(const boost::json::object& obj);

  // Fresh key for `alg` (Ed25519 for EdDSA, the curve of ES*, RSA-2048 for
  // RS*/PS*, a random 32/48/64-byte secret for HS*). The kid defaults to the
  // RFC 7638 thumbprint.
  static Result<Jwk> Generate(JwsAlgorithm alg, std::string kid = "");
  static Result<Jwk> FromPrivateKey(crypto::PrivateKey key, JwsAlgorithm alg, std::string kid);
  static Result<Jwk> FromPublicKey(crypto::PublicKey key, JwsAlgorithm alg, std::string kid);
  static Result<Jwk> FromSecret(crypto::SecretBytes secret, JwsAlgorithm alg, std::string kid);

  // "OKP", "EC", "RSA" or "oct".
  std::string_view kty() const;
  const std::string& kid() const { return kid_; }
  JwsAlgorithm algorithm() const { return alg_; }
  bool has_explicit_alg() const { return explicit_alg_; }
  bool is_private() const { return private_key_.has_value() || secret_ != nullptr; }
  bool is_symmetric() const { return secret_ != nullptr; }

  // OK if this key may verify (sign) a JWS whose header says `alg`.
  // kPermissionDenied "algorithm not allowed for key" when alg differs from
  // the key's; kPermissionDenied when use/key_ops forbid the operation.
  Status CheckCanVerify(JwsAlgorithm alg) const;
  Status CheckCanSign() const;

  // The public half (same kid, alg, use). kFailedPrecondition for oct keys.
  Result<Jwk> PublicJwk() const;

  // Serializes to JSON. Private members are written only if
  // `include_private` (and never for a key without them).
  boost::json::object ToJsonObject(bool include_private = false) const;
  std::string ToJson(bool include_private = false) const;

  // RFC 7638 thumbprint (SHA-256, base64url).
  std::string Thumbprint() const;

  // Key material for jws.cc; exactly one of these is set.
  const crypto::PublicKey* public_key() const { return public_key_ ? &*public_key_ : nullptr; }
  const crypto::PrivateKey* private_key() const { return private_key_ ? &*private_key_ : nullptr; }
  const crypto::SecretBytes* secret() const { return secret_.get(); }
  // For asymmetric keys: a verifier prepared for this key's algorithm.
  const crypto::PreparedVerifier* verifier() const { return verifier_.get(); }

 private:
  Jwk() = default;
  Status Finish(std::optional<JwsAlgorithm> declared);

  std::string kid_;
  JwsAlgorithm alg_ = JwsAlgorithm::kES256;
  bool explicit_alg_ = false;
  std::string use_;  // "" if absent
  std::optional<std::vector<std::string>> key_ops_;
  std::optional<crypto::PublicKey> public_key_;
  std::optional<crypto::PrivateKey> private_key_;
  std::shared_ptr<const crypto::SecretBytes> secret_;
  std::shared_ptr<const crypto::PreparedVerifier> verifier_;
};

// A JWK Set (RFC 7517 section 5). Keys that are malformed or of unsupported
// types are skipped, as RFC 7517 section 5 directs, and counted; an input that
// is not a JSON object with a "keys" array is refused.
class Jwks {
 public:
  Jwks() = default;
  explicit Jwks(std::vector<Jwk> keys) : keys_(std::move(keys)) {}

  static Result<Jwks> Parse(std::string_view json);
  // A JWKS file or a single JWK, whichever `json` holds.
  static Result<Jwks> ParseKeyOrSet(std::string_view json);

  const std::vector<Jwk>& keys() const { return keys_; }
  size_t skipped() const { return skipped_; }
  bool empty() const { return keys_.empty(); }

  // The keys with this kid.
  std::vector<const Jwk*> FindByKid(std::string_view kid) const;

  // Removes the keys that hold secrets (oct keys, private halves) and says
  // how many went. A set that anyone may fetch holds none a verifier should
  // trust: a secret published there lets anyone sign.
  size_t DropSecretKeys();

  // {"keys":[...]}, public members only unless include_private.
  std::string ToJson(bool include_private = false) const;

 private:
  // The set a parsed {"keys": [...]} holds.
  static Result<Jwks> FromParsedSet(const boost::json::object& set);

  std::vector<Jwk> keys_;
  size_t skipped_ = 0;
};

}  // namespace bulwark::jose

#endif  // BULWARK_JOSE_JWK_H_

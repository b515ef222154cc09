// JWS signature algorithms (RFC 7518 section 3, RFC 8037). `none` is not one
// of them: it cannot be named, parsed or configured.
#ifndef BULWARK_JOSE_ALGORITHM_H_
#define BULWARK_JOSE_ALGORITHM_H_

#include <optional>
#include <string_view>

#include "crypto/digest.h"
#include "crypto/signature.h"

namespace bulwark::jose {

enum class JwsAlgorithm {
  kHS256,
  kHS384,
  kHS512,
  kRS256,
  kRS384,
  kRS512,
  kPS256,
  kPS384,
  kPS512,
  kES256,
  kES384,
  kES512,
  kEdDSA,
};

inline constexpr JwsAlgorithm kAllJwsAlgorithms[] = {
    JwsAlgorithm::kHS256, JwsAlgorithm::kHS384, JwsAlgorithm::kHS512, JwsAlgorithm::kRS256,
    JwsAlgorithm::kRS384, JwsAlgorithm::kRS512, JwsAlgorithm::kPS256, JwsAlgorithm::kPS384,
    JwsAlgorithm::kPS512, JwsAlgorithm::kES256, JwsAlgorithm::kES384, JwsAlgorithm::kES512,
    JwsAlgorithm::kEdDSA};

// The registered name ("HS256", ..., "EdDSA").
std::string_view JwsAlgorithmName(JwsAlgorithm alg);

// The algorithm with exactly that name (case-sensitive, as RFC 7515 requires);
// nullopt for "none" and anything unknown.
std::optional<JwsAlgorithm> ParseJwsAlgorithm(std::string_view name);

inline bool IsHmac(JwsAlgorithm a) {
  return a == JwsAlgorithm::kHS256 || a == JwsAlgorithm::kHS384 || a == JwsAlgorithm::kHS512;
}

// The crypto/ algorithm behind a non-HMAC JWS algorithm (PS*: MGF1 with the
// same hash and salt length = hash length, as RFC 7518 section 3.5 says).
crypto::SignatureAlgorithm SignatureAlgorithmFor(JwsAlgorithm alg);

// The hash of an HS* algorithm (SHA-256 for anything else).
crypto::HashAlgorithm HmacHashFor(JwsAlgorithm alg);

}  // namespace bulwark::jose

#endif  // BULWARK_JOSE_ALGORITHM_H_

#include "jose/algorithm.h"

namespace bulwark::jose {

std::string_view JwsAlgorithmName(JwsAlgorithm alg) {
  switch (alg) {
    case JwsAlgorithm::kHS256:
      return "HS256";
    case JwsAlgorithm::kHS384:
      return "HS384";
    case JwsAlgorithm::kHS512:
      return "HS512";
    case JwsAlgorithm::kRS256:
      return "RS256";
    case JwsAlgorithm::kRS384:
      return "RS384";
    case JwsAlgorithm::kRS512:
      return "RS512";
    case JwsAlgorithm::kPS256:
      return "PS256";
    case JwsAlgorithm::kPS384:
      return "PS384";
    case JwsAlgorithm::kPS512:
      return "PS512";
    case JwsAlgorithm::kES256:
      return "ES256";
    case JwsAlgorithm::kES384:
      return "ES384";
    case JwsAlgorithm::kES512:
      return "ES512";
    case JwsAlgorithm::kEdDSA:
      return "EdDSA";
  }
  return "";
}

std::optional<JwsAlgorithm> ParseJwsAlgorithm(std::string_view name) {
  for (JwsAlgorithm alg : kAllJwsAlgorithms) {
    if (JwsAlgorithmName(alg) == name) return alg;
  }
  return std::nullopt;
}

crypto::SignatureAlgorithm SignatureAlgorithmFor(JwsAlgorithm alg) {
  using crypto::SignatureAlgorithm;
  switch (alg) {
    case JwsAlgorithm::kRS256:
      return SignatureAlgorithm::kRsaPkcs1Sha256;
    case JwsAlgorithm::kRS384:
      return SignatureAlgorithm::kRsaPkcs1Sha384;
    case JwsAlgorithm::kRS512:
      return SignatureAlgorithm::kRsaPkcs1Sha512;
    case JwsAlgorithm::kPS256:
      return SignatureAlgorithm::kRsaPssSha256;
    case JwsAlgorithm::kPS384:
      return SignatureAlgorithm::kRsaPssSha384;
    case JwsAlgorithm::kPS512:
      return SignatureAlgorithm::kRsaPssSha512;
    case JwsAlgorithm::kES256:
      return SignatureAlgorithm::kEcdsaP256Sha256;
    case JwsAlgorithm::kES384:
      return SignatureAlgorithm::kEcdsaP384Sha384;
    case JwsAlgorithm::kES512:
      return SignatureAlgorithm::kEcdsaP521Sha512;
    default:
      return SignatureAlgorithm::kEd25519;
  }
}

crypto::HashAlgorithm HmacHashFor(JwsAlgorithm alg) {
  if (alg == JwsAlgorithm::kHS384) return crypto::HashAlgorithm::kSha384;
  if (alg == JwsAlgorithm::kHS512) return crypto::HashAlgorithm::kSha512;
  return crypto::HashAlgorithm::kSha256;
}

}  // namespace bulwark::jose

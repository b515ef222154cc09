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

}  // namespace bulwark::jose

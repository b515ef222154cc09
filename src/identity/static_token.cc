#include "identity/static_token.h"

#include "core/b64token.h"
#include "crypto/constant_time.h"
#include "crypto/digest.h"

namespace bulwark::identity {

constexpr size_t kMinTokenLength = 32;

Result<std::string> HashStaticToken(std::string_view token, std::string_view what) {
  if (token.size() < kMinTokenLength) {
    return Err(InvalidArgumentError(std::string(what) + " must be at least 32 characters"));
  }
  // Sent as `Authorization: Bearer <token>`, which takes RFC 6750's
  // b64token and nothing else (net::BearerToken): a token of other
  // characters could never be presented.
  if (!IsB64Token(token)) {
    return Err(InvalidArgumentError(
        std::string(what) +
        " must be of the characters A-Z a-z 0-9 - . _ ~ + / (then any =), as a bearer token is"));
  }
  return crypto::Digest(crypto::HashAlgorithm::kSha256, token);
}

bool StaticTokenMatches(std::string_view token, std::string_view token_sha256) {
  return !token.empty() && crypto::ConstantTimeEquals(
                               crypto::Digest(crypto::HashAlgorithm::kSha256, token), token_sha256);
}

}  // namespace bulwark::identity

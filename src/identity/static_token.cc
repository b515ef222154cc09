#include "identity/static_token.h"

#include <algorithm>
#include <cstddef>

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
  const size_t body = token.find_last_not_of('=');
  const auto b64token = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
  };
  if (body == std::string_view::npos ||
      !std::all_of(token.begin(), token.begin() + static_cast<std::ptrdiff_t>(body) + 1,
                   b64token)) {
    return Err(InvalidArgumentError(
        std::string(what) +
        " must be of the characters A-Z a-z 0-9 - . _ ~ + / (then any =), as a "
        "bearer token is"));
  }
  return crypto::Digest(crypto::HashAlgorithm::kSha256, token);
}

bool StaticTokenMatches(std::string_view token, std::string_view token_sha256) {
  return !token.empty() && crypto::ConstantTimeEquals(
                               crypto::Digest(crypto::HashAlgorithm::kSha256, token), token_sha256);
}

}  // namespace bulwark::identity

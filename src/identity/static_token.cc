#include "identity/static_token.h"

#include <algorithm>

#include "crypto/constant_time.h"
#include "crypto/digest.h"

namespace bulwark::identity {

constexpr size_t kMinTokenLength = 32;

Result<std::string> HashStaticToken(std::string_view token, std::string_view what) {
  if (token.size() < kMinTokenLength) {
    return Err(InvalidArgumentError(std::string(what) + " must be at least 32 characters"));
  }
  if (std::any_of(token.begin(), token.end(), [](char c) { return c <= 0x20 || c == 0x7f; })) {
    return Err(InvalidArgumentError(std::string(what) +
                                    " must not hold whitespace or control characters"));
  }
  return crypto::Digest(crypto::HashAlgorithm::kSha256, token);
}

bool StaticTokenMatches(std::string_view token, std::string_view token_sha256) {
  return !token.empty() && crypto::ConstantTimeEquals(
                               crypto::Digest(crypto::HashAlgorithm::kSha256, token), token_sha256);
}

}  // namespace bulwark::identity

// Static bearer tokens from the config (the admin token, the decision API's
// token): kept only as a SHA-256, checked in constant time.
#ifndef BULWARK_IDENTITY_STATIC_TOKEN_H_
#define BULWARK_IDENTITY_STATIC_TOKEN_H_

#include <string>
#include <string_view>

#include "core/status.h"

namespace bulwark::identity {

// The SHA-256 to keep of `token`; kInvalidArgument (naming `what`, e.g.
// "the admin token") if it is shorter than 32 characters or is not an
// RFC 6750 b64token (A-Z a-z 0-9 - . _ ~ + /, then any `=`), the only
// shape a Bearer credential takes (openssl rand -hex or -base64 gives one).
Result<std::string> HashStaticToken(std::string_view token, std::string_view what);

// True if `token` is non-empty and its SHA-256 equals `token_sha256`.
// Hashing both sides makes the lengths equal, so the comparison (constant
// time) leaks nothing of the stored token.
bool StaticTokenMatches(std::string_view token, std::string_view token_sha256);

}  // namespace bulwark::identity

#endif  // BULWARK_IDENTITY_STATIC_TOKEN_H_

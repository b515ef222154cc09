// base64url without padding (RFC 7515 section 2 / RFC 4648 section 5).
#ifndef BULWARK_JOSE_BASE64URL_H_
#define BULWARK_JOSE_BASE64URL_H_

#include <string>
#include <string_view>

#include "core/status.h"

namespace bulwark::jose {

std::string Base64UrlEncode(std::string_view data);

// Strict decoding: refuses padding ('='), characters outside [A-Za-z0-9-_],
// a length of 1 mod 4, and non-canonical encodings whose unused trailing bits
// are not zero (so every byte string has exactly one accepted encoding).
// kInvalidArgument on any of these.
Result<std::string> Base64UrlDecode(std::string_view text);

// Decodes into `out` (replacing its contents); false on the errors above.
// Lets hot paths reuse a buffer.
bool Base64UrlDecodeInto(std::string_view text, std::string& out);

}  // namespace bulwark::jose

#endif  // BULWARK_JOSE_BASE64URL_H_

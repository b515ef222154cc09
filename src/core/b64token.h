// RFC 6750's b64token, the shape of a Bearer credential, for the gateway
// that reads one and the configuration of tokens that must be sent as one.
#ifndef BULWARK_CORE_B64TOKEN_H_
#define BULWARK_CORE_B64TOKEN_H_

#include <string_view>

namespace bulwark {

// Whether `s` is 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
// Every request with a bearer token passes here, and a token is hundreds of
// bytes: checked sixteen bytes at a time where SSE2 is there.
bool IsB64Token(std::string_view s);

}  // namespace bulwark

#endif  // BULWARK_CORE_B64TOKEN_H_

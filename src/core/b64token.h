// RFC 6750's b64token, the shape of a Bearer credential, for the gateway
// that reads one and the configuration of tokens that must be sent as one.
#ifndef BULWARK_CORE_B64TOKEN_H_
#define BULWARK_CORE_B64TOKEN_H_

#include <string_view>

namespace bulwark {

// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
inline bool IsB64Token(std::string_view s) {
  const size_t body = s.find_last_not_of('=');
  if (body == std::string_view::npos) return false;
  for (const char c : s.substr(0, body + 1)) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
    if (!ok) return false;
  }
  return true;
}

}  // namespace bulwark

#endif  // BULWARK_CORE_B64TOKEN_H_

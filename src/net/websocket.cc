#include "net/websocket.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>

namespace bulwark::net {

namespace {

// RFC 6455 section 1.3.
constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

bool IsWebSocketKey(std::string_view key) {
  // 16 bytes: 21 characters of six bits each, a 22nd whose low four bits
  // are padding (zero in the canonical form), then "==".
  if (key.size() != 24 || !key.ends_with("==")) return false;
  if (!std::all_of(key.begin(), key.begin() + 22, IsBase64Char)) return false;
  return std::string_view("AQgw").find(key[21]) != std::string_view::npos;
}

std::optional<std::string> WebSocketAccept(std::string_view key) {
  std::string input;
  input.reserve(key.size() + kGuid.size());
  input.append(key).append(kGuid);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(input.data(), input.size(), digest.data(), &size, EVP_sha1(), nullptr) != 1) {
    return std::nullopt;
  }
  std::string out(4 * ((size + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), digest.data(),
                                static_cast<int>(size));
  // 20 bytes of SHA-1 are 28 characters: anything else (an empty answer
  // above all, which would ask the pool to check nothing) is no accept.
  if (size != 20 || n != 28) return std::nullopt;
  return out;
}

}  // namespace bulwark::net

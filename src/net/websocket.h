// The parts of RFC 6455's opening handshake a proxy checks: the client's
// Sec-WebSocket-Key and the Sec-WebSocket-Accept a service that really
// switched answers it with. Thread-safe, stateless functions.
#ifndef BULWARK_NET_WEBSOCKET_H_
#define BULWARK_NET_WEBSOCKET_H_

#include <optional>
#include <string>
#include <string_view>

namespace bulwark::net {

// Whether `key` is a Sec-WebSocket-Key: the base64 (RFC 4648 section 4,
// padded, canonical) of 16 bytes (RFC 6455 section 4.1), so 24 characters.
bool IsWebSocketKey(std::string_view key);

// The Sec-WebSocket-Accept a service answers `key` with: the base64 of the
// SHA-1 of the key followed by RFC 6455's GUID (section 4.2.2). Nullopt
// only if the crypto library has no SHA-1 (a provider configured without it).
std::optional<std::string> WebSocketAccept(std::string_view key);

}  // namespace bulwark::net

#endif  // BULWARK_NET_WEBSOCKET_H_

// Waiting for a JWKS refetch a decision started (Decision::jwks_refetch), so
// that the request that met a rotated key is decided again with the new keys
// instead of being turned away. Includes Asio; for the HTTP-facing parts of
// the gateway (the reverse proxy, forward-auth).
#ifndef BULWARK_GATEWAY_KEY_REFETCH_WAIT_H_
#define BULWARK_GATEWAY_KEY_REFETCH_WAIT_H_

#include <chrono>

#include <boost/asio/awaitable.hpp>

#include "gateway/gateway.h"

namespace bulwark::gateway {

// If `decision` was refused for a kid its issuer's keys lack while a
// refetch of them starts (Decision::jwks_refetch), waits for that fetch
// without blocking the io thread, up to min(refetch timeout, 10 s) after
// `start`, polling every 10 ms, and then decides `facts` once more into
// `decision` (with facts.after_key_refetch set). Does nothing otherwise, or
// when kMaxWaitingForKeys requests of this thread already wait (tokens with
// made-up kids cannot park a thread's connections).
boost::asio::awaitable<void> DecideAgainAfterKeyRefetch(
    const Gateway& gateway, RequestFacts& facts, Decision& decision,
    std::chrono::steady_clock::time_point start);

inline constexpr int kMaxWaitingForKeys = 256;

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_KEY_REFETCH_WAIT_H_

// Tunnel: what a connection becomes after a `101 Switching Protocols`
// (HttpResponse::tunnel): bytes relayed both ways between the client and
// the service until either side ends, as for a WebSocket. The server hands
// the client's end of the connection (TunnelEnd) to the tunnel once the 101
// head is written. Includes Asio; for net/ and the HTTP-facing modules.
#ifndef BULWARK_NET_TUNNEL_H_
#define BULWARK_NET_TUNNEL_H_

#include <chrono>
#include <cstddef>
#include <string_view>
#include <tuple>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

namespace bulwark::net {

// One end of a tunnel, plaintext or TLS. One read and one write may be
// pending at a time, from two coroutines of the end's io thread.
class TunnelEnd {
 public:
  virtual ~TunnelEnd() = default;
  // At least one byte: (error, bytes); the end of the stream is an error.
  virtual boost::asio::awaitable<std::tuple<boost::system::error_code, size_t>> ReadSome(
      boost::asio::mutable_buffer buffer) = 0;
  virtual boost::asio::awaitable<boost::system::error_code> WriteAll(
      boost::asio::const_buffer buffer) = 0;
  // A write tried at once, without waiting: (error, bytes written), the
  // rest for WriteAll (over TLS all or nothing: then WriteAll the same
  // bytes).
  virtual std::tuple<boost::system::error_code, size_t> WriteNow(
      boost::asio::const_buffer buffer) = 0;
  // Operations pending past `timeout` from now fail (renewed by each call).
  virtual void ExpireAfter(std::chrono::milliseconds timeout) = 0;
  // Ends the traffic both ways: pending operations fail at once and later
  // ones fail too, but the descriptor stays this end's (no other connection
  // can be given its number while a coroutine may still use it).
  virtual void Shutdown() = 0;
  // Ends the connection; only once no operation can be pending.
  virtual void Close() = 0;
};

class Tunnel {
 public:
  virtual ~Tunnel() = default;
  // Relays bytes between `client` and the other end, `early` (what the
  // client sent after its request, before the 101) first, until either end
  // closes or fails or neither sends anything for the tunnel's idle
  // timeout; then closes both.
  virtual boost::asio::awaitable<void> Run(TunnelEnd& client, std::string_view early) = 0;
  // "" while the credentials the tunnel was opened on still stand (an API
  // key neither revoked nor expired, a token not past its exp) and its
  // request would still be authorized; else which ended, as the log names
  // it ("API key", "token", "authorization"). The io thread asks
  // about once a second while the tunnel runs, on its own thread, and ends
  // the tunnel's traffic once one has ended (a request on a credential that
  // ended would be refused; a tunnel has no next request to refuse).
  virtual std::string_view EndedCredential() const { return {}; }
};

}  // namespace bulwark::net

#endif  // BULWARK_NET_TUNNEL_H_

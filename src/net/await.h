// How net/ awaits Asio operations in its coroutines; internal to net/.
#ifndef BULWARK_NET_AWAIT_H_
#define BULWARK_NET_AWAIT_H_

#include <type_traits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace bulwark::net::internal {

// I/O outcomes (EOF, timeout, reset, cancel) come back as values, not throws.
inline constexpr auto kAwait = boost::asio::as_tuple(boost::asio::use_awaitable);

// The same for Asio's own sockets, acceptors and timers, awaited in place:
// use_awaitable would allocate a coroutine frame to start each operation.
// Beast's streams take only kAwait (their initiating functions predate
// deferred operations).
inline constexpr auto kAwaitInPlace = boost::asio::as_tuple(boost::asio::deferred);

// kAwaitInPlace for Asio's TCP socket, kAwait for any other stream.
template <typename Stream>
inline constexpr auto kAwaitOn = [] {
  if constexpr (std::is_same_v<Stream, boost::asio::ip::tcp::socket>) {
    return kAwaitInPlace;
  } else {
    return kAwait;
  }
}();

}  // namespace bulwark::net::internal

#endif  // BULWARK_NET_AWAIT_H_

// Reads and writes tried at once on a socket in non-blocking mode, before
// awaiting anything; internal to net/.
//
// An Asio operation whose data is already there still completes through the
// scheduler: queued, dequeued and dispatched back to the coroutine, which on
// the proxy's path costs more than the system call itself. So the proxy calls
// recv(2) and send(2) first (TlsSocket's ReadNow and WriteNow, OpenSSL), and
// falls back to Asio's operation only when one would block.
//
// A read that follows the proxy's own send (the next request after a
// response, the upstream's answer after a request) first yields to the io
// thread's other work (asio::post): tried at once, it nearly always found
// nothing yet. Its fallback is Asio's read, which waits in the reactor as
// registered; async_wait would re-arm the descriptor with epoll_ctl on every
// wait.
#ifndef BULWARK_NET_IMMEDIATE_IO_H_
#define BULWARK_NET_IMMEDIATE_IO_H_

#include <cstddef>
#include <optional>
#include <tuple>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace bulwark::net::internal {

using IoOutcome = std::tuple<boost::system::error_code, size_t>;

// One recv(2) into `buffer` (not empty) on `socket`, which must be in
// non-blocking mode (native_non_blocking): the bytes read, eof at the end of
// the stream, an error; nullopt if it would block.
std::optional<IoOutcome> ReceiveNow(boost::asio::ip::tcp::socket& socket,
                                    boost::asio::mutable_buffer buffer);

// send(2) of `buffer` on `socket` (non-blocking) until all is sent or a call
// would block: the bytes sent, or an error.
IoOutcome SendNow(boost::asio::ip::tcp::socket& socket, boost::asio::const_buffer buffer);

}  // namespace bulwark::net::internal

#endif  // BULWARK_NET_IMMEDIATE_IO_H_

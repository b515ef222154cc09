// Writes (and the odd read) tried at once on a socket in non-blocking mode,
// before awaiting anything; internal to net/.
//
// An Asio operation whose data is already there still completes through the
// scheduler: queued, dequeued and dispatched back to the coroutine, which on
// the proxy's path costs more than the system call itself. So the proxy
// calls send(2) first (TlsSocket's WriteNow, OpenSSL, on TLS connections),
// and falls back to Asio's operation only when one would block.
//
// Reads are another matter: the next request after a response, or the
// service's answer after a request, is hardly ever there yet when the read
// begins, and a read tried at once mostly fails with EAGAIN. They go through
// the reactor, which knows when the last read drained the socket
// (net/reactor_receive.h); ReceiveNow is for bytes known to have come.
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

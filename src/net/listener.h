// Listening sockets for HttpServer: one per io thread on the same address,
// sharing the port through SO_REUSEPORT. Internal to net/ (includes Asio).
//
// SO_REUSEPORT lets any socket of the same user join a port, so a second
// server started on a port already served would silently share its traffic
// instead of failing. CheckPortFree closes that hole: before the group is
// formed on an explicit port, a probe socket without SO_REUSEPORT binds the
// address, which fails if anything listens there, reuse-port group or not.
// The window between probe and bind is a few system calls; two servers of the
// same user starting on the same port within it could still share it (other
// users never can: the kernel keeps a group to one user). An ephemeral port
// (port 0) needs no probe: the kernel picks one no group uses.
#ifndef BULWARK_NET_LISTENER_H_
#define BULWARK_NET_LISTENER_H_

#include <cstdint>
#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "core/status.h"

namespace bulwark::net::internal {

// Resolves `host` (an IP literal, or a name: its first address) with `port`.
// kInvalidArgument if it does not resolve.
Result<boost::asio::ip::tcp::endpoint> ResolveListenEndpoint(const std::string& host,
                                                             uint16_t port);

// OK if nothing listens on `endpoint` (explicit port). kUnavailable if the
// address is in use, kInvalidArgument if it is not a local address.
Status CheckPortFree(const boost::asio::ip::tcp::endpoint& endpoint);

// Opens `acceptor` (closed on entry), sets SO_REUSEADDR and SO_REUSEPORT,
// binds `endpoint` and listens. Errors as CheckPortFree.
Status ListenReusePort(boost::asio::ip::tcp::acceptor& acceptor,
                       const boost::asio::ip::tcp::endpoint& endpoint, int backlog);

}  // namespace bulwark::net::internal

#endif  // BULWARK_NET_LISTENER_H_

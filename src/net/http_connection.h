// Serving one accepted HTTP/1.1 connection. Internal to net/ (includes Asio);
// not part of the public API.
#ifndef BULWARK_NET_HTTP_CONNECTION_H_
#define BULWARK_NET_HTTP_CONNECTION_H_

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "net/server_worker.h"

namespace bulwark::net::internal {

// Reads requests from `socket` (whose client is at `peer`, as accept told
// it), answers each with worker.shared.handler, and
// closes the connection when the client does, a limit or timeout is hit, a
// request is refused, or the server stops. Runs on worker's io thread, which
// must outlive it; `ticket` is given back when it ends. Does not throw for
// anything a client sends.
boost::asio::awaitable<void> ServeConnection(boost::asio::ip::tcp::socket socket,
                                             boost::asio::ip::tcp::endpoint peer, Worker& worker,
                                             ConnectionTicket ticket);

// As ServeConnection, over TLS with `context` (held for the connection's
// life), which verifies client certificates against the client trust of
// `trust_generation` (TlsContextSource::CurrentWithTrust): the handshake
// must complete within header_read_timeout.
boost::asio::awaitable<void> ServeTlsConnection(boost::asio::ip::tcp::socket socket,
                                                boost::asio::ip::tcp::endpoint peer, Worker& worker,
                                                ConnectionTicket ticket,
                                                std::shared_ptr<boost::asio::ssl::context> context,
                                                uint64_t trust_generation);

}  // namespace bulwark::net::internal

#endif  // BULWARK_NET_HTTP_CONNECTION_H_

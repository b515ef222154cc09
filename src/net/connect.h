// Connecting a Beast stream to the first of its endpoints that takes it.
// Internal to net/ (includes Beast).
#ifndef BULWARK_NET_CONNECT_H_
#define BULWARK_NET_CONNECT_H_

#include <chrono>
#include <span>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace bulwark::net::internal {

// Connects `stream` to `endpoints` one after another by `deadline`, each on
// a socket opened here first, so that a socket this process has no
// descriptor for fails with that error (EMFILE, ENFILE...: IsLocalShortage)
// rather than the cancellation a range connect reports it as. No error on
// the first success; else beast::error::timeout at the deadline, the error
// of a socket that could not be opened, or the last endpoint's error
// (asio::error::not_found without endpoints).
boost::asio::awaitable<boost::beast::error_code> ConnectInTurn(
    boost::beast::tcp_stream& stream, std::span<const boost::asio::ip::tcp::endpoint> endpoints,
    std::chrono::steady_clock::time_point deadline);

}  // namespace bulwark::net::internal

#endif  // BULWARK_NET_CONNECT_H_

#include "net/connect.h"

#include <tuple>

#include "net/await.h"

namespace bulwark::net::internal {

boost::asio::awaitable<boost::beast::error_code> ConnectInTurn(
    boost::beast::tcp_stream& stream, std::span<const boost::asio::ip::tcp::endpoint> endpoints,
    std::chrono::steady_clock::time_point deadline) {
  boost::beast::error_code ec = boost::asio::error::not_found;
  for (const boost::asio::ip::tcp::endpoint& endpoint : endpoints) {
    boost::asio::ip::tcp::socket& socket = stream.socket();
    if (socket.is_open()) socket.close(ec);  // the last endpoint's attempt
    socket.open(endpoint.protocol(), ec);
    if (ec) co_return ec;
    stream.expires_at(deadline);
    std::tie(ec) = co_await stream.async_connect(endpoint, kAwait);
    if (!ec || ec == boost::beast::error::timeout) break;
  }
  co_return ec;
}

}  // namespace bulwark::net::internal

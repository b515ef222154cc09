#include "net/listener.h"

#include <sys/socket.h>

#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/system/error_code.hpp>

namespace bulwark::net::internal {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

std::string Describe(const tcp::endpoint& endpoint) {
  const std::string address = endpoint.address().to_string();
  return (endpoint.address().is_v6() ? "[" + address + "]" : address) + ":" +
         std::to_string(endpoint.port());
}

Status BindError(std::string_view what, const tcp::endpoint& endpoint, const error_code& ec) {
  std::string message = std::string(what) + " " + Describe(endpoint) + ": " + ec.message();
  if (ec == boost::system::errc::address_not_available)
    return InvalidArgumentError(std::move(message));
  return UnavailableError(std::move(message));
}

}  // namespace

Result<tcp::endpoint> ResolveListenEndpoint(const std::string& host, uint16_t port) {
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (!ec) return tcp::endpoint(address, port);
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  const auto results = resolver.resolve(
      host, std::to_string(port), tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return Err(InvalidArgumentError("cannot resolve listen host '" + host +
                                    "': " + (ec ? ec.message() : "no address")));
  }
  return results.begin()->endpoint();
}

Status CheckPortFree(const tcp::endpoint& endpoint) {
  asio::io_context ioc;
  tcp::acceptor probe(ioc);
  error_code ec;
  // SO_REUSEADDR so that connections of a previous run in TIME_WAIT do not
  // count; without SO_REUSEPORT, so that any listener, a group included, does.
  probe.open(endpoint.protocol(), ec);
  if (!ec) probe.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) probe.bind(endpoint, ec);
  if (ec) return BindError("cannot listen on", endpoint, ec);
  return OkStatus();
}

Status ListenReusePort(tcp::acceptor& acceptor, const tcp::endpoint& endpoint, int backlog) {
  error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.set_option(ReusePort(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(backlog, ec);
  if (ec) {
    error_code ignored;
    acceptor.close(ignored);
    return BindError("cannot listen on", endpoint, ec);
  }
  return OkStatus();
}

}  // namespace bulwark::net::internal

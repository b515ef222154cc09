#include "net/immediate_io.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>

#include <boost/asio/error.hpp>

namespace bulwark::net::internal {

namespace {

boost::system::error_code Errno() {
  return boost::system::error_code(errno, boost::asio::error::get_system_category());
}

}  // namespace

std::optional<IoOutcome> ReceiveNow(boost::asio::ip::tcp::socket& socket,
                                    boost::asio::mutable_buffer buffer) {
  for (;;) {
    const ssize_t n = ::recv(socket.native_handle(), buffer.data(), buffer.size(), 0);
    if (n > 0) return IoOutcome(boost::system::error_code(), static_cast<size_t>(n));
    if (n == 0) return IoOutcome(boost::asio::error::eof, 0);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    return IoOutcome(Errno(), 0);
  }
}

IoOutcome SendNow(boost::asio::ip::tcp::socket& socket, boost::asio::const_buffer buffer) {
  const auto* data = static_cast<const char*>(buffer.data());
  size_t sent = 0;
  while (sent < buffer.size()) {
    // MSG_NOSIGNAL: a peer that went away is an error here, not SIGPIPE.
    const ssize_t n =
        ::send(socket.native_handle(), data + sent, buffer.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    return IoOutcome(Errno(), sent);
  }
  return IoOutcome(boost::system::error_code(), sent);
}

}  // namespace bulwark::net::internal

// TlsSocket: a TLS connection, server side (a client's connection to a
// listener) or client side (to an upstream), with OpenSSL reading and
// writing the TCP socket's descriptor itself; internal to net/.
//
// Asio's ssl::stream runs OpenSSL over a pair of memory BIOs and copies every
// record between them and the socket, clearing OpenSSL's error queue (a pass
// over all its slots) before each of its many steps: on a keep-alive
// connection that cost more than the cipher. Here OpenSSL reads and writes
// the socket's (non-blocking) descriptor through a BIO of ours, and when it
// wants to read or write, the coroutine waits on the socket's readiness in
// the io thread's reactor, as nginx does with its event loop.
//
// A response may also be sealed rather than written: OpenSSL's records of
// it are held back in the socket, for the caller to send with the io
// thread's other sends (net/io_batch.h).
//
// One read and one write may be pending at a time, from two coroutines of
// its thread (a tunnel relays both ways); a handshake or shutdown runs
// alone. The socket stays an Asio socket: the worker's sweep cancels a wait
// that outlives its deadline, and closing it ends the connection.
#ifndef BULWARK_NET_TLS_SOCKET_H_
#define BULWARK_NET_TLS_SOCKET_H_

#include <openssl/ssl.h>

#include <cstddef>
#include <optional>
#include <string>
#include <tuple>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include "net/reactor_receive.h"

namespace bulwark::net::internal {

class TlsSocket {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  using ErrorCode = boost::system::error_code;
  // What the socket's BIO reads and writes: the descriptor, or while Seal
  // runs, a string its writes go to.
  struct Sink {
    int fd = -1;
    std::string* hold = nullptr;
    // The last read from the socket left nothing in it (it would block, or
    // TCP_INQ said so; net/reactor_receive.h).
    bool drained = false;
  };

  enum class Role { kServer, kClient };
  using executor_type = Socket::executor_type;

  // Takes `socket` and a new SSL of `context` in `role`. If OpenSSL cannot
  // make one, every operation fails.
  TlsSocket(Socket socket, boost::asio::ssl::context& context, Role role = Role::kServer);
  ~TlsSocket();
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  SSL* native_handle() { return ssl_; }
  Socket& next_layer() { return socket_; }
  executor_type get_executor() { return socket_.get_executor(); }
  // Bytes OpenSSL has read from the socket and not yet handed out.
  bool HasPending() const { return ssl_ != nullptr && SSL_has_pending(ssl_) == 1; }

  // Asio's stream operations, for Asio's and Beast's composed reads and
  // writes (each takes the first non-empty buffer of the sequence). Tried at
  // once; an outcome known at once is posted, not delivered within the call.
  // A write that must wait is retried within the operation with the same
  // bytes, as OpenSSL requires: a caller that tried WriteNow first continues
  // with Write, not with these.
  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return Initiate(Op::kRead, FirstOf<boost::asio::mutable_buffer>(buffers),
                    std::forward<Token>(token));
  }
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return Initiate(Op::kWrite, FirstOf<boost::asio::const_buffer>(buffers),
                    std::forward<Token>(token));
  }

  boost::asio::awaitable<ErrorCode> Handshake();
  // Reads at least one byte of application data: (error, bytes). A peer's
  // close_notify is asio::error::eof; a connection closed without one,
  // ssl::error::stream_truncated. If the last read drained the socket and
  // OpenSSL holds nothing, it waits for the socket before it tries.
  boost::asio::awaitable<std::tuple<ErrorCode, size_t>> ReadSome(
      boost::asio::mutable_buffer buffer);
  // Writes all of `buffer`: (error, bytes written).
  boost::asio::awaitable<std::tuple<ErrorCode, size_t>> Write(boost::asio::const_buffer buffer);

  // Write tried once, without awaiting (net/immediate_io.h): the outcome,
  // or nullopt if OpenSSL must wait for the socket (then Write with the same
  // buffer).
  std::optional<std::tuple<ErrorCode, size_t>> WriteNow(boost::asio::const_buffer buffer);
  // Encrypts all of `buffer` (at most INT_MAX bytes) into TLS records that
  // are held back (Held()) rather than written; the caller sends them and
  // then calls ReleaseHeld(). An error if OpenSSL failed, or if it asked to
  // wait for the socket, which a server that refuses renegotiation never
  // does when writing.
  ErrorCode Seal(boost::asio::const_buffer buffer);
  boost::asio::const_buffer Held() const { return boost::asio::buffer(held_); }
  void ReleaseHeld();
  // Sends close_notify and waits for the peer's.
  boost::asio::awaitable<ErrorCode> Shutdown();

 private:
  enum class Op { kHandshake, kRead, kWrite, kShutdown };
  // Runs `op` until it succeeds (its positive result is returned) or fails,
  // waiting on the socket whenever OpenSSL wants to read or write.
  boost::asio::awaitable<std::tuple<ErrorCode, size_t>> Drive(Op op, void* data, int size);
  boost::asio::awaitable<std::tuple<ErrorCode, size_t>> WriteInPieces(
      boost::asio::const_buffer buffer);
  using Handler = boost::asio::any_completion_handler<void(ErrorCode, size_t)>;
  template <class Buffer, class Buffers>
  static Buffer FirstOf(const Buffers& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      if (Buffer buffer(*it); buffer.size() != 0) return buffer;
    }
    return Buffer();
  }
  template <class Buffer, class Token>
  auto Initiate(Op op, Buffer buffer, Token&& token) {
    return boost::asio::async_initiate<Token, void(ErrorCode, size_t)>(
        [this, op](auto handler, Buffer buffer) {
          Start(op, const_cast<void*>(static_cast<const void*>(buffer.data())), buffer.size(),
                Handler(std::move(handler)));
        },
        token, buffer);
  }
  // An Asio operation: `op` on `size` bytes at `data`, `handler` called
  // with its outcome (never within this call).
  void Start(Op op, void* data, size_t size, Handler handler);
  // Waits on the socket as OpenSSL asked, then tries again.
  void WaitAndRetry(Op op, void* data, int size, Handler handler);
  int Attempt(Op op, void* data, int size);
  // One Attempt: nullopt if OpenSSL wants the socket (wait_for_ says how).
  std::optional<std::tuple<ErrorCode, size_t>> Try(Op op, void* data, int size);

  Socket socket_;
  Reactor& reactor_;  // socket_'s, for the waits to read (net/reactor_receive.h)
  Sink sink_;
  std::string held_;
  SSL* ssl_ = nullptr;
  Socket::wait_type wait_for_ = Socket::wait_read;
};

}  // namespace bulwark::net::internal

#endif  // BULWARK_NET_TLS_SOCKET_H_

#include "net/tls_socket.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <utility>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>

#include "net/await.h"

namespace bulwark::net::internal {

namespace asio = boost::asio;

namespace {

// Held records past this are not kept for the next response.
constexpr size_t kMaxRetainedHeld = 4096;

// The BIO OpenSSL reads and writes the socket through. OpenSSL's own socket
// BIO writes with write(2), which raises SIGPIPE when the peer has closed:
// this one sends with MSG_NOSIGNAL, so that is an EPIPE error like any other.
// Its data is the TlsSocket's Sink.
TlsSocket::Sink& SinkOf(BIO* bio) { return *static_cast<TlsSocket::Sink*>(BIO_get_data(bio)); }

// A retry is signalled only for a socket that is not ready: the caller then
// waits for the reactor to say it is, which it says only on a change. An
// interrupted call is made again at once.
bool NotReady() { return errno == EAGAIN || errno == EWOULDBLOCK; }

int SocketRead(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  TlsSocket::Sink& sink = SinkOf(bio);
  const ssize_t n = ReceiveTelling(sink.fd, data, static_cast<size_t>(size), sink.drained);
  if (n < 0 && NotReady()) BIO_set_retry_read(bio);
  return static_cast<int>(n);
}

int SocketWrite(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  const TlsSocket::Sink& sink = SinkOf(bio);
  if (sink.hold != nullptr) {
    sink.hold->append(data, static_cast<size_t>(size));
    return size;
  }
  ssize_t n;
  do {
    n = ::send(sink.fd, data, static_cast<size_t>(size), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && NotReady()) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

long SocketControl(BIO*, int command, long, void*) {  // NOLINT(runtime/int): OpenSSL's type
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

const BIO_METHOD* SocketMethod() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "bulwark socket");
    if (m == nullptr) return m;
    BIO_meth_set_read(m, SocketRead);
    BIO_meth_set_write(m, SocketWrite);
    BIO_meth_set_ctrl(m, SocketControl);
    return m;
  }();
  return method;
}

int ClampedSize(size_t size) { return static_cast<int>(std::min<size_t>(size, INT_MAX)); }

// What a failed SSL call (result `result`, SSL_get_error `error`) means,
// taking OpenSSL's queued error, if any.
boost::system::error_code ErrorFor(int result, int error) {
  if (error == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
  if (error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    if (result == 0 || errno == 0) return asio::ssl::error::stream_truncated;
    return {errno, boost::system::system_category()};
  }
  const unsigned long queued = ERR_get_error();
  ERR_clear_error();
  if (queued == 0) return asio::ssl::error::stream_truncated;
  if (ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    return asio::ssl::error::stream_truncated;
  }
  return {static_cast<int>(queued), asio::error::get_ssl_category()};
}

}  // namespace

TlsSocket::TlsSocket(Socket socket, asio::ssl::context& context, Role role)
    : socket_(std::move(socket)), reactor_(ReactorOf(socket_)) {
  boost::system::error_code ec;
  socket_.native_non_blocking(true, ec);
  if (ec) return;
  EnableReceiveHints(socket_);
  const BIO_METHOD* method = SocketMethod();
  if (method == nullptr) return;
  BIO* bio = BIO_new(method);
  if (bio == nullptr) return;
  sink_.fd = socket_.native_handle();
  BIO_set_data(bio, &sink_);
  BIO_set_init(bio, 1);
  ssl_ = SSL_new(context.native_handle());
  if (ssl_ == nullptr) {
    BIO_free(bio);
    return;
  }
  SSL_set_bio(ssl_, bio, bio);  // the SSL owns it now
  // A read takes what the socket holds (up to OpenSSL's buffer) rather than
  // a record's header and then its body, one system call each; bytes read
  // ahead show in HasPending (SSL_has_pending), not in SSL_pending. Set here,
  // not on the context: an upstream's is shared with Beast's streams off
  // the io threads.
  SSL_set_read_ahead(ssl_, 1);
  // SSL_read then reads on past a handshake message (a TLS 1.3 session
  // ticket, a key update) rather than returning WANT_READ while the socket
  // may still hold more: WANT_READ must mean the socket would block, for
  // Drive waits on it without trying (net/reactor_receive.h). OpenSSL 3's
  // default, made explicit.
  SSL_set_mode(ssl_, SSL_MODE_AUTO_RETRY);
  if (role == Role::kClient) {
    SSL_set_connect_state(ssl_);
  } else {
    SSL_set_accept_state(ssl_);
  }
}

TlsSocket::~TlsSocket() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

int TlsSocket::Attempt(Op op, void* data, int size) {
  switch (op) {
    case Op::kHandshake:
      return SSL_do_handshake(ssl_);
    case Op::kRead:
      return SSL_read(ssl_, data, size);
    case Op::kWrite:
      return SSL_write(ssl_, data, size);
    case Op::kShutdown: {
      // 0: our close_notify is out; once more reads the peer's (1).
      const int sent = SSL_shutdown(ssl_);
      return sent == 0 ? SSL_shutdown(ssl_) : sent;
    }
  }
  return -1;
}

std::optional<std::tuple<boost::system::error_code, size_t>> TlsSocket::Try(Op op, void* data,
                                                                            int size) {
  if (ssl_ == nullptr) return std::tuple(asio::error::no_memory, size_t{0});
  // SSL_get_error reads the thread's error queue, which must start empty;
  // it nearly always is, and clearing it costs a pass over every slot.
  if (ERR_peek_error() != 0) ERR_clear_error();
  const int result = Attempt(op, data, size);
  if (result > 0) return std::tuple(boost::system::error_code(), static_cast<size_t>(result));
  const int error = SSL_get_error(ssl_, result);
  if (error == SSL_ERROR_WANT_READ) {
    wait_for_ = Socket::wait_read;
    return std::nullopt;
  }
  if (error == SSL_ERROR_WANT_WRITE) {
    wait_for_ = Socket::wait_write;
    return std::nullopt;
  }
  return std::tuple(ErrorFor(result, error), size_t{0});
}

asio::awaitable<std::tuple<boost::system::error_code, size_t>> TlsSocket::Drive(Op op, void* data,
                                                                                int size) {
  // A read of a socket the last read drained, with nothing in OpenSSL,
  // would fail with EAGAIN: it waits first (unless a reset may wait behind
  // what was read: net/reactor_receive.h).
  bool wait = op == Op::kRead && sink_.drained && !HasPending() && !ReportedTrouble(socket_);
  // What to wait for: `wait_for_` is shared with the other direction's
  // operation (a tunnel's), so it is read right after this one's Try.
  Socket::wait_type want = Socket::wait_read;
  for (;; wait = true) {
    if (wait && want == Socket::wait_read && op != Op::kWrite) {
      // The socket was drained since the last such wait: OpenSSL wants to
      // read only once its read would block (net/reactor_receive.h).
      auto [ec, ignored] = co_await AsyncWaitReadable(reactor_, socket_, kAwaitInPlace);
      if (ec) co_return std::tuple(ec, size_t{0});
      sink_.drained = false;
    } else if (wait) {
      // A write waits for room, and (in a TLS 1.2 renegotiation, which
      // Bulwark's server and upstream contexts refuse) for bytes to read,
      // beside a read's own wait.
      auto [ec] = co_await socket_.async_wait(want, kAwaitInPlace);
      if (ec) co_return std::tuple(ec, size_t{0});
    }
    if (auto done = Try(op, data, size)) co_return *done;
    want = wait_for_;
  }
}

std::optional<std::tuple<boost::system::error_code, size_t>> TlsSocket::WriteNow(
    asio::const_buffer buffer) {
  if (buffer.size() > INT_MAX) return std::nullopt;  // Write takes it in pieces
  return Try(Op::kWrite, const_cast<void*>(buffer.data()), static_cast<int>(buffer.size()));
}

boost::system::error_code TlsSocket::Seal(asio::const_buffer buffer) {
  sink_.hold = &held_;
  const auto done = Try(Op::kWrite, const_cast<void*>(buffer.data()), ClampedSize(buffer.size()));
  sink_.hold = nullptr;
  return done ? std::get<0>(*done) : asio::error::would_block;
}

void TlsSocket::ReleaseHeld() {
  if (held_.capacity() > kMaxRetainedHeld) {
    std::string().swap(held_);
  } else {
    held_.clear();
  }
}

void TlsSocket::Start(Op op, void* data, size_t size, Handler handler) {
  std::optional<std::tuple<ErrorCode, size_t>> done;
  if (size == 0) {
    done.emplace(ErrorCode(), 0);
  } else {
    done = Try(op, data, ClampedSize(size));
  }
  if (done) {
    auto [ec, n] = *done;
    asio::post(socket_.get_executor(),
               [handler = std::move(handler), ec, n]() mutable { std::move(handler)(ec, n); });
    return;
  }
  WaitAndRetry(op, data, ClampedSize(size), std::move(handler));
}

void TlsSocket::WaitAndRetry(Op op, void* data, int size, Handler handler) {
  socket_.async_wait(
      wait_for_, [this, op, data, size, handler = std::move(handler)](const ErrorCode& ec) mutable {
        if (ec) return std::move(handler)(ec, size_t{0});
        if (auto done = Try(op, data, size)) {
          return std::move(handler)(std::get<0>(*done), std::get<1>(*done));
        }
        WaitAndRetry(op, data, size, std::move(handler));
      });
}

asio::awaitable<boost::system::error_code> TlsSocket::Handshake() {
  auto [ec, ignored] = co_await Drive(Op::kHandshake, nullptr, 0);
  co_return ec;
}

// Not coroutines themselves: they hand back Drive's, one frame per operation.
asio::awaitable<std::tuple<boost::system::error_code, size_t>> TlsSocket::ReadSome(
    asio::mutable_buffer buffer) {
  return Drive(Op::kRead, buffer.data(), ClampedSize(buffer.size()));
}

asio::awaitable<std::tuple<boost::system::error_code, size_t>> TlsSocket::Write(
    asio::const_buffer buffer) {
  // Without SSL_MODE_ENABLE_PARTIAL_WRITE, SSL_write succeeds only once all
  // it was given is written (retried after a wait with the same bytes).
  if (buffer.size() <= INT_MAX) {
    return Drive(Op::kWrite, const_cast<void*>(buffer.data()), static_cast<int>(buffer.size()));
  }
  return WriteInPieces(buffer);
}

asio::awaitable<std::tuple<boost::system::error_code, size_t>> TlsSocket::WriteInPieces(
    asio::const_buffer buffer) {
  size_t done = 0;
  while (done < buffer.size()) {
    void* at = const_cast<char*>(static_cast<const char*>(buffer.data()) + done);
    auto [ec, n] = co_await Drive(Op::kWrite, at, ClampedSize(buffer.size() - done));
    if (ec) co_return std::tuple(ec, done);
    done += n;
  }
  co_return std::tuple(boost::system::error_code(), done);
}

asio::awaitable<boost::system::error_code> TlsSocket::Shutdown() {
  auto [ec, ignored] = co_await Drive(Op::kShutdown, nullptr, 0);
  co_return ec;
}

}  // namespace bulwark::net::internal

#include "net/upstream_pool.h"

#include "core/log.h"
#include "net/await.h"
#include "net/chunk_extensions.h"
#include "net/connect.h"
#include "net/immediate_io.h"
#include "net/reactor_receive.h"
#include "net/request_head.h"
#include "net/resolve.h"
#include "net/server_worker.h"
#include "net/streamed_body.h"
#include "net/tls_context.h"
#include "net/tls_socket.h"
#include "net/tunnel.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>

#include <sys/socket.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace bulwark::net {

using namespace std::string_view_literals;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

using internal::kAwait;
constexpr size_t kMaxResponseHeadBytes = 64 * 1024;
// The most fields a response head may have (a 502 beyond): 64 KiB holds
// thousands of empty ones, each of which costs the io thread work. Envoy and
// HAProxy allow 100 and 101 by default.
constexpr size_t kMaxResponseFields = 256;
constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kMaxPooledBuffer = kMaxResponseHeadBytes + kReadChunk;
// Requests to a TLS upstream up to one record's worth are sealed and sent in
// the io thread's batch (net/io_batch.h); larger ones OpenSSL writes itself.
constexpr size_t kMaxSealedRequest = 16 * 1024;
// A chunked request body up to this is gathered and sent with its length.
constexpr size_t kMaxGatheredBody = 64 * 1024;
// How long start-up waits for an upstream's name to resolve.
constexpr std::chrono::seconds kUpstreamLookupTimeout(10);

// The response's one Content-Length, if it is plain decimal digits; nullopt
// if there is none, or more than one, or another form (which Beast judges,
// and mostly refuses), or Transfer-Encoding frames the body instead.
std::optional<uint64_t> ContentLength(const FieldViews& fields) {
  std::optional<uint64_t> length;
  for (const auto& [name, value] : fields) {
    if (EqualsIgnoreCase(name, "transfer-encoding")) return std::nullopt;
    if (!EqualsIgnoreCase(name, "content-length")) continue;
    if (length || value.empty() || value.size() > 18 ||
        !std::all_of(value.begin(), value.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      return std::nullopt;
    }
    uint64_t n = 0;
    std::from_chars(value.data(), value.data() + value.size(), n);  // at most 18 digits
    length = n;
  }
  return length;
}

// Whether a response's body, if Transfer-Encoding frames it, is framed by
// chunks alone. One coded otherwise (gzip, or gzip and then chunks) would
// reach the client de-chunked and still coded, with nothing saying so (the
// field belongs to the hop): refused, as nginx refuses it.
bool ChunkedIfCoded(const FieldViews& fields) {
  bool coded = false;
  for (const auto& [name, value] : fields) {
    if (!EqualsIgnoreCase(name, "transfer-encoding")) continue;
    if (coded || !EqualsIgnoreCase(value, "chunked")) return false;
    coded = true;
  }
  return true;
}

// The length of the response's body when its fields frame it by
// Content-Length or it has none (RFC 9112 section 6.3); nullopt for every
// other framing (chunks, the close), which Beast reads.
std::optional<uint64_t> FixedBodyLength(const MessageHead& head, const FieldViews& fields,
                                        const HttpRequest& request) {
  // No body, whatever the fields say.
  if (request.method == "HEAD" || head.status == 204 || head.status == 304) return 0;
  return ContentLength(fields);
}

// Whether the framing fields of an answer to HEAD are such as the GET's
// answer may have: one length, or chunks alone and no length. No body is
// read, so Beast never sees them; a GET's answer with others is refused,
// and so is this one, rather than telling the client its GET would be
// chunked.
bool HeadFramingValid(const FieldViews& fields) {
  bool length = false;
  bool coded = false;
  for (const auto& [name, value] : fields) {
    length = length || EqualsIgnoreCase(name, "content-length");
    coded = coded || EqualsIgnoreCase(name, "transfer-encoding");
  }
  if (coded) return !length && ChunkedIfCoded(fields);
  return !length || ContentLength(fields).has_value();
}

// The answer to HEAD: no body, but the length a GET's body would have, which
// the server sends as the response's Content-Length; none if the service
// told none (the server then names the chunked coding a GET would get).
class HeadLength final : public StreamedBody {
 public:
  explicit HeadLength(std::optional<uint64_t> length) : length_(length) {}
  std::optional<uint64_t> length() const override { return length_; }
  asio::awaitable<Result<std::string_view>> Next() override { co_return std::string_view(); }

 private:
  std::optional<uint64_t> length_;
};

// The upstream's fields as the lines the client gets: without those of this
// hop, nor Date, which the server writes for its own answer, nor those
// whose names start with `dropped_prefix` (if not empty).
void PassOn(FieldViews& fields, std::string_view dropped_prefix, HttpResponse& response) {
  std::erase_if(fields, [dropped_prefix](const auto& field) {
    return EqualsIgnoreCase(field.first, "date") ||
           (!dropped_prefix.empty() && HasPrefixIgnoringCase(field.first, dropped_prefix));
  });
  AppendPassOnFields(fields, response.passed_on_fields);
}

// Writes all of `buffer` to `stream`.
template <class Stream>
asio::awaitable<beast::error_code> WriteAllTo(Stream& stream, asio::const_buffer buffer) {
  if constexpr (std::is_same_v<Stream, internal::TlsSocket>) {
    // OpenSSL is given the same bytes again after a write that had to wait.
    auto [ec, n] = co_await stream.Write(buffer);
    co_return ec;
  } else {
    auto [ec, n] = co_await asio::async_write(stream, buffer, internal::kAwaitOn<Stream>);
    co_return ec;
  }
}

// The steps of making a connection, as IoError names them: IsConnectFailure
// knows their errors by that.
constexpr std::string_view kConnectStep = "connect";
constexpr std::string_view kHandshakeStep = "TLS handshake";
constexpr std::string_view kNoPeerName = "no name to check the service's certificate against";
// Sending a request, and awaiting its answer before a byte of it came
// (IsLostBeforeAnswer), then reading the rest of an answer begun.
constexpr std::string_view kWriteStep = "write";
constexpr std::string_view kReadStep = "read";
constexpr std::string_view kAnswerStep = "read answer";

// How IoError's message of a failure of `what` other than a timeout begins.
std::string FailurePrefix(std::string_view what) {
  return std::string("upstream ") + std::string(what) + ": ";
}

Status IoError(const beast::error_code& ec, std::string_view what) {
  if (ec == beast::error::timeout) {
    return Status(StatusCode::kDeadlineExceeded,
                  std::string("upstream timed out: ") + std::string(what));
  }
  return UnavailableError(FailurePrefix(what) + ec.message());
}

}  // namespace

struct UpstreamPool::Connection {
  explicit Connection(asio::any_io_executor ex) : stream(std::move(ex)) {}
  beast::tcp_stream stream;  // moved into `tls` or `tls_socket` once TLS is up
  // The TLS context the connection was made with (what `tls` or `tls_socket`
  // was made from), kept for its life.
  std::shared_ptr<asio::ssl::context> tls_context;
  // The socket's, for the reads of a plain connection on an io thread (the
  // bare socket, net/reactor_receive.h); set by Connect, else null.
  internal::Reactor* reactor = nullptr;
  // TLS off a server's io thread, with Beast's timer on every operation.
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  // TLS on an io thread: OpenSSL on the socket (net/tls_socket.h), the
  // deadlines kept by the worker's sweep.
  std::optional<internal::TlsSocket> tls_socket;
  beast::tcp_stream& Lowest() { return tls ? beast::get_lowest_layer(*tls) : stream; }
  tcp::socket& Socket() { return tls_socket ? tls_socket->next_layer() : Lowest().socket(); }
  // Bytes the service sent that no read has taken.
  bool HasUnread() {
    if (tls_socket && tls_socket->HasPending()) return true;
    beast::error_code ec;
    return Socket().available(ec) != 0;
  }
  // Neither unread bytes nor the service's close (or reset) are waiting:
  // a peek at the socket finds nothing to read (and nothing is in OpenSSL).
  bool StillOpen() {
    if (tls_socket && tls_socket->HasPending()) return false;
    char byte;
    const ssize_t n = ::recv(Socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
  beast::flat_buffer buffer;
  std::string write_buffer;
  internal::CoarseSteadyClock::time_point idle_since;
  // Bytes the service sent after the last response may wait unread (it had
  // no body, or its body's end was read to its exact length...): looked for
  // before the connection is reused, however soon (see TakeIdle).
  bool check_before_reuse = false;
  // On a server's io thread, the response deadline is kept by the worker's
  // sweep (see internal::SweepDeadlines); elsewhere by Beast's timer.
  internal::ConnectionSlot slot;
  std::optional<internal::ConnectionRegistration> registration;

  void ExpireAfter(std::chrono::milliseconds timeout) {
    if (registration) {
      slot.ExpireAfter(timeout);
    } else {
      Lowest().expires_after(timeout);
    }
  }
  void ExpireNever() {
    slot.ExpireNever();
    Lowest().expires_never();
  }
  // The status for an I/O error `ec` of this connection.
  Status Error(const beast::error_code& ec, std::string_view what) const {
    if (registration && slot.timed_out) return IoError(beast::error::timeout, what);
    return IoError(ec, what);
  }
};

std::vector<Result<std::vector<tcp::endpoint>>> ResolveUpstreams(
    std::span<const NameToResolve> addresses) {
  auto resolved = ResolveAllWithin(addresses, kUpstreamLookupTimeout);
  for (size_t i = 0; i < resolved.size(); ++i) {
    if (!resolved[i]) {
      resolved[i] =
          Err(InvalidArgumentError("upstream '" + addresses[i].host +
                                   "' does not resolve: " + resolved[i].error().message()));
    }
  }
  return resolved;
}

std::vector<std::vector<tcp::endpoint>> EndpointsOfName(
    const std::vector<tcp::endpoint>& resolved) {
  std::vector<tcp::endpoint> first_family;
  std::vector<tcp::endpoint> other_family;
  for (const tcp::endpoint& e : resolved) {
    auto& family = e.protocol() == resolved.front().protocol() ? first_family : other_family;
    if (std::find(family.begin(), family.end(), e) == family.end()) family.push_back(e);
  }
  if (first_family.size() <= 1) return {resolved};
  std::vector<std::vector<tcp::endpoint>> endpoints;
  for (const tcp::endpoint& e : first_family) {
    std::vector<tcp::endpoint>& addresses = endpoints.emplace_back(1, e);
    addresses.insert(addresses.end(), other_family.begin(), other_family.end());
  }
  return endpoints;
}

namespace {

// How long the answer to `request` may take: its own timeout if it has
// one (its route's, a retry's per try), else the pool's.
std::chrono::milliseconds AnswerTimeout(const UpstreamOptions& options,
                                        const HttpRequest& request) {
  const std::chrono::milliseconds own = request.response_timeout;
  return own.count() > 0 ? own : options.response_timeout;
}

// Whether `error` is IoError's failure, other than a timeout, of one of `steps`.
bool FailedAt(const Status& error, std::initializer_list<std::string_view> steps) {
  return error.code() == StatusCode::kUnavailable &&
         std::any_of(steps.begin(), steps.end(), [&](std::string_view step) {
           return error.message().starts_with(FailurePrefix(step));
         });
}

}  // namespace

bool IsLostBeforeAnswer(const Status& error) {
  return FailedAt(error, {kConnectStep, kHandshakeStep, kWriteStep, kReadStep});
}

bool IsTimeoutBeforeAnswer(const Status& error) {
  return error == IoError(beast::error::timeout, kWriteStep) ||
         error == IoError(beast::error::timeout, kReadStep);
}

bool IsConnectFailure(const Status& error) {
  return FailedAt(error, {kConnectStep, kHandshakeStep}) ||
         error == IoError(beast::error::timeout, kConnectStep) ||
         error == IoError(beast::error::timeout, kHandshakeStep);
}

bool IsConnectionRefused(const Status& error) {
  return error == IoError(asio::error::connection_refused, kConnectStep) ||
         error == IoError(asio::error::host_unreachable, kConnectStep) ||
         error == IoError(asio::error::network_unreachable, kConnectStep);
}

bool IsLocalShortage(const Status& error) {
  // The pool's failures and net::FetchUrl's (a health check's) both end
  // with the system's message.
  if (error.code() != StatusCode::kUnavailable) return false;
  for (int errno_value : {EMFILE, ENFILE, ENOBUFS, ENOMEM}) {
    if (error.message().ends_with(
            beast::error_code(errno_value, boost::system::system_category()).message())) {
      return true;
    }
  }
  return false;
}

UpstreamPool::UpstreamPool(asio::any_io_executor executor, UpstreamOptions options,
                           std::vector<tcp::endpoint> endpoints,
                           std::shared_ptr<UpstreamTlsContext> tls_context)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      endpoints_(std::move(endpoints)),
      tls_context_(std::move(tls_context)) {
  // Made on a server's io thread for its own io_context: its sweep looks
  // after the idle connections.
  internal::Worker* worker = internal::CurrentWorker();
  asio::execution_context& context = asio::query(executor_, asio::execution::context);
  if (worker != nullptr && &context == &static_cast<asio::execution_context&>(worker->ioc)) {
    worker_ = worker;
    worker_->upstream_pools.insert(this);
  }
}

UpstreamPool::~UpstreamPool() {
  if (worker_ != nullptr) worker_->upstream_pools.erase(this);
}

size_t UpstreamPool::idle_connections() const { return idle_.size(); }

void UpstreamPool::CloseIdle() {
  const auto now = internal::CoarseSteadyClock::now();
  std::erase_if(idle_, [&](const std::unique_ptr<Connection>& c) {
    return now - c->idle_since > options_.idle_timeout || !c->StillOpen();
  });
}

asio::awaitable<Result<std::unique_ptr<UpstreamPool::Connection>>> UpstreamPool::Connect() {
  auto connection = std::make_unique<Connection>(executor_);
  const auto connect_deadline = std::chrono::steady_clock::now() + options_.connect_timeout;
  beast::error_code ec =
      co_await internal::ConnectInTurn(connection->stream, endpoints_, connect_deadline);
  if (ec) co_return Err(IoError(ec, kConnectStep));
  connection->stream.socket().set_option(tcp::no_delay(true), ec);
  internal::Worker* worker = internal::CurrentWorker();
  const std::string& peer_name = options_.tls && !options_.tls->server_name.empty()
                                     ? options_.tls->server_name
                                     : options_.host;
  if (options_.tls && tls_context_) connection->tls_context = tls_context_->Current();
  if (connection->tls_context && worker != nullptr) {
    // The handshake's deadline is what the connect left of connect_timeout,
    // kept by the sweep like every other on this thread.
    connection->stream.expires_never();
    Connection& c = *connection;
    c.tls_socket.emplace(c.stream.release_socket(), *c.tls_context,
                         internal::TlsSocket::Role::kClient);
    if (!internal::ExpectPeerName(c.tls_socket->native_handle(), peer_name)) {
      co_return Err(UnavailableError(std::string(kNoPeerName)));
    }
    c.slot.stream = &c.tls_socket->next_layer();
    c.registration.emplace(*worker, c.slot, worker->upstream_streams);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        connect_deadline - std::chrono::steady_clock::now());
    c.ExpireAfter(std::max(left, std::chrono::milliseconds(1)));
    const beast::error_code hs_ec = co_await c.tls_socket->Handshake();
    if (hs_ec) co_return Err(c.Error(hs_ec, kHandshakeStep));
    c.ExpireNever();
    co_return connection;
  }
  if (connection->tls_context) {
    connection->tls.emplace(std::move(connection->stream), *connection->tls_context);
    if (!internal::ExpectPeerName(connection->tls->native_handle(), peer_name)) {
      co_return Err(UnavailableError(std::string(kNoPeerName)));
    }
    auto [hs_ec] =
        co_await connection->tls->async_handshake(asio::ssl::stream_base::client, kAwait);
    if (hs_ec) co_return Err(IoError(hs_ec, kHandshakeStep));
  }
  connection->Lowest().expires_never();
  if (worker != nullptr) {
    // Exchange writes the bare socket at once (immediate_io.h) and reads it
    // through the reactor (reactor_receive.h); TlsSocket, above, does both
    // for its own.
    if (!connection->tls) {
      tcp::socket& socket = connection->Lowest().socket();
      socket.native_non_blocking(true, ec);
      if (ec) co_return Err(IoError(ec, kConnectStep));
      internal::EnableReceiveHints(socket);
      connection->reactor = &internal::ReactorOf(socket);
    }
    connection->slot.stream = &connection->Lowest().socket();
    connection->registration.emplace(*worker, connection->slot, worker->upstream_streams);
  }
  co_return connection;
}

asio::awaitable<Result<HttpResponse>> UpstreamPool::ExchangeOn(
    std::unique_ptr<Connection> connection, const HttpRequest& request, bool retry,
    const Switch* upgrade) {
  // Not a coroutine: the exchange is the only frame. (Not one conditional
  // expression either: so built by GCC 12, the proxy crashed.)
  Connection& c = *connection;
  if (c.tls_socket) return Exchange(*c.tls_socket, std::move(connection), request, retry, upgrade);
  if (c.tls) return Exchange(*c.tls, std::move(connection), request, retry, upgrade);
  // On a server's io thread the sweep keeps the deadline: the bare socket
  // spares every read and write Beast's timed-stream wrapper.
  if (c.registration) {
    return Exchange(c.stream.socket(), std::move(connection), request, retry, upgrade);
  }
  return Exchange(c.stream, std::move(connection), request, retry, upgrade);
}

asio::awaitable<Result<HttpResponse>> UpstreamPool::Failed(std::unique_ptr<Connection> connection,
                                                           Status error, bool retry,
                                                           const HttpRequest& request) {
  connection.reset();
  // A timeout is the service being slow, not a connection it had closed:
  // the request may be running there, and is not sent again.
  if (retry && error.code() != StatusCode::kDeadlineExceeded) {
    co_return co_await SendOnNewConnection(request);
  }
  co_return Err(std::move(error));
}

void UpstreamPool::Pool(std::unique_ptr<Connection> connection) {
  if (idle_.size() >= options_.max_idle_connections) return;
  connection->idle_since = internal::CoarseSteadyClock::now();
  connection->ExpireNever();
  // From here, any readiness the reactor reports for the socket is bytes
  // (or a close) the service sent after its answer (see TakeIdle). Off a
  // server's io thread (whose io_context one thread runs) the reports are
  // not read, and where the last cannot be forgotten (it is still to be
  // acted on) it would be lost: then the connection is looked at before
  // reuse.
  if (!connection->registration || !internal::ForgetReports(connection->Socket())) {
    connection->check_before_reuse = true;
  }
  // A chunked or close-delimited body grew the buffer, or the chunks of a
  // streamed request the write buffer: give them back.
  if (connection->buffer.capacity() > kMaxPooledBuffer) connection->buffer.shrink_to_fit();
  if (connection->write_buffer.capacity() > kMaxPooledBuffer) {
    std::string().swap(connection->write_buffer);
  }
  idle_.push_back(std::move(connection));
}

namespace {

// Whether `data`, the start of a head not yet whole, may still be an interim
// answer's: its status line so far is a 1xx one (`HTTP/1.1 1`, or 1.0), or
// too short to tell. A service may write a `100 Continue` in pieces.
bool MayBeInterim(std::string_view data) {
  constexpr std::string_view kInterim = "HTTP/1.1 1";
  const size_t n = std::min(data.size(), kInterim.size());
  for (size_t i = 0; i < n; ++i) {
    const bool minor_version = i == 7;
    if (minor_version ? data[i] != '0' && data[i] != '1' : data[i] != kInterim[i]) return false;
  }
  return true;
}

}  // namespace

bool UpstreamPool::SkipInterim(Connection& c) {
  // What has come is read (not waited for) into the connection's buffer,
  // where the answer is read from in any case.
  const std::optional<internal::IoOutcome> read =
      internal::ReceiveNow(c.Socket(), c.buffer.prepare(kReadChunk));
  if (read && !std::get<0>(*read)) c.buffer.commit(std::get<1>(*read));
  for (;;) {
    const std::string_view data(static_cast<const char*>(c.buffer.data().data()), c.buffer.size());
    const size_t head_size = ResponseHeadSize(data);
    if (head_size == 0) {  // the rest is still to come, within the head's bound
      return data.empty() || (data.size() < kMaxResponseHeadBytes && MayBeInterim(data));
    }
    if (head_size > kMaxResponseHeadBytes) return false;
    FieldViews fields;
    const std::optional<MessageHead> head = ParseResponseHead(data.substr(0, head_size), fields);
    if (!head || head->status >= 200 || head->status == 101) return false;
    c.buffer.consume(head_size);  // 100, 102, 103: the final answer is still to come
  }
}

template <class Stream>
asio::awaitable<Result<bool>> UpstreamPool::SendStreamedBody(Stream& stream, Connection& c,
                                                             StreamedBody& body, bool chunked) {
  constexpr bool kPlain =
      std::is_same_v<Stream, tcp::socket> || std::is_same_v<Stream, beast::tcp_stream>;
  const std::optional<uint64_t> length = body.length();
  uint64_t sent = 0;
  std::string& frame = c.write_buffer;
  for (;;) {
    // A service may answer before it has the whole body (an early 413 or
    // 401 of its own): then the rest is not sent, and the answer is read.
    // (Not looked for over TLS, where bytes waiting may be records of the
    // handshake's, such as TLS 1.3 session tickets, and no answer; nor once
    // the whole of a body of known length is sent, when the answer is due.)
    if (kPlain && !(length && sent == *length) && c.HasUnread() && !SkipInterim(c)) {
      co_return false;
    }
    Result<std::string_view> piece = co_await body.Next();
    if (!piece) co_return Err(std::move(piece.error()));
    if (length && piece->size() > *length - sent) {
      co_return Err(InvalidArgumentError("request body longer than its length"));
    }
    sent += piece->size();
    c.ExpireAfter(options_.response_timeout);
    beast::error_code ec;
    if (chunked) {
      frame.clear();
      if (!piece->empty()) {
        char size[16];
        const auto end = std::to_chars(size, size + sizeof size, piece->size(), 16).ptr;
        frame.append(size, end).append("\r\n"sv).append(*piece).append("\r\n"sv);
      } else {
        frame.append("0\r\n\r\n"sv);
      }
      ec = co_await WriteAllTo(stream, asio::buffer(frame));
    } else if (!piece->empty()) {
      ec = co_await WriteAllTo(stream, asio::buffer(piece->data(), piece->size()));
    }
    if (ec) {
      // A service that answered and closed: its answer may still be there.
      if (c.HasUnread()) co_return false;
      co_return Err(c.Error(ec, kWriteStep));
    }
    if (piece->empty()) {
      if (length && sent != *length) {
        co_return Err(InvalidArgumentError("request body shorter than its length"));
      }
      co_return true;
    }
  }
}

template <class Stream>
asio::awaitable<Result<HttpResponse>> UpstreamPool::Exchange(Stream& stream,
                                                             std::unique_ptr<Connection> connection,
                                                             const HttpRequest& request, bool retry,
                                                             const Switch* upgrade) {
  Connection& c = *connection;
  // One flat buffer and one write (see HttpConnection::Write).
  std::string& out = c.write_buffer;
  out.clear();
  out.append(request.method).append(" "sv).append(request.target).append(" HTTP/1.1\r\n"sv);
  for (const auto& [name, value] : request.headers) {
    out.append(name).append(": "sv).append(value).append("\r\n"sv);
  }
  out.append(request.passed_on_fields);
  if (upgrade != nullptr) {
    out.append("Connection: Upgrade\r\nUpgrade: "sv).append(upgrade->protocol).append("\r\n"sv);
  }
  StreamedBody* const streamed = request.streamed_body.get();
  bool request_cut = false;
  const bool chunked = streamed != nullptr && !streamed->length();
  if (chunked) {
    out.append("Transfer-Encoding: chunked\r\n"sv);
  } else if (streamed != nullptr) {
    out.append("Content-Length: "sv).append(std::to_string(*streamed->length())).append("\r\n"sv);
  } else if (!request.body.empty() || (request.method != "GET" && request.method != "HEAD")) {
    out.append("Content-Length: "sv).append(std::to_string(request.body.size())).append("\r\n"sv);
  }
  out.append("\r\n"sv).append(request.body);

  c.ExpireAfter(AnswerTimeout(options_, request));
  // On the bare socket, writes are tried at once (immediate_io.h) and reads
  // go through the reactor (reactor_receive.h).
  constexpr bool kImmediate = std::is_same_v<Stream, tcp::socket>;
  constexpr bool kTlsSocket = std::is_same_v<Stream, internal::TlsSocket>;
  // With this pass's other sends if the io thread batches them
  // (net/io_batch.h).
  internal::IoOutcome sent;
  if constexpr (kImmediate) {
    if (internal::IoBatch* batch = internal::CurrentBatch()) {
      sent = co_await batch->Send(stream.native_handle(), asio::buffer(out),
                                  internal::IoBatch::Turn::kRequest);
    } else {
      sent = internal::SendNow(stream, asio::buffer(out));
    }
  } else if constexpr (kTlsSocket) {
    internal::IoBatch* batch = internal::CurrentBatch();
    if (batch != nullptr && out.size() <= kMaxSealedRequest) {
      // The records OpenSSL seals of the request, with the pass's other
      // sends; what the socket does not take goes through Asio.
      beast::error_code ec = stream.Seal(asio::buffer(out));
      const asio::const_buffer wire = stream.Held();
      size_t n = 0;
      if (!ec) {
        std::tie(ec, n) = co_await batch->Send(stream.next_layer().native_handle(), wire,
                                               internal::IoBatch::Turn::kRequest);
      }
      if (!ec && n < wire.size()) {
        std::tie(ec, std::ignore) =
            co_await asio::async_write(stream.next_layer(), wire + n, internal::kAwaitInPlace);
      }
      stream.ReleaseHeld();
      sent = internal::IoOutcome(ec, ec ? 0 : out.size());
    } else if (auto now = stream.WriteNow(asio::buffer(out))) {
      sent = *now;
    } else {
      // OpenSSL must be given the same bytes again after a write that had
      // to wait (not Asio's write in pieces).
      sent = co_await stream.Write(asio::buffer(out));
    }
  }
  if (!std::get<0>(sent) && std::get<1>(sent) < out.size()) {
    sent = co_await asio::async_write(stream, asio::buffer(out) + std::get<1>(sent),
                                      internal::kAwaitOn<Stream>);
  }
  if (const beast::error_code write_ec = std::get<0>(sent)) {
    // A service that answered before it had the whole request (an early
    // 413 for a large body) and closed: its answer is the client's, not a
    // failure to send. (On a reused connection, bytes waiting may be what
    // the service sent as it closed it while idle: that goes to a new one.)
    if (retry || !c.HasUnread()) {
      co_return co_await Failed(std::move(connection), c.Error(write_ec, kWriteStep), retry,
                                request);
    }
    request_cut = true;
  } else if (streamed != nullptr) {
    // The body as the client sends it, once the service has the head. Not
    // retried from here on: what of it was read is gone. Either side's
    // failure leaves the service a cut message: the connection is closed.
    retry = false;
    Result<bool> whole = co_await SendStreamedBody(stream, c, *streamed, chunked);
    if (!whole) co_return Err(std::move(whole.error()));
    // Answered before the body was all sent: the connection carries a cut
    // request, and serves no other.
    request_cut = !*whole;
    c.ExpireAfter(AnswerTimeout(options_, request));
  }

  // The head is read and parsed here, and a body with a Content-Length (or
  // none) too; chunked and close-delimited bodies go to Beast. Interim 1xx
  // responses (100 Continue, 103 Early Hints) are read and dropped: the
  // final response follows them on the same connection.
  HttpResponse response;
  std::optional<MessageHead> parsed;
  size_t head_size = 0;
  // Views into c.buffer, used before anything is consumed from it.
  FieldViews fields;
  // Until a byte of a response has come, a failure on a reused connection
  // (one the upstream had closed) is retried; after, the service has taken
  // the request (an interim response, a head too large) and it is not.
  bool response_began = false;
  // The last read filled the room it was given: the socket may hold more.
  bool read_filled_room = false;
  for (;;) {
    const std::string_view data(static_cast<const char*>(c.buffer.data().data()), c.buffer.size());
    head_size = ResponseHeadSize(data);
    if (head_size == kBareLineFeed) co_return Err(DataLossError("malformed upstream response"));
    if (head_size == 0) {
      if (c.buffer.size() >= kMaxResponseHeadBytes) {
        co_return Err(ResourceExhaustedError("upstream response too large"));
      }
      const asio::mutable_buffer room = c.buffer.prepare(kReadChunk);
      // The service answers in its own time: a read the last one left the
      // socket empty for waits for it first (reactor_receive.h).
      internal::IoOutcome read;
      if constexpr (kImmediate) {
        read = co_await internal::AsyncReceive(*c.reactor, stream, room, internal::kAwaitInPlace);
      } else if constexpr (kTlsSocket) {
        read = co_await stream.ReadSome(room);
      } else {
        read = co_await stream.async_read_some(room, internal::kAwaitOn<Stream>);
      }
      const auto [read_ec, n] = read;
      if (read_ec) {
        co_return co_await Failed(std::move(connection),
                                  c.Error(read_ec, response_began ? kAnswerStep : kReadStep),
                                  retry && !response_began, request);
      }
      response_began = true;
      read_filled_room = n == room.size();
      c.buffer.commit(n);
      continue;
    }
    if (head_size > kMaxResponseHeadBytes) {
      co_return Err(ResourceExhaustedError("upstream response too large"));
    }
    parsed = ParseResponseHead(data.substr(0, head_size), fields);
    if (!parsed) co_return Err(DataLossError("malformed upstream response"));
    if (fields.size() > kMaxResponseFields) {
      co_return Err(ResourceExhaustedError("upstream response has too many fields"));
    }
    if (parsed->status >= 200) break;
    if (parsed->status == 101) {
      // Switching protocols: only as asked, and then the connection is a tunnel.
      if (upgrade == nullptr) co_return Err(DataLossError("unexpected 101 from upstream"));
      std::optional<std::string_view> switched;
      int accepts = 0;
      bool accepted = false;
      bool connection_upgrade = false;
      for (const auto& [name, value] : fields) {
        if (EqualsIgnoreCase(name, "upgrade")) {
          switched = value;
        } else if (EqualsIgnoreCase(name, "sec-websocket-accept")) {
          ++accepts;
          accepted = value == upgrade->accept;
        } else if (EqualsIgnoreCase(name, "connection")) {
          connection_upgrade = connection_upgrade || ListHasToken(value, "upgrade");
        }
      }
      if (!switched || !EqualsIgnoreCase(*switched, upgrade->protocol)) {
        co_return Err(DataLossError("upstream switched to another protocol"));
      }
      // An upgrade is HTTP/1.1's, and names itself in Connection (RFC 9110
      // section 7.8; RFC 6455 section 4.1 has a client fail a handshake
      // without it).
      if (parsed->version != 11 || !connection_upgrade) {
        co_return Err(DataLossError("upstream's 101 is not an HTTP/1.1 upgrade"));
      }
      // A service that switched without answering the client's key did not
      // take part in the handshake (RFC 6455 section 4.1): no tunnel to it.
      if (!upgrade->accept.empty() && (accepts != 1 || !accepted)) {
        co_return Err(DataLossError("upstream's 101 did not answer the WebSocket key"));
      }
      response.status = 101;
      PassOn(fields, options_.dropped_field_prefix,
             response);  // which drops Upgrade, a field of this hop
      AppendFieldLine(response.passed_on_fields, "Upgrade", *switched);
      c.buffer.consume(head_size);  // what follows is the new protocol's
      response.tunnel = std::make_shared<UpstreamTunnel<Stream>>(std::move(connection), stream,
                                                                 options_.tunnel_idle_timeout);
      co_return response;
    }
    c.buffer.consume(head_size);
  }
  response.status = parsed->status;
  const std::optional<uint64_t> length = FixedBodyLength(*parsed, fields, request);
  if (!length && !ChunkedIfCoded(fields)) {
    co_return Err(
        DataLossError("malformed upstream response: a transfer coding other than chunked"));
  }
  if (request.method == "HEAD" && parsed->status != 204 && parsed->status != 304) {
    if (!HeadFramingValid(fields)) {
      co_return Err(DataLossError("malformed upstream response: its length or coding"));
    }
    // The service's Content-Length, or none (its GET answer is chunked or
    // ends with the connection, which the client would get chunked): never
    // a length of 0 the GET would not have (RFC 9110 section 8.6).
    response.streamed_body = std::make_shared<HeadLength>(ContentLength(fields));
  }
  response.passed_on_fields.reserve(head_size);
  PassOn(fields, options_.dropped_field_prefix,
         response);  // before anything is consumed from c.buffer
  if (!length || *length > options_.max_held_body_bytes) {
    // Large, chunked or close-delimited: the client gets the body as it
    // comes, unless it is all here already.
    auto body = std::make_shared<StreamedResponse<Stream>>(
        *this, std::move(connection), stream,
        parsed->keep_alive && upgrade == nullptr && !request_cut, length);
    Result<std::optional<std::string>> whole = body->Begin(head_size);
    if (!whole) co_return Err(std::move(whole.error()));
    if (*whole) {
      response.body = std::move(**whole);
    } else {
      response.streamed_body = std::move(body);
    }
    co_return response;
  }
  // What of the body has arrived with the head, then the rest read straight
  // into the response: the pooled buffer never grows to a body's size.
  const size_t buffered = std::min<uint64_t>(c.buffer.size() - head_size, *length);
  response.body.resize(*length);
  std::memcpy(response.body.data(), static_cast<const char*>(c.buffer.data().data()) + head_size,
              buffered);
  c.buffer.consume(head_size + buffered);
  if (buffered < *length) {
    auto [read_ec, n] = co_await asio::async_read(
        stream, asio::buffer(response.body.data() + buffered, *length - buffered),
        internal::kAwaitOn<Stream>);
    if (read_ec) co_return Err(c.Error(read_ec, kAnswerStep));
  }
  // Bytes beyond the response were never asked for: the connection is not
  // trusted with another request. Where such bytes may wait unread (the
  // body's rest was read to its exact length, a read filled all the room it
  // had, OpenSSL may hold another record), and after a response without a
  // body (a service may send one anyway, later), the connection is checked
  // again before it is reused. A plain read that left room took all the
  // socket had.
  c.check_before_reuse = *length == 0 || buffered < *length || read_filled_room || !kImmediate;
  if (parsed->keep_alive && upgrade == nullptr && !request_cut && c.buffer.size() == 0) {
    Pool(std::move(connection));
  }
  co_return response;
}

template <class Stream>
class UpstreamPool::StreamedResponse final : public StreamedBody {
 public:
  // `stream` is `connection`'s; `length` the body's by Content-Length, or
  // nullopt for chunks or the close, which Beast's parser reads.
  StreamedResponse(UpstreamPool& pool, std::unique_ptr<Connection> connection, Stream& stream,
                   bool keep_alive, std::optional<uint64_t> length)
      : pool_(pool.self_),
        timeout_(pool.options_.response_timeout),
        connection_(std::move(connection)),
        stream_(stream),
        keep_alive_(keep_alive),
        length_(length),
        remaining_(length.value_or(0)) {}

  std::optional<uint64_t> length() const override { return length_; }

  // Takes the head of `head_size` bytes from the connection's buffer and
  // what of the body came with it: the whole body if that ended it (and
  // the connection is pooled), else nullopt and that part is the first
  // piece. kDataLoss if Beast refuses the head or the body's framing.
  Result<std::optional<std::string>> Begin(size_t head_size) {
    beast::flat_buffer& buffer = connection_->buffer;
    if (length_) {
      buffer.consume(head_size);
      return std::nullopt;
    }
    parser_.emplace();
    parser_->header_limit(kMaxResponseHeadBytes);
    parser_->body_limit(boost::none);  // it streams: nothing of it is held
    parser_->eager(false);
    parser_->on_chunk_header(internal::chunk_extension_check);
    beast::error_code ec;
    std::string_view head(static_cast<const char*>(buffer.data().data()), head_size);
    // A status line with no SP after the status (ParseResponseHead reads
    // it), which Beast would refuse, is given it with the SP.
    std::string with_space;
    if (head.size() > 12 && head[12] == '\r') {
      with_space.append(head.substr(0, 12)).append(1, ' ').append(head.substr(12));
      head = with_space;
    }
    const size_t used = parser_->put(asio::const_buffer(head.data(), head.size()), ec);
    if (ec || used != head.size() || !parser_->is_header_done()) {
      return Err(DataLossError("malformed upstream response: " + ec.message()));
    }
    buffer.consume(head_size);
    parser_->eager(true);
    // No more body than wire bytes is in hand.
    std::string piece(buffer.size(), '\0');
    auto parsed = Parse(piece);
    if (!parsed) return Err(std::move(parsed.error()));
    piece.resize(*parsed);
    if (parser_->is_done()) {
      Finish();
      return std::optional<std::string>(std::move(piece));
    }
    first_ = std::move(piece);
    return std::nullopt;
  }

  asio::awaitable<Result<std::string_view>> Next() override {
    if (!first_.empty()) {
      piece_.swap(first_);
      first_.clear();
      co_return std::string_view(piece_);
    }
    if (connection_ == nullptr) co_return std::string_view();  // ended
    Connection& c = *connection_;
    if (length_) {
      if (remaining_ == 0) {
        Finish();
        co_return std::string_view();
      }
      if (c.buffer.size() != 0) {  // what came with the head
        const size_t take = std::min<uint64_t>(c.buffer.size(), remaining_);
        piece_.assign(static_cast<const char*>(c.buffer.data().data()), take);
        c.buffer.consume(take);
        remaining_ -= take;
        if (remaining_ == 0) Finish();  // pooled before the client has the piece
        co_return std::string_view(piece_);
      }
      // Never a byte past the body: the next response is not read here.
      piece_.resize(std::min<uint64_t>(kPieceBytes, remaining_));
      c.ExpireAfter(timeout_);
      const auto [ec, n] = co_await ReadSome(asio::buffer(piece_));
      if (ec) co_return Err(c.Error(ec, kAnswerStep));
      remaining_ -= n;
      if (remaining_ == 0) Finish();
      co_return std::string_view(piece_.data(), n);
    }
    for (;;) {
      if (c.buffer.size() != 0) {
        piece_.resize(kPieceBytes);
        auto parsed = Parse(piece_);
        if (!parsed) co_return Err(std::move(parsed.error()));
        if (*parsed != 0) {
          if (parser_->is_done()) Finish();
          co_return std::string_view(piece_.data(), *parsed);
        }
      }
      if (parser_->is_done()) {
        Finish();
        co_return std::string_view();
      }
      // A chunk's size line or trailer that never ends.
      if (c.buffer.size() >= kMaxResponseHeadBytes) {
        co_return Err(DataLossError("malformed upstream response: chunk framing too long"));
      }
      c.ExpireAfter(timeout_);
      const auto [ec, n] = co_await ReadSome(c.buffer.prepare(kReadChunk));
      if (ec == asio::error::eof) {
        beast::error_code eof_ec;
        parser_->put_eof(eof_ec);  // the end of a close-delimited body, else a cut one
        if (eof_ec) co_return Err(c.Error(ec, kAnswerStep));
        continue;
      }
      if (ec) co_return Err(c.Error(ec, kAnswerStep));
      c.buffer.commit(n);
    }
  }

 private:
  static constexpr size_t kPieceBytes = 64 * 1024;

  // Feeds Beast what the connection's buffer holds, the body into `out`
  // (up to its size): how much of `out` it filled.
  Result<size_t> Parse(std::string& out) {
    beast::flat_buffer& buffer = connection_->buffer;
    auto& body = parser_->get().body();
    body.data = out.data();
    body.size = out.size();
    beast::error_code ec;
    while (buffer.size() != 0 && body.size != 0 && !parser_->is_done()) {
      const size_t n = parser_->put(buffer.data(), ec);
      buffer.consume(n);
      if (stuck_framing_(
              n, ec,
              std::string_view(static_cast<const char*>(buffer.data().data()), buffer.size()))) {
        ec = http::error::bad_chunk;
      }
      if (ec == http::error::need_buffer || ec == http::error::need_more) {
        ec = {};
        if (n == 0) break;
      } else if (ec) {
        return Err(DataLossError("malformed upstream response: " + ec.message()));
      }
    }
    return out.size() - body.size;
  }

  asio::awaitable<internal::IoOutcome> ReadSome(asio::mutable_buffer room) {
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      co_return co_await internal::AsyncReceive(*connection_->reactor, stream_, room,
                                                internal::kAwaitInPlace);
    } else if constexpr (std::is_same_v<Stream, internal::TlsSocket>) {
      co_return co_await stream_.ReadSome(room);
    } else {
      co_return co_await stream_.async_read_some(room, internal::kAwaitOn<Stream>);
    }
  }

  // The body ended as framed: the connection serves another request if
  // both ends meant to keep it and nothing beyond the body came.
  void Finish() {
    std::unique_ptr<Connection> connection = std::move(connection_);
    const bool keep =
        keep_alive_ && (!parser_ || parser_->keep_alive()) && connection->buffer.size() == 0;
    const std::shared_ptr<UpstreamPool*> pool = pool_.lock();
    if (keep && pool != nullptr) {
      // Bytes past the body may still be in the kernel or in OpenSSL:
      // looked for before the connection serves again.
      connection->check_before_reuse = true;
      (*pool)->Pool(std::move(connection));
    }
  }

  std::weak_ptr<UpstreamPool*> pool_;
  const std::chrono::milliseconds timeout_;
  std::unique_ptr<Connection> connection_;  // null once the body ended
  Stream& stream_;
  const bool keep_alive_;
  const std::optional<uint64_t> length_;
  uint64_t remaining_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::string first_;  // the part that came with the head
  std::string piece_;
  internal::StuckFramingCheck stuck_framing_;
};

template <class Stream>
class UpstreamPool::UpstreamTunnel final : public Tunnel {
 public:
  // `stream` is `connection`'s.
  UpstreamTunnel(std::unique_ptr<Connection> connection, Stream& stream,
                 std::chrono::milliseconds idle_timeout)
      : connection_(std::move(connection)), service_(*connection_, stream), idle_(idle_timeout) {}

  asio::awaitable<void> Run(TunnelEnd& client, std::string_view early) override {
    Connection& c = *connection_;
    // What each side sent before the switch goes first: the client's after
    // its request, the service's after its 101.
    const std::string from_service(static_cast<const char*>(c.buffer.data().data()),
                                   c.buffer.size());
    c.buffer.clear();
    Touch(client);
    bool open = early.empty() || !co_await service_.WriteAll(asio::buffer(early));
    if (open && !from_service.empty()) {
      open = !co_await client.WriteAll(asio::buffer(from_service));
    }
    if (open) {
      // Both ways at once; when one way ends, so does the other, and Run
      // returns only once both coroutines are done with the ends.
      const auto executor = co_await asio::this_coro::executor;
      asio::steady_timer joined(executor, asio::steady_timer::time_point::max());
      bool other_done = false;
      asio::co_spawn(executor, Relay(service_, client, client), [&](const std::exception_ptr&) {
        other_done = true;
        joined.cancel();
      });
      co_await Relay(client, service_, client);
      while (!other_done) co_await joined.async_wait(internal::kAwaitInPlace);
    }
    // Only now, with neither way awaiting anything, are the descriptors let go.
    client.Close();
    service_.Close();
  }

 private:
  // The service's connection as a tunnel end.
  class ServiceEnd final : public TunnelEnd {
   public:
    ServiceEnd(Connection& connection, Stream& stream) : c_(connection), stream_(stream) {}
    asio::awaitable<std::tuple<beast::error_code, size_t>> ReadSome(
        asio::mutable_buffer buffer) override {
      if constexpr (std::is_same_v<Stream, internal::TlsSocket>) {
        co_return co_await stream_.ReadSome(buffer);
      } else if constexpr (std::is_same_v<Stream, tcp::socket>) {
        co_return co_await internal::AsyncReceive(*c_.reactor, stream_, buffer,
                                                  internal::kAwaitInPlace);
      } else {
        co_return co_await stream_.async_read_some(buffer, internal::kAwaitOn<Stream>);
      }
    }
    asio::awaitable<beast::error_code> WriteAll(asio::const_buffer buffer) override {
      return WriteAllTo(stream_, buffer);
    }
    std::tuple<beast::error_code, size_t> WriteNow(asio::const_buffer buffer) override {
      if constexpr (std::is_same_v<Stream, tcp::socket>) {
        return internal::SendNow(stream_, buffer);
      } else if constexpr (std::is_same_v<Stream, internal::TlsSocket>) {
        // A record goes whole or not at all; if not, WriteAll the same bytes.
        if (auto done = stream_.WriteNow(buffer)) return *done;
      }
      return {beast::error_code(), 0};  // Beast's streams: WriteAll it all
    }
    void ExpireAfter(std::chrono::milliseconds timeout) override { c_.ExpireAfter(timeout); }
    void Shutdown() override { internal::EndTraffic(c_.Socket()); }
    void Close() override {
      beast::error_code ec;
      c_.Socket().close(ec);
    }

   private:
    Connection& c_;
    Stream& stream_;
  };

  // Copies from `from` to `to` until either fails or ends; then ends the
  // traffic of both, which ends the other way's relay too.
  asio::awaitable<void> Relay(TunnelEnd& from, TunnelEnd& to, TunnelEnd& client) {
    co_await Copy(from, to, client);
    from.Shutdown();
    to.Shutdown();
  }
  asio::awaitable<void> Copy(TunnelEnd& from, TunnelEnd& to, TunnelEnd& client) {
    std::string buffer(16 * 1024, '\0');
    for (;;) {
      const auto [read_ec, n] = co_await from.ReadSome(asio::buffer(buffer));
      if (read_ec) co_return;
      // Nearly always the socket takes it all at once: no operation to await.
      const auto [write_ec, written] = to.WriteNow(asio::buffer(buffer.data(), n));
      if (write_ec) co_return;
      if (written < n && co_await to.WriteAll(asio::buffer(buffer.data() + written, n - written))) {
        co_return;
      }
      Touch(client);
    }
  }
  // Bytes moved: both ends stay open another idle timeout.
  void Touch(TunnelEnd& client) {
    client.ExpireAfter(idle_);
    service_.ExpireAfter(idle_);
  }

  std::unique_ptr<Connection> connection_;
  ServiceEnd service_;
  const std::chrono::milliseconds idle_;
};

asio::awaitable<Result<HttpResponse>> UpstreamPool::Upgrade(const HttpRequest& request,
                                                            Switch ask) {
  auto connection = co_await Connect();
  if (!connection) co_return Err(connection.error());
  // A tunnel's two ways renew one deadline while both wait: the worker's
  // sweep keeps it; Beast's per-stream timer cannot.
  if (!(*connection)->registration) {
    co_return Err(UnavailableError("a tunnel needs a server's io thread"));
  }
  co_return co_await ExchangeOn(std::move(*connection), request, /*retry=*/false, &ask);
}

std::unique_ptr<UpstreamPool::Connection> UpstreamPool::TakeIdle(bool checked) {
  const auto now = internal::CoarseSteadyClock::now();
  while (!idle_.empty() && now - idle_.front()->idle_since > options_.idle_timeout) {
    idle_.erase(idle_.begin());
  }
  while (!idle_.empty()) {
    std::unique_ptr<Connection> connection = std::move(idle_.back());
    idle_.pop_back();
    // Bytes the service sent after its answer retire the connection: looked
    // for where they may wait (after a response without a body, a read to
    // the body's exact length...), on any connection that idled past a
    // tick of the coarse clock (1 to 10 ms), and on one for whose socket
    // the reactor has reported readiness since it was pooled: on a server's
    // io thread, whose loop has waited for readiness between the service's
    // answer and the next client's request, bytes the service wrote after
    // its answer and before that request are so seen, however soon, and
    // without a system call to ask. Bytes that come after the next request
    // is sent no proxy can tell from its answer. Where the socket is looked
    // at, a close (or reset) the service sent retires the connection too:
    // one a service's keep-alive timer closed would fail the request sent
    // on it, having reached no one. When asked (a request that must not be
    // repeated, which no retry could save), it is looked at every time.
    if (!checked && !connection->check_before_reuse && connection->idle_since == now &&
        !internal::ReportedSinceForgotten(connection->Socket())) {
      return connection;
    }
    if (connection->StillOpen()) return connection;
  }
  return nullptr;
}

asio::awaitable<Result<HttpResponse>> UpstreamPool::Send(const HttpRequest& request,
                                                         bool may_resend) {
  if (request.streamed_body) return SendStreamed(request, may_resend);
  // Only a request that may go again on a new connection skips the look at
  // a pooled one (TakeIdle): the resend covers a close that look would see.
  if (std::unique_ptr<Connection> connection = TakeIdle(/*checked=*/!may_resend)) {
    return ExchangeOn(std::move(connection), request, may_resend);
  }
  return SendOnNewConnection(request);
}

namespace {

// A chunked body of which `first` was read already.
class BodyAfter final : public StreamedBody {
 public:
  BodyAfter(std::string first, std::shared_ptr<StreamedBody> rest)
      : first_(std::move(first)), rest_(std::move(rest)) {}
  std::optional<uint64_t> length() const override { return std::nullopt; }
  asio::awaitable<Result<std::string_view>> Next() override {
    if (!first_taken_) {
      first_taken_ = true;
      co_return std::string_view(first_);
    }
    co_return co_await rest_->Next();
  }

 private:
  const std::string first_;
  const std::shared_ptr<StreamedBody> rest_;
  bool first_taken_ = false;
};

}  // namespace

asio::awaitable<Result<HttpResponse>> UpstreamPool::SendStreamed(const HttpRequest& request,
                                                                 bool may_resend) {
  const HttpRequest* to_send = &request;
  HttpRequest chunked;
  if (!request.streamed_body->length()) {
    // A chunked body that ends within kMaxGatheredBody goes on whole with
    // its length, as services that do not read chunked requests take it,
    // and may be retried; a longer one goes in chunks.
    std::string gathered;
    for (;;) {
      Result<std::string_view> piece = co_await request.streamed_body->Next();
      if (!piece) co_return Err(std::move(piece.error()));
      if (piece->empty()) break;
      gathered.append(*piece);
      if (gathered.size() > kMaxGatheredBody) break;
    }
    chunked = request;
    if (gathered.size() <= kMaxGatheredBody) {
      chunked.streamed_body = nullptr;
      chunked.body = std::move(gathered);
      co_return co_await Send(chunked, may_resend);
    }
    chunked.streamed_body = std::make_shared<BodyAfter>(std::move(gathered), request.streamed_body);
    to_send = &chunked;
  }
  // Once a byte of the body is sent it cannot be sent again, so the head
  // must not go to a connection the service has closed while it was idle.
  if (std::unique_ptr<Connection> connection = TakeIdle(/*checked=*/true)) {
    co_return co_await ExchangeOn(std::move(connection), *to_send, may_resend);
  }
  co_return co_await SendOnNewConnection(*to_send);
}

asio::awaitable<Result<HttpResponse>> UpstreamPool::SendOnNewConnection(
    const HttpRequest& request) {
  auto connection = co_await Connect();
  if (!connection) co_return Err(connection.error());
  co_return co_await ExchangeOn(std::move(*connection), request, /*retry=*/false);
}

}  // namespace bulwark::net

#include "net/http_connection.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include "core/log.h"
#include "net/await.h"
#include "net/chunk_extensions.h"
#include "net/immediate_io.h"
#include "net/io_batch.h"
#include "net/reactor_receive.h"
#include "net/request_head.h"
#include "net/streamed_body.h"
#include "net/tls_context.h"
#include "net/tls_socket.h"
#include "net/tunnel.h"

namespace bulwark::net::internal {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::string_view_literals;

constexpr size_t kReadChunk = 16 * 1024;
// The most plaintext a TLS record carries (RFC 8446 section 5.1).
constexpr size_t kMaxTlsRecordBytes = 16384;
constexpr size_t kMaxRetainedWriteBuffer = 64 * 1024;
// A TLS response up to this size (one record's worth) is sealed and sent
// with the io thread's other sends; a larger one OpenSSL writes itself.
constexpr size_t kMaxSealedResponse = 16 * 1024;
constexpr size_t kMinBufferBytes = 64 * 1024;
// Wire bytes a chunked body may spend on framing (sizes, extensions, trailers)
// beyond its data, on top of as many bytes as the data itself.
constexpr size_t kChunkOverheadAllowance = 64 * 1024;

// The method and target of a head the scanner refused (its framing, its
// size), from its request line if that has the shape of one: for the
// refusal's audit record only, nothing is decided on them. A line longer
// than `max_line` (a 414) gives the part of its target within the limit.
void ReadRefusedRequestLine(std::string_view head, size_t max_line, HttpRequest& request) {
  const size_t end = head.find('\n');
  const bool whole = end != std::string_view::npos && end <= max_line + 1;
  std::string_view line = whole ? head.substr(0, end) : head.substr(0, max_line);
  if (whole && line.ends_with('\r')) line.remove_suffix(1);
  const size_t first = line.find(' ');
  if (first == std::string_view::npos) return;
  const size_t second = line.find(' ', first + 1);
  if (whole && second == std::string_view::npos) return;
  const std::string_view method = line.substr(0, first);
  const std::string_view target = line.substr(first + 1, second - first - 1);
  if (!IsToken(method) || target.empty()) return;
  request.method = method;
  request.target = target;
}
// After a response that closes the connection, what the client still sends
// is read and dropped, so that unread data does not turn the close into a
// reset that destroys the response in flight: a client busy uploading may not
// look at the answer before its last send. Bounded by time, not bytes (a byte
// cap resets a fast upload the moment it is reached): until the client is
// quiet for a second, ten seconds at most.
constexpr std::chrono::seconds kLingerTimeout(1);
constexpr std::chrono::seconds kLingerTime(10);
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

using RequestParser = http::request_parser<http::string_body>;
// The bare socket: the worker's sweep keeps every deadline (see
// ConnectionSlot), so Beast's timed stream would only add a layer of
// operation wrappers to every read and write.
using PlainStream = tcp::socket;
// OpenSSL on the socket itself (see net/tls_socket.h).
using TlsStream = TlsSocket;

// Writing all of a buffer to either stream: awaits to (error, bytes), and is
// not a coroutine of its own (no frame per operation). Reads are the
// connection's ReadFrom.
auto WriteAllTo(PlainStream& s, asio::const_buffer b) {
  return asio::async_write(s, b, kAwaitInPlace);
}
auto WriteAllTo(TlsStream& s, asio::const_buffer b) { return s.Write(b); }

// The same tried at once, without awaiting (net/immediate_io.h): what of a
// buffer was written before a write would block (then WriteAllTo the rest).
IoOutcome WriteNow(PlainStream& s, asio::const_buffer b) { return SendNow(s, b); }
IoOutcome WriteNow(TlsStream& s, asio::const_buffer b) {
  // A TLS record goes whole or not at all: if not, Write sends the same bytes.
  if (auto done = s.WriteNow(b)) return *done;
  return IoOutcome(beast::error_code(), 0);
}

enum class ReadOutcome { kRequest, kRefused, kClosed };

Refusal RefusalFor(const beast::error_code& ec) {
  if (ec == http::error::body_limit) return Refusal::kContentTooLarge;
  if (ec == http::error::header_limit) return Refusal::kHeaderFieldsTooLarge;
  return Refusal::kBadRequest;
}

// Hands the `head` of a request whose body is chunked to Beast's `parser`
// (which de-chunks the body after it), with its limits: false if Beast
// refuses the head (`refusal` set).
template <class Parser>
bool BeginChunked(Parser& parser, std::string_view head, uint64_t max_body_bytes,
                  Refusal& refusal) {
  parser.header_limit(static_cast<uint32_t>(
      std::min<size_t>(head.size() + 1, std::numeric_limits<uint32_t>::max())));
  parser.body_limit(max_body_bytes);
  parser.eager(false);
  parser.on_chunk_header(internal::chunk_extension_check);
  beast::error_code ec;
  const size_t used = parser.put(asio::const_buffer(head.data(), head.size()), ec);
  if (ec || used != head.size() || !parser.is_header_done()) {
    refusal = RefusalFor(ec);
    return false;
  }
  return true;
}

// One connection, plaintext (PlainStream) or TLS (TlsStream).
template <class Stream>
class HttpConnection {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // `stream_args` follow the socket into Stream's constructor (the SSL
  // context, for TLS).
  template <class... StreamArgs>
  HttpConnection(Worker& worker, tcp::socket socket, const tcp::endpoint& peer,
                 StreamArgs&... stream_args)
      : worker_(worker),
        options_(worker.shared.options),
        limits_{options_.max_request_line, options_.max_header_bytes, options_.max_header_count},
        stream_(std::move(socket), stream_args...),
        reactor_(kTls ? nullptr : &ReactorOf(Lowest())),
        buffer_(std::max(kMinBufferBytes, MaxRequestHeadBytes(limits_) + 1)),
        slot_{&Lowest(), ConnectionPhase::kIdle},
        registration_(worker, slot_) {
    beast::error_code ec;
    remote_address_ = peer.address().to_string();
    Lowest().set_option(tcp::no_delay(true), ec);
    if constexpr (kTls) slot_.tls = stream_.native_handle();
    // Run writes a plain socket at once (net/immediate_io.h), and reads
    // through the reactor (net/reactor_receive.h); TlsSocket does both for
    // its own.
    if constexpr (!kTls) {
      EnableReceiveHints(Lowest());
      Lowest().native_non_blocking(true, ec);
      if (ec) CloseSocket();  // a blocking read would hold the io thread
    }
  }

  // TLS: the generation of the client trust the connection's context
  // verifies client certificates against (TlsContextSource).
  void set_trust_generation(uint64_t generation) { trust_generation_ = generation; }

  asio::awaitable<void> Run();

 private:
  tcp::socket& Lowest() {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }
  // Some bytes of the stream into `b`: awaits to (error, bytes), and is not
  // a coroutine of its own (no frame per read).
  auto ReadFrom(asio::mutable_buffer b) {
    if constexpr (kTls) {
      return stream_.ReadSome(b);
    } else {
      return AsyncReceive(*reactor_, stream_, b, kAwaitInPlace);
    }
  }
  bool Stopping() const { return worker_.shared.stopping.load(std::memory_order_acquire); }
  bool NothingToRead() {
    if constexpr (kTls) {
      if (SSL_has_pending(stream_.native_handle()) == 1) return false;
    }
    beast::error_code ec;
    return Lowest().available(ec) == 0;
  }
  void CloseSocket() {
    beast::error_code ec;
    Lowest().close(ec);
  }
  // Closes with a reset (RST) rather than in order (FIN): how a message cut
  // short ends, so that no client takes it for whole. An HTTP/1.0 client
  // reading a body that ends with the connection could not tell otherwise,
  // nor could a proxy in front that frames what it relays by its own rules.
  void AbortSocket() {
    beast::error_code ec;
    Lowest().set_option(asio::socket_base::linger(true, 0), ec);
    Lowest().close(ec);
  }
  // The most wire bytes a chunked body may take, framing included.
  size_t MaxChunkedWireBytes() const {
    return 2 * options_.max_body_bytes + kChunkOverheadAllowance;
  }
  // Whether a body so framed goes to the handler unread: one too large to
  // hold, and one whose client waits for 100 Continue, which is owed only
  // once the handler asks for the body (after its decision on the head).
  bool StreamsBody(const BodyFraming& framing) const {
    return options_.max_held_body_bytes < options_.max_body_bytes &&
           (framing.chunked || framing.expect_continue ||
            framing.content_length > options_.max_held_body_bytes);
  }
  std::string_view Buffered() const {
    return {static_cast<const char*>(buffer_.data().data()), buffer_.size()};
  }

  // Each request costs only Run's coroutine frame and the handler's: what is
  // awaited on the way of a request whose head arrives whole and that has no
  // body is awaited in Run itself, around the synchronous parts below.

  // Where the next read goes: empty if the buffer is full.
  asio::mutable_buffer ReadRoom(size_t most = kReadChunk) {
    return buffer_.prepare(std::min(buffer_.max_size() - buffer_.size(), most));
  }
  // Takes the outcome of a read into ReadRoom(): false if the connection is
  // done (an error or the end of the stream).
  bool Received(const beast::error_code& ec, size_t n);
  // The request head of `head_size` bytes at the start of the buffer, which
  // the scanner has checked: parsed into `request` and `ctx`. kRefused
  // (with `refusal`), or kRequest; then `body` is set if a body follows,
  // and otherwise the head is consumed.
  ReadOutcome TakeHead(size_t head_size, HttpRequest& request, ResponseContext& ctx,
                       Refusal& refusal, std::optional<BodyFraming>& body);
  // Takes the outcome of writing write_buffer_: false if the write failed.
  bool Written(const beast::error_code& ec);
  // Writes `body` after its head, each piece once the last is written:
  // false if it failed or did not end as framed (then the message is cut).
  asio::awaitable<bool> WriteStreamedBody(StreamedBody& body, bool chunked);
  // Hands the connection to `tunnel` after its 101, then closes it.
  asio::awaitable<void> RunTunnel(Tunnel& tunnel);

  // The connection as a tunnel's client end.
  class ClientEnd final : public TunnelEnd {
   public:
    explicit ClientEnd(HttpConnection& c) : c_(c) {}
    asio::awaitable<std::tuple<beast::error_code, size_t>> ReadSome(
        asio::mutable_buffer buffer) override {
      co_return co_await c_.ReadFrom(buffer);
    }
    asio::awaitable<beast::error_code> WriteAll(asio::const_buffer buffer) override {
      auto [ec, n] = co_await WriteAllTo(c_.stream_, buffer);
      co_return ec;
    }
    std::tuple<beast::error_code, size_t> WriteNow(asio::const_buffer buffer) override {
      return internal::WriteNow(c_.stream_, buffer);
    }
    void ExpireAfter(std::chrono::milliseconds timeout) override { c_.slot_.ExpireAfter(timeout); }
    void Shutdown() override { internal::EndTraffic(c_.Lowest()); }
    void Close() override { c_.CloseSocket(); }

   private:
    HttpConnection& c_;
  };

  // A request body the handler reads as it comes (HttpRequest::streamed_body),
  // from the connection's buffer and socket.
  class RequestBody final : public StreamedBody {
   public:
    RequestBody(HttpConnection& c, BodyFraming framing)
        : c_(&c), framing_(framing), remaining_(framing.content_length) {}
    // For a chunked body: hands the parser the head of `head_size` bytes at
    // the start of the connection's buffer (which stays there). False if it
    // refuses it (`refusal` set).
    bool Begin(size_t head_size, Refusal& refusal);
    std::optional<uint64_t> length() const override {
      if (framing_.chunked) return std::nullopt;
      return framing_.content_length;
    }
    asio::awaitable<Result<std::string_view>> Next() override;
    // The request is answered: the last piece is let go of, and Next fails
    // from now on. True if the body was read to its end, so that the
    // connection may serve another request.
    bool Detach();

   private:
    static constexpr size_t kPieceBytes = 64 * 1024;
    Status Fail(Status error) {
      failed_ = true;
      c_->slot_.ExpireNever();
      return error;
    }
    Result<std::string_view> Dechunk();
    // How long the next read may wait (see HttpServerOptions).
    std::chrono::milliseconds ReadAllowance() const;

    HttpConnection* c_;  // null once the request is answered
    const BodyFraming framing_;
    uint64_t remaining_;     // of a Content-Length body
    size_t handed_ = 0;      // bytes of the buffer the last piece is
    size_t wire_bytes_ = 0;  // of a chunked body, framing included
    internal::StuckFramingCheck stuck_framing_;
    bool continued_ = false;  // a 100 Continue, if owed, is sent
    bool failed_ = false;
    // The waiting the client has earned (see ReadAllowance): the grace, and
    // a second per min_body_bytes_per_second wire bytes it sent, less the
    // time spent waiting for them (not the handler's time between reads);
    // never more than body_read_timeout banked.
    std::chrono::duration<double> earned_{};
    void Earn(uint64_t bytes, std::chrono::steady_clock::duration waited);
    std::optional<http::request_parser<http::buffer_body>> parser_;  // chunked only
    std::string piece_;                                              // chunked only
  };

  asio::awaitable<bool> Handshake();
  // ReadRoom(most) and Received(); false if there is no room.
  asio::awaitable<bool> ReadSome(size_t most = kReadChunk);
  // The rest of a request whose head TakeHead found a body after.
  asio::awaitable<ReadOutcome> ReadRequestBody(size_t head_size, BodyFraming framing,
                                               HttpRequest& request, Refusal& refusal);
  asio::awaitable<ReadOutcome> ReadBody(RequestParser& parser, Refusal& refusal);
  asio::awaitable<ReadOutcome> ReadFixedBody(uint64_t length, std::string& body);
  asio::awaitable<void> LingeringClose();

  Worker& worker_;
  const HttpServerOptions& options_;
  const RequestHeadLimits limits_;
  Stream stream_;
  Reactor* reactor_;  // Lowest()'s, for plain reads (net/reactor_receive.h)
  beast::flat_buffer buffer_;
  ConnectionSlot slot_;
  ConnectionRegistration registration_;
  std::string remote_address_;
  std::string write_buffer_;                           // reused across responses
  std::shared_ptr<const TlsConnectionInfo> tls_info_;  // TLS only, set by Handshake
  uint64_t trust_generation_ = 0;                      // TLS only: the context's client trust
};

template <class Stream>
asio::awaitable<void> HttpConnection<Stream>::Run() {
  // A new connection owes its first request head within header_read_timeout,
  // the TLS handshake included.
  slot_.ExpireAfter(options_.header_read_timeout);
  if constexpr (kTls) {
    if (!co_await Handshake()) co_return;
  }
  for (bool first = true;; first = false) {
    HttpRequest request;
    ResponseContext ctx;
    Refusal refusal = Refusal::kBadRequest;
    ReadOutcome outcome = ReadOutcome::kRefused;
    // The head, scanned as it arrives. Between requests a connection with
    // nothing buffered is idle (idle_timeout); from its first byte on, the
    // head is owed within header_read_timeout.
    if (!first && buffer_.size() != 0) slot_.ExpireAfter(options_.header_read_timeout);
    RequestHeadScanner scanner(limits_);
    RequestHeadScanner::State state;
    while ((state = scanner.Scan(Buffered())) == RequestHeadScanner::State::kNeedMore) {
      const bool idle = buffer_.size() == 0;
      if (idle) {
        if (Stopping() && NothingToRead()) break;
        slot_.phase = ConnectionPhase::kIdle;
        if (!first) slot_.ExpireAfter(options_.idle_timeout);
      }
      const asio::mutable_buffer room = ReadRoom();
      if (room.size() == 0) co_return;  // cannot happen: the scanner refuses first
      // A read the last one left the socket empty for waits for it first
      // (net/reactor_receive.h).
      const IoOutcome read = co_await ReadFrom(room);
      if (!Received(std::get<0>(read), std::get<1>(read))) co_return;
      if (idle && !first) slot_.ExpireAfter(options_.header_read_timeout);
    }
    if (state == RequestHeadScanner::State::kNeedMore) {  // stopping, and nothing came
      if (first) co_return;
      break;
    }
    // A body the handler reads as it comes (see HttpServerOptions).
    std::shared_ptr<RequestBody> streamed;
    if (state == RequestHeadScanner::State::kRefused) {
      refusal = scanner.refusal();
    } else {
      std::optional<BodyFraming> body;
      outcome = TakeHead(scanner.head_size(), request, ctx, refusal, body);
      if (body && StreamsBody(*body)) {
        streamed = std::make_shared<RequestBody>(*this, *body);
        if (streamed->Begin(scanner.head_size(), refusal)) {
          buffer_.consume(scanner.head_size());
          request.streamed_body = streamed;
        } else {
          outcome = ReadOutcome::kRefused;
        }
      } else if (body) {
        outcome = co_await ReadRequestBody(scanner.head_size(), *body, request, refusal);
      }
    }
    if (outcome == ReadOutcome::kClosed) co_return;
    HttpResponse response;
    if (outcome == ReadOutcome::kRefused) {
      log::Debug("net.http.refused",
                 {{"status", static_cast<int>(refusal)}, {"remote", remote_address_}});
      if (options_.on_refused) {
        // A head the scanner refused was never parsed: its request line is
        // read for the record.
        if (state == RequestHeadScanner::State::kRefused) {
          ReadRefusedRequestLine(Buffered(), limits_.max_request_line, request);
        }
        options_.on_refused({.status = static_cast<int>(refusal),
                             .method = request.method,
                             .target = request.target,
                             .remote_address = remote_address_});
      }
      response = GenericResponse(static_cast<int>(refusal));
      ctx.keep_alive = false;
    } else {
      slot_.ExpireNever();  // the handler's time is its own (the proxy has its timeouts)
      bool threw = true;
      try {
        response = co_await worker_.shared.handler(request);
        threw = false;
      } catch (const std::exception& e) {
        log::Error("net.http.handler_threw",
                   {{"what", e.what()}, {"method", request.method}, {"remote", remote_address_}});
      } catch (...) {
        log::Error("net.http.handler_threw",
                   {{"what", "non-standard exception"}, {"method", request.method}});
      }
      if (threw) response = GenericResponse(500);
      // A body not read to its end leaves the connection nowhere to read the
      // next request from.
      if (streamed && !streamed->Detach()) ctx.keep_alive = false;
    }
    if (Stopping()) {
      ctx.keep_alive = false;
      // No new tunnel while the server drains: it would hold the drain.
      if (response.tunnel) response = GenericResponse(503);
    }
    ctx.date = worker_.date.Now();
    write_buffer_.clear();
    SerializeResponse(response, ctx, write_buffer_);
    slot_.ExpireAfter(options_.write_timeout);
    const asio::const_buffer out = asio::buffer(write_buffer_);
    IoOutcome written;
    IoBatch* const batch = worker_.batch.get();
    if (batch == nullptr || (kTls && out.size() > kMaxSealedResponse)) {
      written = WriteNow(stream_, out);
    } else {
      // With this pass's other sends (net/io_batch.h): the response, or
      // over TLS the records OpenSSL seals of it. What the socket does not
      // take goes through Asio.
      asio::const_buffer wire = out;
      beast::error_code ec;
      if constexpr (kTls) {
        ec = stream_.Seal(out);
        wire = stream_.Held();
      }
      size_t sent = 0;
      if (!ec) std::tie(ec, sent) = co_await batch->Send(Lowest().native_handle(), wire);
      if (!ec && sent < wire.size()) {
        std::tie(ec, std::ignore) =
            co_await asio::async_write(Lowest(), wire + sent, kAwaitInPlace);
      }
      if constexpr (kTls) stream_.ReleaseHeld();
      written = IoOutcome(ec, ec ? 0 : out.size());
    }
    if (!std::get<0>(written) && std::get<1>(written) < out.size()) {
      written = co_await WriteAllTo(stream_, out + std::get<1>(written));
    }
    if (!Written(std::get<0>(written))) co_return;
    if (ctx.tunnel) {
      co_await RunTunnel(*ctx.tunnel);
      co_return;
    }
    if (ctx.streamed && !co_await WriteStreamedBody(*ctx.streamed, ctx.chunked)) {
      // Cut short: reset without the end of the message, so the client
      // cannot take what it got for the whole body.
      AbortSocket();
      co_return;
    }
    if (!ctx.keep_alive) break;
  }
  co_await LingeringClose();
}

template <class Stream>
asio::awaitable<bool> HttpConnection<Stream>::Handshake() {
  const beast::error_code ec = co_await stream_.Handshake();
  if (ec) {
    // Scanners and clients that do not trust the certificate end here; not
    // worth more than a debug line each.
    if (log::Enabled(log::Level::kDebug)) {
      log::Debug("net.tls.handshake_failed",
                 {{"error", ec.message()}, {"remote", remote_address_}});
    }
    CloseSocket();
    co_return false;
  }
  auto info = std::make_shared<TlsConnectionInfo>();
  DescribeTlsConnection(stream_.native_handle(), *info);
  info->client_trust_generation = trust_generation_;
  tls_info_ = std::move(info);
  co_return true;
}

template <class Stream>
bool HttpConnection<Stream>::Received(const beast::error_code& ec, size_t n) {
  if (ec) {
    if (log::Enabled(log::Level::kDebug)) {
      log::Debug("net.http.read_ended", {{"error", ec.message()}, {"remote", remote_address_}});
    }
    return false;
  }
  buffer_.commit(n);
  slot_.phase = ConnectionPhase::kActive;
  return true;
}

template <class Stream>
asio::awaitable<bool> HttpConnection<Stream>::ReadSome(size_t most) {
  const asio::mutable_buffer room = ReadRoom(most);
  if (room.size() == 0) co_return false;
  auto [ec, n] = co_await ReadFrom(room);
  co_return Received(ec, n);
}

template <class Stream>
ReadOutcome HttpConnection<Stream>::TakeHead(size_t head_size, HttpRequest& request,
                                             ResponseContext& ctx, Refusal& refusal,
                                             std::optional<BodyFraming>& body) {
  const std::string_view head = Buffered().substr(0, head_size);
  const auto parsed = ParseRequestHead(head, request.method, request.target, request.headers);
  if (!parsed) {
    refusal = parsed.error();
    return ReadOutcome::kRefused;
  }
  // CONNECT asks for a tunnel to another host, which Bulwark does not open:
  // passed on, a service that took its bytes for the tunnel's would read the
  // body as requests no rule saw (RFC 9110 section 9.3.6). (TRACE, which
  // would echo what a proxy adds, is the gateway's to refuse: behind
  // forward-auth it is the method decided on, not the call's.)
  if (request.method == "CONNECT") {
    refusal = Refusal::kNotImplemented;
    return ReadOutcome::kRefused;
  }
  // A client certificate stands no longer once a certificate of its chain
  // has expired or the CA bundle or CRL it was verified against has
  // changed: the request is not decided on it, and the client is asked to
  // send it again on a new connection, whose handshake verifies the chain
  // now (and refuses it, if it was revoked).
  if constexpr (kTls) {
    if (tls_info_ && tls_info_->ClientIdentityEnded(static_cast<int64_t>(std::time(nullptr)),
                                                    worker_.shared.tls->TrustGeneration())) {
      refusal = Refusal::kMisdirectedRequest;
      return ReadOutcome::kRefused;
    }
  }
  request.version_minor = parsed->version % 10;
  request.remote_address = remote_address_;
  request.tls = tls_info_;
  ctx.head = request.method == "HEAD";  // a refusal to HEAD has no body either
  const auto framing =
      CheckRequestFields(parsed->version, request.headers, options_.max_body_bytes);
  if (!framing) {
    refusal = framing.error();
    return ReadOutcome::kRefused;
  }
  ctx.request_version = parsed->version;
  ctx.keep_alive = parsed->keep_alive;
  if (framing->chunked || framing->content_length != 0) {
    body = *framing;
  } else {
    buffer_.consume(head_size);
  }
  return ReadOutcome::kRequest;
}

template <class Stream>
asio::awaitable<ReadOutcome> HttpConnection<Stream>::ReadRequestBody(size_t head_size,
                                                                     BodyFraming framing,
                                                                     HttpRequest& request,
                                                                     Refusal& refusal) {
  // Beast de-chunks; a Content-Length body is read here.
  std::optional<RequestParser> parser;
  if (framing.chunked && !BeginChunked(parser.emplace(), Buffered().substr(0, head_size),
                                       options_.max_body_bytes, refusal)) {
    co_return ReadOutcome::kRefused;
  }
  buffer_.consume(head_size);
  if (framing.expect_continue && buffer_.size() == 0) {  // the client waits for it
    slot_.ExpireAfter(options_.write_timeout);
    auto [write_ec, n] = co_await WriteAllTo(stream_, asio::buffer(kContinue));
    if (write_ec) co_return ReadOutcome::kClosed;
  }
  if (!parser) co_return co_await ReadFixedBody(framing.content_length, request.body);
  const ReadOutcome body = co_await ReadBody(*parser, refusal);
  if (body != ReadOutcome::kRequest) co_return body;
  // Trailer fields, which Beast appends to the message, are not copied.
  request.body = std::move(parser->get().body());
  co_return ReadOutcome::kRequest;
}

template <class Stream>
asio::awaitable<ReadOutcome> HttpConnection<Stream>::ReadFixedBody(uint64_t length,
                                                                   std::string& body) {
  slot_.ExpireAfter(options_.body_read_timeout);
  body.reserve(length);
  for (;;) {
    const size_t take = std::min<uint64_t>(buffer_.size(), length - body.size());
    body.append(static_cast<const char*>(buffer_.data().data()), take);
    buffer_.consume(take);
    if (body.size() == length) co_return ReadOutcome::kRequest;
    const bool got = co_await ReadSome();
    if (!got) co_return ReadOutcome::kClosed;
  }
}

template <class Stream>
asio::awaitable<ReadOutcome> HttpConnection<Stream>::ReadBody(RequestParser& parser,
                                                              Refusal& refusal) {
  slot_.ExpireAfter(options_.body_read_timeout);
  parser.eager(true);
  const size_t max_wire_bytes = MaxChunkedWireBytes();
  size_t wire_bytes = 0;
  internal::StuckFramingCheck stuck_framing;
  for (;;) {
    if (buffer_.size() != 0) {
      beast::error_code ec;
      const size_t used = parser.put(buffer_.data(), ec);
      buffer_.consume(used);
      wire_bytes += used;
      if (stuck_framing(used, ec, Buffered())) {
        ec = http::error::bad_chunk;
      }
      if (ec && ec != http::error::need_more) {
        refusal = RefusalFor(ec);
        co_return ReadOutcome::kRefused;
      }
      if (wire_bytes > max_wire_bytes) {
        refusal = Refusal::kContentTooLarge;
        co_return ReadOutcome::kRefused;
      }
      if (parser.is_done()) co_return ReadOutcome::kRequest;
      if (used != 0 && buffer_.size() != 0) continue;
      if (buffer_.size() == buffer_.max_size()) {  // a chunk header or trailer that never ends
        refusal = Refusal::kBadRequest;
        co_return ReadOutcome::kRefused;
      }
    }
    const bool got = co_await ReadSome();
    if (!got) co_return ReadOutcome::kClosed;
  }
}

template <class Stream>
bool HttpConnection<Stream>::Written(const beast::error_code& ec) {
  if (write_buffer_.capacity() > kMaxRetainedWriteBuffer) std::string().swap(write_buffer_);
  if (ec && log::Enabled(log::Level::kDebug)) {
    log::Debug("net.http.write_failed", {{"error", ec.message()}, {"remote", remote_address_}});
  }
  return !ec;
}

template <class Stream>
asio::awaitable<bool> HttpConnection<Stream>::WriteStreamedBody(StreamedBody& body, bool chunked) {
  const std::optional<uint64_t> length = body.length();
  uint64_t sent = 0;
  for (;;) {
    // The source keeps its own deadlines while the client waits.
    slot_.ExpireNever();
    const Result<std::string_view> piece = co_await body.Next();
    if (!piece) {
      if (log::Enabled(log::Level::kDebug)) {
        log::Debug("net.http.stream_cut",
                   {{"error", piece.error().message()}, {"remote", remote_address_}});
      }
      co_return false;
    }
    // Never a byte past the length the head announced, never an end short of it.
    if (length && (piece->size() > *length - sent || (piece->empty() && sent != *length))) {
      log::Warn("net.http.stream_length_mismatch", {{"remote", remote_address_}});
      co_return false;
    }
    if (piece->empty() && !chunked) co_return true;
    sent += piece->size();
    slot_.ExpireAfter(options_.write_timeout);
    IoOutcome written;
    if (chunked) {
      write_buffer_.clear();
      if (!piece->empty()) {
        char size[16];
        const auto [end, ec] = std::to_chars(size, size + sizeof size, piece->size(), 16);
        write_buffer_.append(size, end).append("\r\n"sv).append(*piece).append("\r\n"sv);
      } else {
        write_buffer_.append("0\r\n\r\n"sv);
      }
      written = co_await WriteAllTo(stream_, asio::buffer(write_buffer_));
    } else {
      written = co_await WriteAllTo(stream_, asio::buffer(piece->data(), piece->size()));
    }
    // (Written() only once the body is done: the chunk buffer stays meanwhile.)
    if (const beast::error_code ec = std::get<0>(written)) co_return Written(ec);
    if (piece->empty()) co_return Written({});
  }
}

template <class Stream>
asio::awaitable<void> HttpConnection<Stream>::RunTunnel(Tunnel& tunnel) {
  slot_.phase = ConnectionPhase::kTunnel;  // a drain cuts it (BeginDrain)
  slot_.tunnel = &tunnel;                  // and the sweep, once its credential ends
  // It runs on the client's certificate only while that stands (the
  // sweep's CutTunnelsWhoseCredentialEnded).
  if constexpr (kTls) slot_.identity = tls_info_.get();
  ClientEnd end(*this);
  // What the client sent after its request (the head is consumed) goes first.
  const std::string early(Buffered());
  buffer_.clear();
  co_await tunnel.Run(end, early);
  slot_.tunnel = nullptr;
  slot_.identity = nullptr;
  CloseSocket();
}

template <class Stream>
bool HttpConnection<Stream>::RequestBody::Begin(size_t head_size, Refusal& refusal) {
  if (!framing_.chunked) return true;
  if (!BeginChunked(parser_.emplace(), c_->Buffered().substr(0, head_size),
                    c_->options_.max_body_bytes, refusal)) {
    return false;
  }
  parser_->eager(true);
  return true;
}

template <class Stream>
asio::awaitable<Result<std::string_view>> HttpConnection<Stream>::RequestBody::Next() {
  if (c_ == nullptr) co_return Err(FailedPreconditionError("request body read after its answer"));
  if (failed_) co_return Err(FailedPreconditionError("request body read after it failed"));
  HttpConnection& c = *c_;
  c.buffer_.consume(handed_);
  handed_ = 0;
  if (!continued_) {
    continued_ = true;
    earned_ = c.options_.min_body_rate_grace;
    if constexpr (std::is_same_v<Stream, internal::TlsSocket>) {
      // Over TLS the body comes a record at a time, none of it readable
      // before all of it has arrived: the first may take as long as a full
      // record at the least rate (a client above that rate on a slow link
      // would otherwise be cut before its first record was whole), and
      // each record earns the wait for the next.
      earned_ += std::chrono::duration<double>(
          static_cast<double>(kMaxTlsRecordBytes) /
          static_cast<double>(std::max<uint64_t>(1, c.options_.min_body_bytes_per_second)));
    }
    Earn(c.buffer_.size(), {});  // came with the head
    // The client waits for this before it sends the body: only now that
    // the handler wants it.
    if (framing_.expect_continue && c.buffer_.size() == 0) {
      c.slot_.ExpireAfter(c.options_.write_timeout);
      auto [write_ec, n] = co_await WriteAllTo(c.stream_, asio::buffer(kContinue));
      if (write_ec) co_return Err(Fail(UnavailableError("client connection lost")));
    }
  }
  for (;;) {
    if (!framing_.chunked) {
      if (remaining_ == 0) co_return std::string_view();  // the end, as often as asked
      if (c.buffer_.size() != 0) {
        handed_ = std::min<uint64_t>(c.buffer_.size(), remaining_);
        remaining_ -= handed_;
        c.slot_.ExpireNever();  // the handler's time is its own again
        co_return std::string_view(static_cast<const char*>(c.buffer_.data().data()), handed_);
      }
    } else if (c.buffer_.size() != 0 || parser_->is_done()) {
      Result<std::string_view> piece = Dechunk();
      if (!piece) co_return Err(Fail(std::move(piece.error())));
      if (!piece->empty() || parser_->is_done()) {
        c.slot_.ExpireNever();
        co_return piece;
      }
    }
    // Each piece is owed within body_read_timeout, and sooner by a client
    // that falls below the least rate.
    c.slot_.ExpireAfter(ReadAllowance());
    const size_t before = c.buffer_.size();
    const auto waiting = std::chrono::steady_clock::now();
    const bool got = co_await c.ReadSome(kPieceBytes);
    const auto waited = std::chrono::steady_clock::now() - waiting;
    if (!got) {
      if (c.slot_.timed_out) {
        co_return Err(
            Fail(Status(StatusCode::kDeadlineExceeded, "request body did not come in time")));
      }
      co_return Err(Fail(UnavailableError("client connection lost")));
    }
    Earn(c.buffer_.size() - before, waited);
  }
}

template <class Stream>
void HttpConnection<Stream>::RequestBody::Earn(uint64_t bytes,
                                               std::chrono::steady_clock::duration waited) {
  const HttpServerOptions& o = c_->options_;
  if (o.min_body_bytes_per_second == 0) return;
  earned_ += std::chrono::duration<double>(static_cast<double>(bytes) /
                                           static_cast<double>(o.min_body_bytes_per_second)) -
             waited;
  // Banked without bound, a fast start would buy a trickle for hours: 10 MB
  // sent at once would earn 12 hours at 240 bytes a second.
  earned_ = std::min<std::chrono::duration<double>>(
      earned_, std::max(o.body_read_timeout, o.min_body_rate_grace));
}

template <class Stream>
std::chrono::milliseconds HttpConnection<Stream>::RequestBody::ReadAllowance() const {
  const HttpServerOptions& o = c_->options_;
  if (o.min_body_bytes_per_second == 0) return o.body_read_timeout;
  // What the client has earned, and the next byte's worth, which comes by
  // the time the wait ends.
  const auto owed = std::chrono::duration_cast<std::chrono::milliseconds>(
      earned_ +
      std::chrono::duration<double>(1.0 / static_cast<double>(o.min_body_bytes_per_second)));
  return std::clamp(owed, std::chrono::milliseconds(0), o.body_read_timeout);
}

template <class Stream>
Result<std::string_view> HttpConnection<Stream>::RequestBody::Dechunk() {
  beast::flat_buffer& buffer = c_->buffer_;
  piece_.resize(kPieceBytes);
  auto& body = parser_->get().body();
  body.data = piece_.data();
  body.size = piece_.size();
  while (buffer.size() != 0 && body.size != 0 && !parser_->is_done()) {
    beast::error_code ec;
    const size_t used = parser_->put(buffer.data(), ec);
    buffer.consume(used);
    wire_bytes_ += used;
    if (stuck_framing_(used, ec, c_->Buffered())) {
      ec = http::error::bad_chunk;
    }
    if (ec == http::error::body_limit) return Err(ResourceExhaustedError("request body too large"));
    if (ec && ec != http::error::need_buffer && ec != http::error::need_more) {
      return Err(InvalidArgumentError("bad chunked request body: " + ec.message()));
    }
    if (wire_bytes_ > c_->MaxChunkedWireBytes()) {
      return Err(ResourceExhaustedError("request body framing too large"));
    }
    if (used == 0) break;
  }
  const size_t produced = piece_.size() - body.size;
  if (produced == 0 && !parser_->is_done() && buffer.size() == buffer.max_size()) {
    // A chunk header or trailer that never ends.
    return Err(InvalidArgumentError("bad chunked request body: framing too long"));
  }
  return std::string_view(piece_.data(), produced);
}

template <class Stream>
bool HttpConnection<Stream>::RequestBody::Detach() {
  if (c_ != nullptr) {
    c_->buffer_.consume(handed_);
    handed_ = 0;
    c_->slot_.ExpireNever();
    c_ = nullptr;
  }
  if (failed_) return false;
  if (framing_.chunked) return parser_->is_done();
  return remaining_ == 0;
}

template <class Stream>
asio::awaitable<void> HttpConnection<Stream>::LingeringClose() {
  slot_.phase = ConnectionPhase::kLingering;
  if constexpr (kTls) {
    // close_notify, then the peer's (which also drains what it still sends).
    slot_.ExpireAfter(kLingerTimeout);
    co_await stream_.Shutdown();
  } else {
    beast::error_code ec;
    Lowest().shutdown(tcp::socket::shutdown_send, ec);
    if (!ec) {
      using Clock = ConnectionSlot::Clock;
      for (auto now = Clock::now(), end = now + kLingerTime; now < end; now = Clock::now()) {
        slot_.ExpireAfter(std::min<std::chrono::milliseconds>(
            kLingerTimeout, std::chrono::ceil<std::chrono::milliseconds>(end - now)));
        buffer_.clear();
        const IoOutcome read = co_await ReadFrom(buffer_.prepare(kReadChunk));
        if (std::get<0>(read)) break;
      }
    }
  }
  CloseSocket();
}

}  // namespace

asio::awaitable<void> ServeConnection(tcp::socket socket, tcp::endpoint peer, Worker& worker,
                                      [[maybe_unused]] ConnectionTicket ticket) {
  HttpConnection<PlainStream> connection(worker, std::move(socket), peer);
  co_await connection.Run();
}

asio::awaitable<void> ServeTlsConnection(tcp::socket socket, tcp::endpoint peer, Worker& worker,
                                         [[maybe_unused]] ConnectionTicket ticket,
                                         std::shared_ptr<asio::ssl::context> context,
                                         uint64_t trust_generation) {
  HttpConnection<TlsStream> connection(worker, std::move(socket), peer, *context);
  connection.set_trust_generation(trust_generation);
  co_await connection.Run();
}

}  // namespace bulwark::net::internal

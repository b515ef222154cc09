// HttpServer: a hardened HTTP/1.1 server (Boost.Beast and Asio on C++20
// coroutines, kept out of this header).
//
//   HttpServerOptions options;  // 127.0.0.1, ephemeral port
//   auto server = HttpServer::Start(options, [](const HttpRequest& req) {
//     return HttpResponse{.status = 200, .body = "hello"};
//   });
//   if (!server) return server.error();
//   uint16_t port = (*server)->port();
//   ...
//   (*server)->Stop(std::chrono::seconds(5));
//
// Threads: one io_context per thread, each with its own listening socket on
// the same address (SO_REUSEPORT), so the kernel spreads connections and no
// lock sits on the request path. A connection lives on one thread.
//
// What the server refuses before the handler sees anything, always with a
// short generic body and `Connection: close`:
//   400  malformed request line or header; bare LF or CR; obsolete line
//        folding; an empty line before the request line; Content-Length and
//        Transfer-Encoding together; more than one Content-Length (even if
//        equal) or one that is not plain digits; Transfer-Encoding other than
//        exactly `chunked`, or in an HTTP/1.0 request; bad chunk framing;
//        HTTP/1.1 without exactly one Host; two Host fields
//   413  body over max_body_bytes, by Content-Length or while de-chunking
//        a held body (a streamed one fails its read instead); a
//        chunked body whose framing (sizes, extensions, trailers) takes more
//        wire bytes than max_body_bytes + 64 KiB
//   414  request line over max_request_line
//   417  Expect other than 100-continue
//   431  header section over max_header_bytes or max_header_count fields
//   505  HTTP version other than 1.0 and 1.1
// A request head that does not arrive whole within header_read_timeout, or a
// body within body_read_timeout, is cut without a response (Slowloris).
#ifndef BULWARK_NET_HTTP_SERVER_H_
#define BULWARK_NET_HTTP_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "net/tls.h"

namespace bulwark::net {

namespace internal {
struct ServerFactory;
}
class StreamedBody;  // net/streamed_body.h
class Tunnel;        // net/tunnel.h

// One request as the handler sees it: framing already checked and removed.
struct HttpRequest {
  std::string method;     // as sent, e.g. "GET" (methods are case-sensitive)
  std::string target;     // request-target exactly as sent; not decoded or normalized
  int version_minor = 1;  // HTTP/1.<version_minor>: 0 or 1
  // Header fields in arrival order; names as sent, values without surrounding
  // whitespace. Trailer fields of a chunked body are dropped.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // the decoded body (chunked framing removed)
  // Instead of `body`, for a body the server does not hold (see
  // HttpServerOptions::max_held_body_bytes): read as the handler asks for
  // it, on the connection's io thread, until the handler returns. Its
  // length() is the Content-Length, nullopt for a chunked body (de-chunked
  // here, trailers dropped). Next() fails with kResourceExhausted past
  // max_body_bytes, kInvalidArgument for bad chunk framing,
  // kDeadlineExceeded when a piece does not come within body_read_timeout
  // or the body falls below min_body_bytes_per_second, kUnavailable when
  // the client is gone (StatusForBodyError). A client that sent
  // `Expect: 100-continue` is told to go on by the first Next(), so a
  // handler that answers without reading the body never receives it; the
  // connection then closes after the answer.
  std::shared_ptr<StreamedBody> streamed_body;
  std::string remote_address;  // the peer's IP address, e.g. "127.0.0.1" or "::1"
  // The connection's TLS facts (client certificate, SPIFFE ID); null over
  // plaintext.
  std::shared_ptr<const TlsConnectionInfo> tls;
  // For a request a proxy sends on (UpstreamPool): field lines, each
  // `name: value` and CRLF, written as they are after `headers`. Only for
  // lines built from fields a parser of Bulwark's has checked, with no field
  // the pool owns (Content-Length, Transfer-Encoding, Connection).
  std::string passed_on_fields;
  // For a request a proxy sends on: how long its answer's head may take (a
  // route's own timeout, a retry's per-try timeout), in place of the pool's
  // response_timeout; zero for the pool's.
  std::chrono::milliseconds response_timeout{0};
  // The id the handler gave this request for its records (X-Request-Id),
  // "" for none; the server neither sets nor reads it.
  std::string request_id;

  // The value of the first field named `name` (ASCII case-insensitive), or
  // nullopt. The view points into `headers`.
  std::optional<std::string_view> Header(std::string_view name) const;
  // How many fields are named `name` (ASCII case-insensitive).
  size_t HeaderCount(std::string_view name) const;
};

// What the handler answers. The server owns the framing: it sets
// Content-Length (none for 204 and 304, whose body is dropped), Date and
// Connection, and ignores those fields and Transfer-Encoding and Keep-Alive if
// the handler sets them, except that `Connection: close` from the handler
// closes the connection after this response. A HEAD response carries the
// Content-Length of its body but not the body. A status outside 200..599 or a
// header with a bad name or a CR, LF or other control character in its value
// is a handler bug: the client gets a generic 500 and the detail is logged.
struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Field lines a proxy passes on from an upstream's head as they came, each
  // `name: value` and CRLF, written before `headers`. Only for lines a parser
  // has checked (UpstreamPool, AppendPassOnFields), with no field the server
  // owns (Content-Length, Transfer-Encoding, Connection, Keep-Alive, Date).
  std::string passed_on_fields;
  // A body written as it comes, after the head, instead of `body` (which
  // must then be empty): framed by its length if it has one, else chunked
  // (close-delimited to an HTTP/1.0 client). Dropped for HEAD, 204 and 304.
  std::shared_ptr<StreamedBody> streamed_body;
  // With status 101 (the only one below 200 a handler may answer, and only
  // with a tunnel): the head goes out with `Connection: Upgrade` and no
  // length, then the connection is the tunnel's until it ends, and closes.
  std::shared_ptr<Tunnel> tunnel;
};

// The status to answer a request with whose streamed body failed with
// `error`: 413 (too large), 408 (too slow), else 400.
int StatusForBodyError(const Status& error);

// The token of the request's Authorization header if it is a bearer
// credential and the only Authorization header; empty otherwise.
std::string_view BearerTokenOf(const HttpRequest& request);

// The 401 of an API that takes a bearer token (RFC 6750 section 3): a
// JsonError with `WWW-Authenticate: Bearer realm="<realm>"`, and
// `error="invalid_token"` when the request carried a token that did not
// match (none when it carried none, section 3.1).
HttpResponse BearerRefusal(const HttpRequest& request, std::string_view realm,
                           std::string_view message);

// A JSON answer of an API: `json` (already serialized) with
// `Content-Type: application/json` and `Cache-Control: no-store`.
HttpResponse JsonResponse(int status, std::string json);
// {"error": message} the same way; the message is escaped.
HttpResponse JsonError(int status, std::string_view message);

// Answers one request. Runs on the io thread that owns the connection, so it
// must not block (no disk or network waits, no long computation): every other
// connection of that thread waits while it runs. Called concurrently from all
// io threads, so it must be thread-safe. An exception it throws becomes a
// generic 500 (detail logged) and the server keeps serving.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
// (A coroutine handler, AsyncHttpHandler, is in net/async_http_server.h,
// which includes Asio.)

// A request the listener refused before any handler saw it (the table at
// the top of this file): a smuggling shape, a limit passed, a method it
// does not serve. Views valid during the call only; method and target are
// empty when the request line never came whole (or had not the shape of
// one).
struct RefusedRequest {
  int status = 0;
  std::string_view method;
  std::string_view target;
  std::string_view remote_address;
};

struct HttpServerOptions {
  // Address to listen on: an IP literal or a name resolved at Start (first
  // address wins). Port 0 picks a free ephemeral port; see HttpServer::port().
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  // io threads, each with its own io_context and listening socket;
  // 0 = std::thread::hardware_concurrency().
  int threads = 0;
  int listen_backlog = 1024;
  // TLS on every connection when set (see net/tls.h); plaintext otherwise.
  std::optional<TlsServerOptions> tls;
  // Each io thread gathers the sends it makes on plain sockets in one pass
  // and issues them in one io_uring_enter(2), where the kernel allows
  // io_uring (else, and when false, one system call each).
  bool io_uring = true;
  // Once an io thread has run out of ready work it keeps polling for new
  // events (epoll_wait without a timeout) this long before it sleeps in
  // the kernel: a thread that sleeps between requests is woken through the
  // scheduler, which on a virtual machine whose cores go idle can take tens
  // of microseconds, paid by the request and by the peer that wakes it. The
  // poll's time is CPU time, spent once per idle gap, also after a server's
  // last request. 0 = no polling.
  std::chrono::microseconds busy_poll{0};

  // Limits on a request (see the table at the top of this file).
  size_t max_request_line = 8192;   // bytes, excluding CRLF -> 414
  size_t max_header_bytes = 16384;  // header field lines with their CRLFs -> 431
  size_t max_header_count = 100;    // -> 431
  size_t max_body_bytes = 1 << 20;  // decoded body -> 413
  // A body framed by Content-Length up to this is read whole before the
  // handler runs (HttpRequest::body); a larger one, or a chunked one, comes
  // to the handler unread (HttpRequest::streamed_body) when this is below
  // max_body_bytes. The default holds every body, for handlers that read
  // only `body`.
  size_t max_held_body_bytes = SIZE_MAX;
  size_t max_connections = 10000;  // over this, new connections are closed at once
  // Connections one client address may hold open at once; beyond it new ones
  // are closed at once, so one slow client cannot take every slot. 0 = no cap.
  size_t max_connections_per_client = 256;
  // With TLS: asked on the accepting thread, before the handshake, whether
  // a new connection from `client` (its IPv4 address or IPv6 /64, as the
  // per-client cap counts it) may go on to one; false closes it unanswered.
  // A handshake is the dearest work a client can ask for before it has shown
  // anything (the server signs, and agrees a key), so a rate of them per
  // client keeps one client from holding a core with them. Thread-safe;
  // empty admits every connection.
  std::function<bool(std::string_view client)> admit_tls_client;

  // Total time for a request head to arrive, from accept (first request) or
  // from its first byte (later requests); not reset per byte.
  std::chrono::milliseconds header_read_timeout{std::chrono::seconds(10)};
  // Time a keep-alive connection may sit between requests.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // Total time for a held request body to arrive once its head has; for a
  // streamed one, the time each piece may take.
  std::chrono::milliseconds body_read_timeout{std::chrono::seconds(30)};
  // A streamed body must come at least this fast, counting only the time
  // spent waiting for it and after min_body_rate_grace, or its read fails
  // with kDeadlineExceeded (408): a client that trickles an upload cannot
  // hold the service's connection it streams to. Each byte earns the client
  // 1/min_body_bytes_per_second of waiting, and it may bank no more than
  // body_read_timeout: a fast start buys one pause, not a slow rest. 0 = no
  // least rate.
  uint64_t min_body_bytes_per_second = 240;
  std::chrono::milliseconds min_body_rate_grace{std::chrono::seconds(5)};
  // Total time to write one response.
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};

  // Told of every refusal before its answer is written, so that it can be
  // audited and counted as a decision is; called on the io thread (it must
  // not block) and concurrently from all of them. Unset: refusals are only
  // logged, at debug level.
  std::function<void(const RefusedRequest&)> on_refused;

  // Called once by Start when every listening socket is bound and the TLS
  // files are loaded, before any connection is accepted: what the handler
  // needs before its first request can be made ready here (remote keys
  // fetched, say) after Start has found the listener's own mistakes.
  // Connections that come meanwhile wait in the listen backlog, and are
  // served once it returns.
  std::function<void()> before_serving;
};

// A running server. Start it with Start; it serves until Stop or destruction.
// port() is thread-safe; Stop is thread-safe, see there.
class HttpServer {
 public:
  // Validates `options`, binds every listening socket and starts the io
  // threads; when it returns the server accepts connections. Never throws.
  // Errors: kInvalidArgument for bad options, a null handler, a host that
  // does not resolve or is not a local address, TLS files that do not load
  // (kNotFound if one is missing); kUnavailable when the port is
  // in use (also by another process's SO_REUSEPORT group) or binding fails
  // otherwise, or threads cannot be started; kInternal if anything else fails.
  static Result<std::unique_ptr<HttpServer>> Start(HttpServerOptions options, HttpHandler handler);

  // Stop(0) if Stop has not run.
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (the ephemeral one when options.port was 0). Stays valid
  // after Stop.
  uint16_t port() const;

  // Stops gracefully and returns when every io thread has ended:
  //  - stops accepting at once (new connections are refused);
  //  - closes idle keep-alive connections at once;
  //  - lets requests in flight (their bytes have arrived) finish, answered
  //    with `Connection: close`;
  //  - after `drain_timeout`, closes whatever remains.
  // A handler that is running is never interrupted; Stop waits for it.
  // Idempotent; safe to call from any thread except the io threads (that is,
  // never from a handler: that aborts, since it would wait for itself).
  void Stop(std::chrono::milliseconds drain_timeout);

 private:
  class Impl;
  friend struct internal::ServerFactory;
  explicit HttpServer(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace bulwark::net

#endif  // BULWARK_NET_HTTP_SERVER_H_

// UpstreamPool: keep-alive HTTP/1.1 connections from one io thread to one
// upstream service. Each io thread owns its own pools (no lock on the request
// path); a pool is not thread-safe and must only be used on its executor.
// Includes Asio; for net/ and the HTTP-facing modules.
#ifndef BULWARK_NET_UPSTREAM_POOL_H_
#define BULWARK_NET_UPSTREAM_POOL_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <optional>

#include "core/status.h"
#include "net/http_server.h"
#include "net/resolve.h"
#include "net/upstream_tls_context.h"

namespace bulwark::net {

struct UpstreamOptions {
  std::string host = "127.0.0.1";  // an IP literal or a name (the pool is given its addresses)
  uint16_t port = 80;
  std::chrono::milliseconds connect_timeout{2000};
  // From sending the request to the end of the response.
  std::chrono::milliseconds response_timeout{30000};
  // Idle keep-alive connections older than this are not reused; on a
  // server's io thread they are closed about a second after (see
  // CloseIdle), and so is one the service closed.
  std::chrono::milliseconds idle_timeout{30000};
  size_t max_idle_connections = 64;  // per io thread
  // A response body up to this, framed by Content-Length, is read whole and
  // sent with the head; a larger one, or one framed by chunks or by the
  // close and not all in hand with its head, streams to the client
  // (HttpResponse::streamed_body), each piece read within response_timeout.
  size_t max_held_body_bytes = 256 * 1024;
  // A tunnel (Upgrade) through which no byte passed either way for this long
  // is closed.
  std::chrono::milliseconds tunnel_idle_timeout{std::chrono::minutes(5)};
  std::optional<UpstreamTls> tls;  // TLS origination when set
  // Answer fields whose names start with this (in any case) are not passed
  // on: names the caller keeps for its own (a gateway's X-Bulwark-).
  std::string dropped_field_prefix;
};

// Whether `error`, from UpstreamPool's Send or Upgrade, is a connection
// that could not be made (refused, unreachable, timed out, or its TLS
// handshake failed): none of the request went to the service.
bool IsConnectFailure(const Status& error);
// Of those, the ones no service took any part in: the connection refused,
// or no route to its host (not a timeout, which a full accept queue gives,
// nor a TLS handshake, which costs the service its work).
bool IsConnectionRefused(const Status& error);

// Whether `error`, from UpstreamPool's Send or Upgrade or from
// net::FetchUrl, is a connection this process could not make for want of
// its own resources (no file descriptor left, no memory or buffer space):
// it says nothing of the service, so it counts against neither its breaker
// nor its health.
bool IsLocalShortage(const Status& error);

// Whether `error`, from UpstreamPool's Send, is a connection lost (or never
// made) before a byte of the answer came: the service may have taken the
// request, but began no answer. Not a timeout, nor a malformed answer.
bool IsLostBeforeAnswer(const Status& error);

// Whether `error`, from UpstreamPool's Send, is a request sent whose answer
// did not begin within its timeout (not a connection that could not be
// made in time, nor an answer that began and then stalled).
bool IsTimeoutBeforeAnswer(const Status& error);

// Resolves upstreams' addresses once, all at once, waiting at most ten
// seconds for them all (see net/resolve.h), in the order of `addresses`:
// kInvalidArgument for one that does not resolve in time.
std::vector<Result<std::vector<boost::asio::ip::tcp::endpoint>>> ResolveUpstreams(
    std::span<const NameToResolve> addresses);

// The endpoints the addresses a name resolved to (`resolved`, in the
// system's order of preference, RFC 6724) make, as nginx and Envoy's strict
// DNS make them: one for each distinct address of the family listed first,
// each followed by the other family's addresses to fall back to when it
// cannot be reached. A name with one address, or one of each family (as
// `localhost`), stays one endpoint of them all.
std::vector<std::vector<boost::asio::ip::tcp::endpoint>> EndpointsOfName(
    const std::vector<boost::asio::ip::tcp::endpoint>& resolved);

namespace internal {
struct Worker;
}  // namespace internal

// Used, and destroyed, on the thread that runs its executor only: one made
// on a server's io thread is registered with that thread's sweep.
class UpstreamPool {
 public:
  // `tls_context` is required exactly when options.tls is set.
  UpstreamPool(boost::asio::any_io_executor executor, UpstreamOptions options,
               std::vector<boost::asio::ip::tcp::endpoint> endpoints,
               std::shared_ptr<UpstreamTlsContext> tls_context = nullptr);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // Sends `request` (method, target, headers and body as given; the pool sets
  // Content-Length and keep-alive framing) and returns the upstream's answer.
  // A streamed body (HttpRequest::streamed_body) follows the head as it
  // comes, by its length or in chunks (a chunked one that ends within 64 KiB
  // is gathered and sent with its length), before the answer is read; it
  // goes on a connection checked not to be closed, is retried only if
  // sending its head failed, and if the body fails (the client's error is
  // returned as it is) the connection is closed. A service that answers
  // before it has the whole body gets no more of it, and its answer is
  // returned (the connection is then not reused).
  // The response's fields come as the lines to pass on to a client
  // (HttpResponse::passed_on_fields; AppendPassOnFields), without those of
  // this hop and without Date; `headers` is empty.
  // A request that fails on a reused connection before any byte of a
  // response arrived is sent once more on a fresh connection when
  // `may_resend`: an idempotent request whose caller has no retry policy
  // of its own (the service may have closed the connection as the request
  // went: nginx does the same). Without it a pooled connection is looked
  // at before it is used.
  // A body that streams (see max_held_body_bytes) keeps its connection
  // until it ends; the connection returns to the pool if the body ended as
  // framed, else it is closed. Its head came within response_timeout.
  // Errors: kUnavailable (cannot connect, connection lost), kDeadlineExceeded
  // (timeout), kResourceExhausted (response head too large), kDataLoss
  // (malformed response). Never throws for I/O outcomes.
  boost::asio::awaitable<Result<HttpResponse>> Send(const HttpRequest& request, bool may_resend);

  // What an upgrade asks the service for: the protocol to switch to (e.g.
  // "websocket"; the pool adds `Connection: Upgrade` and `Upgrade`) and, if
  // not empty, the one Sec-WebSocket-Accept its 101 must carry (the answer
  // to the request's Sec-WebSocket-Key: net/websocket.h).
  struct Switch {
    std::string_view protocol;
    std::string_view accept;
  };

  // Sends `request`, a GET asking to switch as `ask` says, on a connection
  // of its own. If the service answers 101 with an Upgrade naming the same
  // protocol (and the accept asked for), the response (its Upgrade among
  // passed_on_fields) carries the tunnel to it (HttpResponse::tunnel), which
  // relays until either end closes or no byte passes either way for options'
  // tunnel_idle_timeout. Any other answer is as from Send, and its
  // connection is not pooled. Never retried. Errors as Send's; kDataLoss for
  // a 101 to another protocol or without the accept asked for.
  boost::asio::awaitable<Result<HttpResponse>> Upgrade(const HttpRequest& request, Switch ask);

  size_t idle_connections() const;

  // Closes the idle connections that have waited out idle_timeout, and
  // those the service closed (or sent bytes on unasked) while they waited:
  // a recv that does not block, each. A pool made on a server's io thread
  // is registered with it, and its sweep calls this every second while it
  // has idle connections, so none lingers after the service hung up
  // (CLOSE_WAIT) or idles long past its timeout, whether the thread gets
  // more requests for it or not.
  void CloseIdle();

 private:
  struct Connection;
  // The most recently used idle connection fit for another request, or null:
  // none with bytes the service sent after its answer, and none it closed
  // where the socket is looked at (a system call each: always if `checked`,
  // else unless it was pooled within this tick with nothing reported).
  std::unique_ptr<Connection> TakeIdle(bool checked);
  // Send for a request with a streamed body.
  boost::asio::awaitable<Result<HttpResponse>> SendStreamed(const HttpRequest& request,
                                                            bool may_resend);
  boost::asio::awaitable<Result<std::unique_ptr<Connection>>> Connect();
  boost::asio::awaitable<Result<HttpResponse>> SendOnNewConnection(const HttpRequest& request);
  // Sends `request` on `connection` and reads the response (Exchange on the
  // connection's TLS stream, bare socket or timed stream), then pools the
  // connection if it may serve another request. If `retry`, a failure before
  // any byte of a response came is retried once on a new connection.
  // With `upgrade`, the request asks to switch as it says (see Upgrade) and
  // is never retried.
  boost::asio::awaitable<Result<HttpResponse>> ExchangeOn(std::unique_ptr<Connection> connection,
                                                          const HttpRequest& request, bool retry,
                                                          const Switch* upgrade = nullptr);
  template <class Stream>
  boost::asio::awaitable<Result<HttpResponse>> Exchange(Stream& stream,
                                                        std::unique_ptr<Connection> connection,
                                                        const HttpRequest& request, bool retry,
                                                        const Switch* upgrade);
  // Writes `body` to the service after its request's head (in chunks if
  // `chunked`): true once it is all sent, false if the service answered
  // before (the rest is not sent); an error of the body's own (the
  // client's), or of the write.
  template <class Stream>
  boost::asio::awaitable<Result<bool>> SendStreamedBody(Stream& stream, Connection& c,
                                                        StreamedBody& body, bool chunked);
  // Reads what the service has sent on `c` while its request's body is
  // still going, and drops interim answers (100, 102, 103) from it: true if
  // nothing else came, or only the start of what may be another interim
  // answer (the body goes on), false if a final answer, or the start of
  // one, is there.
  static bool SkipInterim(Connection& c);
  // Closes the failed `connection`; returns `error`, or if `retry`, the
  // outcome of sending again on a new connection.
  boost::asio::awaitable<Result<HttpResponse>> Failed(std::unique_ptr<Connection> connection,
                                                      Status error, bool retry,
                                                      const HttpRequest& request);
  // Keeps `connection` for another request, unless enough are idle.
  void Pool(std::unique_ptr<Connection> connection);
  // The body of a response whose head is read, as it comes.
  template <class Stream>
  class StreamedResponse;
  // The tunnel to the service after its 101.
  template <class Stream>
  class UpstreamTunnel;

  boost::asio::any_io_executor executor_;
  UpstreamOptions options_;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
  std::shared_ptr<UpstreamTlsContext> tls_context_;
  std::vector<std::unique_ptr<Connection>> idle_;  // most recently used last
  // The io thread it was made on (its sweep calls CloseIdle), or null:
  // the worker forgets its pools when it goes first.
  friend struct internal::Worker;
  internal::Worker* worker_ = nullptr;
  // Streamed bodies outlive the request: one that ends after its pool is
  // gone closes its connection instead of pooling it.
  std::shared_ptr<UpstreamPool*> self_ = std::make_shared<UpstreamPool*>(this);
};

}  // namespace bulwark::net

#endif  // BULWARK_NET_UPSTREAM_POOL_H_

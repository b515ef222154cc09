// Starting an HttpServer whose handler is a coroutine, for the HTTP-facing
// modules that wait on the network while answering (the gateway's reverse
// proxy). Includes Asio; include it only from net/ and HTTP-facing modules.
#ifndef BULWARK_NET_ASYNC_HTTP_SERVER_H_
#define BULWARK_NET_ASYNC_HTTP_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>

#include <boost/asio/awaitable.hpp>

#include "net/http_server.h"

namespace bulwark::net {

// Answers one request on the io thread that owns the connection; it may
// co_await I/O on that thread's executor (boost::asio::this_coro::executor)
// and must never block. The request may be moved from. An exception becomes
// a generic 500, as for HttpHandler.
using AsyncHttpHandler = std::function<boost::asio::awaitable<HttpResponse>(HttpRequest&)>;

// Reads request.streamed_body, if there is one, into request.body and drops
// the stream, for handlers that want the body whole. kResourceExhausted if
// it is longer than `max_bytes`; else the stream's error, if any.
boost::asio::awaitable<Status> ReadWholeBody(HttpRequest& request, size_t max_bytes);

// As HttpServer::Start, with a coroutine handler.
Result<std::unique_ptr<HttpServer>> StartAsyncHttpServer(HttpServerOptions options,
                                                         AsyncHttpHandler handler);

}  // namespace bulwark::net

#endif  // BULWARK_NET_ASYNC_HTTP_SERVER_H_

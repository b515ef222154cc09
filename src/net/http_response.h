// Turning a handler's HttpResponse into what goes on the wire. Internal to
// net/; not part of the public API.
#ifndef BULWARK_NET_HTTP_RESPONSE_H_
#define BULWARK_NET_HTTP_RESPONSE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "net/http_server.h"

namespace bulwark::net::internal {

// The Date field value (IMF-fixdate), formatted at most once a second. One
// per io thread; not thread-safe.
class HttpDateCache {
 public:
  std::string_view Now();

 private:
  int64_t second_ = -1;
  std::string text_;
};

// What the response depends on besides the handler's answer.
struct ResponseContext {
  bool head = false;         // a HEAD request: the body is not written
  int request_version = 11;  // 10 * major + minor
  bool keep_alive = true;    // in: the connection may stay open; out: it will
  std::string_view date;
  // Out: the response's streamed body, which the server writes after the
  // head (null if it has none or sends no body), and whether in chunks.
  std::shared_ptr<StreamedBody> streamed;
  bool chunked = false;
  // Out: for a 101, the tunnel the connection becomes after the head.
  std::shared_ptr<Tunnel> tunnel;
};

// Appends the wire form of `response` to `out`. The server owns framing:
// Content-Length (absent for 204 and 304, whose body is dropped), Date and
// Connection are set here; those fields and Transfer-Encoding and Keep-Alive
// from the handler are dropped, and `Connection: close` from the handler
// clears ctx.keep_alive. A streamed body is framed by its length if known,
// else chunked to HTTP/1.1 and close-delimited (clearing ctx.keep_alive) to
// HTTP/1.0, and handed to ctx.streamed with only the head in `out`. A 101
// with a tunnel goes with `Connection: Upgrade`, its tunnel to ctx.tunnel. A HEAD response
// (ctx.head) has no body. A status outside 200..599 or an invalid header name or value is a handler
// bug: it is logged and a generic 500 is sent instead. `response` is spent
// (taken by reference only to spare moving it whole).
void SerializeResponse(HttpResponse& response, ResponseContext& ctx, std::string& out);

// A response with a short generic text body naming `status` and nothing else:
// what a client gets for refusals and failures, never internal detail.
HttpResponse GenericResponse(int status);

}  // namespace bulwark::net::internal

#endif  // BULWARK_NET_HTTP_RESPONSE_H_

// Turning a handler's HttpResponse into what goes on the wire. Internal to
// net/ (includes Beast); not part of the public API.
#ifndef BULWARK_NET_HTTP_RESPONSE_H_
#define BULWARK_NET_HTTP_RESPONSE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "net/http_server.h"

namespace bulwark::net::internal {

using WireResponse = boost::beast::http::response<boost::beast::http::string_body>;

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
};

// Builds the wire response. The server owns framing: Content-Length (absent
// for 204 and 304, whose body is dropped), Date and Connection are set here;
// those fields and Transfer-Encoding and Keep-Alive from the handler are
// dropped, and `Connection: close` from the handler clears ctx.keep_alive.
// A status outside 200..599 or an invalid header name or value is a handler
// bug: it is logged and a generic 500 is built instead.
WireResponse PrepareResponse(HttpResponse response, ResponseContext& ctx);

// A response with a short generic text body naming `status` and nothing else:
// what a client gets for refusals and failures, never internal detail.
HttpResponse GenericResponse(int status);

}  // namespace bulwark::net::internal

#endif  // BULWARK_NET_HTTP_RESPONSE_H_

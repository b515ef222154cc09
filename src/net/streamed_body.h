// StreamedBody: a response body the server writes to the client piece by
// piece as it arrives, instead of holding it whole first
// (HttpResponse::streamed_body). The reverse proxy answers with one for a
// service's response that is large, of unknown length, or slow to come (a
// download, server-sent events). Includes Asio; for net/ and the HTTP-facing
// modules.
#ifndef BULWARK_NET_STREAMED_BODY_H_
#define BULWARK_NET_STREAMED_BODY_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "core/status.h"

namespace bulwark::net {

class StreamedBody {
 public:
  virtual ~StreamedBody() = default;

  // The body's length when it is known before it is sent: it goes to the
  // client as Content-Length. nullopt: chunked to an HTTP/1.1 client, and to
  // an HTTP/1.0 one delimited by closing the connection.
  virtual std::optional<uint64_t> length() const = 0;

  // The next piece of the body: a view valid until the next call, empty at
  // the end of the body. The server asks for the next piece only once the
  // last one is written, so a slow client slows the source down rather than
  // filling memory. An error, or a body that ends short of or runs past its
  // length, cuts it off: the server closes the client's connection without
  // ending the message, so the client cannot take it for whole. Runs on the
  // connection's io thread; the source keeps its own deadlines.
  virtual boost::asio::awaitable<Result<std::string_view>> Next() = 0;
};

}  // namespace bulwark::net

#endif  // BULWARK_NET_STREAMED_BODY_H_

// The chunk extensions Beast's parsers take, checked as RFC 9112 has them
// (IsChunkExtensions): Beast lets a control character through in a quoted
// value. Internal to net/.
#ifndef BULWARK_NET_CHUNK_EXTENSIONS_H_
#define BULWARK_NET_CHUNK_EXTENSIONS_H_

#include <cstdint>
#include <string_view>

#include <boost/system/errc.hpp>
#include <boost/system/error_code.hpp>

#include "net/request_head.h"

namespace bulwark::net::internal {

// For parser.on_chunk_header, which takes the callback by reference (hence
// the object below): a chunk whose extensions are malformed ends the parse
// with an error, which the caller answers as any malformed chunk.
struct ChunkExtensionCheck {
  void operator()(uint64_t /*size*/, std::string_view extensions,
                  boost::system::error_code& ec) const {
    if (!IsChunkExtensions(extensions)) {
      ec = boost::system::errc::make_error_code(boost::system::errc::protocol_error);
    }
  }
};
inline ChunkExtensionCheck chunk_extension_check;

}  // namespace bulwark::net::internal

#endif  // BULWARK_NET_CHUNK_EXTENSIONS_H_

// The chunk extensions Beast's parsers take, checked as RFC 9112 has them
// (IsChunkExtensions): Beast lets a control character through in a quoted
// value. And the line ends of the framing Beast waits on. Internal to net/.
#ifndef BULWARK_NET_CHUNK_EXTENSIONS_H_
#define BULWARK_NET_CHUNK_EXTENSIONS_H_

#include <cstddef>
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

// When Beast asks for more of a chunked body and leaves bytes unparsed, they
// are framing: a chunk's size line not yet ended, or the last chunk and its
// trailer fields before the empty line. Beast ends those lines only at CRLF,
// so one ended by a bare LF would keep it waiting until the body's timeout
// for an end the sender never means to send. Whether `framing` holds an LF
// with no CR before it, looking only past the first `checked` bytes, which
// an earlier call found free of one (0 once Beast has parsed any of them);
// `checked` then covers all of `framing`.
inline bool FramingHasBareLineFeed(std::string_view framing, size_t& checked) {
  // (An LF just past them looks back at the last of them.)
  for (size_t lf = framing.find('\n', checked); lf != std::string_view::npos;
       lf = framing.find('\n', lf + 1)) {
    if (lf == 0 || framing[lf - 1] != '\r') return true;
  }
  checked = framing.size();
  return false;
}

}  // namespace bulwark::net::internal

#endif  // BULWARK_NET_CHUNK_EXTENSIONS_H_

// The chunk extensions Beast's parsers take, checked as RFC 9112 has them
// (IsChunkExtensions): Beast lets a control character through in a quoted
// value. And the line ends of the framing Beast waits on. Internal to net/.
#ifndef BULWARK_NET_CHUNK_EXTENSIONS_H_
#define BULWARK_NET_CHUNK_EXTENSIONS_H_

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/beast/http/error.hpp>
#include <boost/system/errc.hpp>
#include <boost/system/error_code.hpp>

#include "net/request_head.h"

namespace bulwark::net::internal {

// The largest chunk taken: Beast takes any size that fits 64 bits, and a
// service's `ffffffffffffffff` then made every byte after it the chunk's
// data, framing and all, until the answer's timeout. nginx refuses it too.
inline constexpr uint64_t kMaxChunkBytes = uint64_t{1} << 40;

// For parser.on_chunk_header, which takes the callback by reference (hence
// the object below): a chunk whose extensions are malformed, or whose size
// is past kMaxChunkBytes, ends the parse with an error, which the caller
// answers as any malformed chunk.
struct ChunkExtensionCheck {
  void operator()(uint64_t size, std::string_view extensions, boost::system::error_code& ec) const {
    if (size > kMaxChunkBytes || !IsChunkExtensions(extensions)) {
      ec = boost::system::errc::make_error_code(boost::system::errc::protocol_error);
    }
  }
};
inline ChunkExtensionCheck chunk_extension_check;

// When Beast asks for more of a chunked body and leaves bytes unparsed, they
// are framing: a chunk's size line (after the CRLF that ends the previous
// chunk's data), or the last chunk and its trailer fields. Beast would wait
// for the body's timeout, for an end the sender never means to send, where
// that framing ends its lines with a bare LF (Beast ends them only at CRLF),
// or where a whole line or message is in hand that Beast could not parse:
// a chunk's size line whose quoted extension value never closes (Beast
// looks for the quote past the line's end), or the last chunk through its
// empty line. Whether `framing` is so stuck, looking only at the LFs past
// its first `checked` bytes, which earlier calls looked at (0 once Beast has
// parsed any of them); `checked` then covers all of `framing`.
inline bool FramingIsStuck(std::string_view framing, size_t& checked) {
  const size_t from = checked;
  checked = framing.size();
  // The CRLF that ends the previous chunk's data, which Beast keeps with
  // the next size line (never there before the first: Beast refuses an
  // empty size line).
  const size_t line = framing.starts_with("\r\n") ? 2 : 0;
  bool sized = false;  // a size other than 0
  for (size_t i = line; i < framing.size() && std::isxdigit(static_cast<unsigned char>(framing[i]));
       ++i) {
    sized = sized || framing[i] != '0';
  }
  // (An LF just past the bytes looked at looks back at the last of them.)
  for (size_t lf = framing.find('\n', from); lf != std::string_view::npos;
       lf = framing.find('\n', lf + 1)) {
    if (lf == 0 || framing[lf - 1] != '\r') return true;  // a bare LF
    if (lf < line + 2) continue;                          // the data's CRLF
    if (sized) return true;                               // a chunk's size line, whole
    if (lf >= 3 && framing.substr(lf - 3, 4) == "\r\n\r\n") return true;  // the last chunk, whole
  }
  return false;
}

// FramingIsStuck over one chunked body, asked after each put to Beast's
// parser: what it looked at is forgotten once Beast has parsed any of it.
class StuckFramingCheck {
 public:
  // After a put that took `used` bytes and ended with `ec`, leaving
  // `unparsed`: whether that framing can never end (the caller then fails
  // the body as a bad chunk).
  bool operator()(size_t used, const boost::system::error_code& ec, std::string_view unparsed) {
    if (used != 0) checked_ = 0;
    return ec == boost::beast::http::error::need_more && FramingIsStuck(unparsed, checked_);
  }

 private:
  size_t checked_ = 0;
};

}  // namespace bulwark::net::internal

#endif  // BULWARK_NET_CHUNK_EXTENSIONS_H_

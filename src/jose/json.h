// Strict JSON for security tokens: RFC 8259 text, UTF-8 only, with duplicate
// member names refused at every depth (RFC 7515 section 5.2 lets a parser
// refuse them; accepting them invites parser-differential attacks), bounded
// depth and size, no comments or trailing commas.
#ifndef BULWARK_JOSE_JSON_H_
#define BULWARK_JOSE_JSON_H_

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <string_view>

#include "core/status.h"

namespace bulwark::jose {

struct JsonLimits {
  size_t max_bytes = 64 * 1024;
  size_t max_depth = 16;
  size_t max_members = 1024;  // per object or array
};

// Parses `text` as a JSON object. kInvalidArgument for anything else,
// including duplicate member names and limit violations.
Result<boost::json::object> ParseJsonObject(std::string_view text, const JsonLimits& limits = {});

// Parses any JSON value under the same rules.
Result<boost::json::value> ParseJson(std::string_view text, const JsonLimits& limits = {});

}  // namespace bulwark::jose

#endif  // BULWARK_JOSE_JSON_H_

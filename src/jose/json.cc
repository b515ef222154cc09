#include "jose/json.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <string>
#include <unordered_set>
#include <vector>

namespace bulwark::jose {
namespace {

namespace json = boost::json;
using json::error_code;
using json::string_view;

// A basic_parser handler that builds values like boost::json::parser does,
// and also tracks the member names of each open object to refuse duplicates.
class StrictHandler {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  explicit StrictHandler(const JsonLimits& limits) : limits_(limits) {}

  json::value_stack stack;
  bool duplicate = false;
  bool too_large = false;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) { return true; }
  bool on_array_end(std::size_t n, error_code& ec) {
    if (n > limits_.max_members) return Fail(ec, too_large);
    stack.push_array(n);
    return true;
  }
  bool on_object_begin(error_code&) {
    if (depth_ == names_.size()) names_.emplace_back();
    names_[depth_].clear();
    ++depth_;
    return true;
  }
  bool on_object_end(std::size_t n, error_code& ec) {
    --depth_;
    if (n > limits_.max_members) return Fail(ec, too_large);
    stack.push_object(n);
    return true;
  }
  bool on_string_part(string_view s, std::size_t, error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code&) {
    stack.push_string(s);
    return true;
  }
  bool on_key_part(string_view s, std::size_t, error_code&) {
    key_.append(s.data(), s.size());
    stack.push_chars(s);
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code& ec) {
    key_.append(s.data(), s.size());
    std::unordered_set<std::string>& seen = names_[depth_ - 1];
    // Refused at the first member past the limit, not when the object
    // closes: a token is parsed before its signature is checked, so the
    // work an unsigned one can cause stays bounded and linear.
    if (seen.size() >= limits_.max_members) return Fail(ec, too_large);
    if (!seen.insert(key_).second) return Fail(ec, duplicate);
    key_.clear();
    stack.push_key(s);
    return true;
  }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t i, string_view, error_code&) {
    stack.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, string_view, error_code&) {
    stack.push_uint64(u);
    return true;
  }
  bool on_double(double d, string_view, error_code&) {
    stack.push_double(d);
    return true;
  }
  bool on_bool(bool b, error_code&) {
    stack.push_bool(b);
    return true;
  }
  bool on_null(error_code&) {
    stack.push_null();
    return true;
  }
  bool on_comment_part(string_view, error_code&) { return false; }
  bool on_comment(string_view, error_code&) { return false; }

 private:
  static bool Fail(error_code& ec, bool& flag) {
    flag = true;
    ec = json::error::extra_data;  // any error stops the parser; the flag says why
    return false;
  }

  const JsonLimits& limits_;
  std::vector<std::unordered_set<std::string>> names_;  // member names per open object
  size_t depth_ = 0;
  std::string key_;
};

}  // namespace

Result<json::value> ParseJson(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) return Err(InvalidArgumentError("json too large"));
  json::parse_options opts;
  opts.max_depth = limits.max_depth;
  opts.allow_comments = false;
  opts.allow_trailing_commas = false;
  opts.allow_invalid_utf8 = false;
  json::basic_parser<StrictHandler> parser(opts, limits);
  parser.handler().stack.reset();
  error_code ec;
  size_t n = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && n != text.size()) ec = json::error::extra_data;
  if (ec) {
    if (parser.handler().duplicate) return Err(InvalidArgumentError("duplicate json member name"));
    if (parser.handler().too_large) return Err(InvalidArgumentError("json has too many members"));
    return Err(InvalidArgumentError("malformed json"));
  }
  return parser.handler().stack.release();
}

Result<json::object> ParseJsonObject(std::string_view text, const JsonLimits& limits) {
  BULWARK_ASSIGN_OR_RETURN(json::value v, ParseJson(text, limits));
  if (!v.is_object()) return Err(InvalidArgumentError("json is not an object"));
  return std::move(v.as_object());
}

}  // namespace bulwark::jose

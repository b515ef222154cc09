// JSON to and from CEL values (declared in cel_value.h).
#include <boost/json.hpp>

#include "policy/cel_value.h"

namespace bulwark::policy::cel {

namespace {

namespace json = boost::json;

constexpr int kMaxJsonDepth = 64;

Result<Value> FromJson(const json::value& v, int depth) {
  if (depth > kMaxJsonDepth) return Err(InvalidArgumentError("JSON nests too deeply"));
  switch (v.kind()) {
    case json::kind::null:
      return Value();
    case json::kind::bool_:
      return Value::Bool(v.get_bool());
    case json::kind::int64:
      return Value::Int(v.get_int64());
    case json::kind::uint64:
      return Value::Uint(v.get_uint64());
    case json::kind::double_:
      return Value::Double(v.get_double());
    case json::kind::string:
      return Value::String(std::string(v.get_string()));
    case json::kind::array: {
      List out;
      for (const json::value& e : v.get_array()) {
        BULWARK_ASSIGN_OR_RETURN(Value x, FromJson(e, depth + 1));
        out.push_back(std::move(x));
      }
      return Value::OfList(std::move(out));
    }
    case json::kind::object: {
      Map out;
      for (const auto& [k, e] : v.get_object()) {
        BULWARK_ASSIGN_OR_RETURN(Value x, FromJson(e, depth + 1));
        out.emplace_back(Value::String(std::string(k)), std::move(x));
      }
      return Value::OfMap(std::move(out));
    }
  }
  return Value();
}

json::value ToJson(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return nullptr;
    case Value::Kind::kBool:
      return v.bool_value();
    case Value::Kind::kInt:
      return v.int_value();
    case Value::Kind::kUint:
      return v.uint_value();
    case Value::Kind::kDouble:
      return v.double_value();
    case Value::Kind::kString:
      return json::string(v.string_value());
    case Value::Kind::kBytes:
      return json::string(v.bytes_value());
    case Value::Kind::kTimestamp:
      return json::string(FormatTimestamp(v.timestamp_value()));
    case Value::Kind::kDuration:
      return json::string(FormatDuration(v.duration_value()));
    case Value::Kind::kIpAddress:
      return json::string(FormatIpAddress(v.ip_value()));
    case Value::Kind::kList: {
      json::array out;
      for (const Value& e : v.list()) out.push_back(ToJson(e));
      return out;
    }
    case Value::Kind::kMap: {
      json::object out;
      for (const auto& [k, e] : v.map()) {
        out[k.is(Value::Kind::kString) ? k.string_value() : DebugString(k)] = ToJson(e);
      }
      return out;
    }
  }
  return nullptr;
}

Result<json::value> Parse(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Err(InvalidArgumentError("malformed JSON"));
  return v;
}

}  // namespace

Result<Value> ValueFromJson(std::string_view text) {
  BULWARK_ASSIGN_OR_RETURN(json::value v, Parse(text));
  return FromJson(v, 0);
}

std::string ValueToJson(const Value& value) { return json::serialize(ToJson(value)); }

Result<std::map<std::string, Value, std::less<>>> ContextFromJson(std::string_view text) {
  BULWARK_ASSIGN_OR_RETURN(json::value v, Parse(text));
  if (!v.is_object()) return Err(InvalidArgumentError("a context must be a JSON object"));
  std::map<std::string, Value, std::less<>> out;
  for (const auto& [k, e] : v.get_object()) {
    BULWARK_ASSIGN_OR_RETURN(Value x, FromJson(e, 1));
    out.emplace(std::string(k), std::move(x));
  }
  return out;
}

std::string ContextToJson(const std::map<std::string, Value, std::less<>>& context) {
  json::object out;
  for (const auto& [k, v] : context) out[k] = ToJson(v);
  return json::serialize(out);
}

}  // namespace bulwark::policy::cel

// Values of the Common Expression Language (CEL), the language OpenFGA
// conditions are written in: null, bool, int (int64), uint (uint64), double,
// string, bytes, timestamp, duration, list, map, and the ipaddress type
// OpenFGA adds. Values are immutable; lists and maps share their elements.
//
// Untyped input (a request's JSON context) becomes a Value by ValueFromJson:
// integral numbers are int, others double, strings stay strings.
// Coerce then reads it as a condition parameter's declared type: a string
// becomes a timestamp, duration or ipaddress, an integral double an int.
#ifndef BULWARK_POLICY_CEL_VALUE_H_
#define BULWARK_POLICY_CEL_VALUE_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/status.h"

namespace bulwark::policy::cel {

__extension__ using Int128 = __int128;

struct Bytes {
  std::string data;
  auto operator<=>(const Bytes&) const = default;
};
// Nanoseconds since the Unix epoch; CEL's range is years 0001 to 9999.
struct Timestamp {
  Int128 nanos = 0;
  auto operator<=>(const Timestamp&) const = default;
};
// Nanoseconds; CEL's range is about ±10,000 years.
struct Duration {
  Int128 nanos = 0;
  auto operator<=>(const Duration&) const = default;
};
struct IpAddress {
  std::array<uint8_t, 16> bytes{};  // IPv4 in the first 4
  bool v6 = false;
  bool operator==(const IpAddress&) const = default;
};

class Value;
using List = std::vector<Value>;
using Map = std::vector<std::pair<Value, Value>>;  // keys unique

class Value {
 public:
  enum class Kind {
    kNull,
    kBool,
    kInt,
    kUint,
    kDouble,
    kString,
    kBytes,
    kTimestamp,
    kDuration,
    kIpAddress,
    kList,
    kMap
  };
  Value() = default;
  static Value Bool(bool b) { return Value(b); }
  static Value Int(int64_t i) { return Value(i); }
  static Value Uint(uint64_t u) { return Value(u); }
  static Value Double(double d) { return Value(d); }
  static Value String(std::string s) { return Value(std::move(s)); }
  static Value OfBytes(std::string s) { return Value(Bytes{std::move(s)}); }
  static Value Time(Timestamp t) { return Value(t); }
  static Value Span(Duration d) { return Value(d); }
  static Value Ip(IpAddress a) { return Value(a); }
  static Value OfList(List l) { return Value(std::make_shared<const List>(std::move(l))); }
  // Later duplicates of a key replace earlier ones.
  static Value OfMap(Map m);

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is(Kind k) const { return kind() == k; }
  bool bool_value() const { return std::get<bool>(v_); }
  int64_t int_value() const { return std::get<int64_t>(v_); }
  uint64_t uint_value() const { return std::get<uint64_t>(v_); }
  double double_value() const { return std::get<double>(v_); }
  const std::string& string_value() const { return std::get<std::string>(v_); }
  const std::string& bytes_value() const { return std::get<Bytes>(v_).data; }
  Timestamp timestamp_value() const { return std::get<Timestamp>(v_); }
  Duration duration_value() const { return std::get<Duration>(v_); }
  const IpAddress& ip_value() const { return std::get<IpAddress>(v_); }
  const List& list() const { return *std::get<std::shared_ptr<const List>>(v_); }
  const Map& map() const { return *std::get<std::shared_ptr<const Map>>(v_); }

  // The entry of a map value under `key` (by CEL equality), or null.
  const Value* Find(const Value& key) const;

 private:
  template <typename T>
  explicit Value(T v) : v_(std::move(v)) {}
  std::variant<std::monostate, bool, int64_t, uint64_t, double, std::string, Bytes, Timestamp,
               Duration, IpAddress, std::shared_ptr<const List>, std::shared_ptr<const Map>>
      v_;
};

// CEL's name of a kind: "int", "timestamp", "list", ...
std::string_view KindName(Value::Kind kind);

// CEL equality: numbers compare across int, uint and double; lists and maps
// element-wise; values of other differing kinds are unequal.
bool Equal(const Value& a, const Value& b);

// The order of two values of comparable kinds (numbers across kinds,
// strings, bytes, bools, timestamps, durations): <0, 0, >0; kInvalidArgument
// if they cannot be ordered (NaN included).
Result<int> Compare(const Value& a, const Value& b);

// RFC 3339 ("2023-10-11T10:00:00.000Z", "...+02:00") within years 1..9999.
Result<Timestamp> ParseTimestamp(std::string_view text);
std::string FormatTimestamp(Timestamp t);
// CEL's duration strings: a signed sequence of decimal numbers with units
// h, m, s, ms, us, ns ("1h30m", "-1.5s", "0").
Result<Duration> ParseDuration(std::string_view text);
std::string FormatDuration(Duration d);
Result<IpAddress> ParseIpAddress(std::string_view text);
std::string FormatIpAddress(const IpAddress& a);
// True if `a` is in `cidr` ("10.0.0.0/8", "2001:db8::/32"); kInvalidArgument
// for a malformed CIDR. Addresses of the other family are never in it.
Result<bool> InCidr(const IpAddress& a, std::string_view cidr);

// Reads `value` as a condition parameter of `type` as written in a model:
// bool, string, int, uint, double, duration, timestamp, ipaddress, any,
// list<T>, map<T> (string keys). kInvalidArgument naming the mismatch.
Result<Value> Coerce(const Value& value, std::string_view type);

// True if `type` is a parameter type Coerce understands.
bool IsParamType(std::string_view type);

// JSON text as an untyped Value: integral numbers int (uint beyond int64),
// others double, objects maps with string keys. kInvalidArgument if it is
// not JSON or nests deeper than 64.
Result<Value> ValueFromJson(std::string_view json);
// A Value as JSON: timestamps and durations as their strings, ipaddresses
// as text, bytes as base64. Maps with non-string keys use the keys' text.
std::string ValueToJson(const Value& value);
// A context (parameter name -> value) from a JSON object, and back.
Result<std::map<std::string, Value, std::less<>>> ContextFromJson(std::string_view json);
std::string ContextToJson(const std::map<std::string, Value, std::less<>>& context);

// A readable rendering, for messages and tests.
std::string DebugString(const Value& value);

}  // namespace bulwark::policy::cel

#endif  // BULWARK_POLICY_CEL_VALUE_H_

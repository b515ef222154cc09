// Cedar runtime values: booleans, longs, strings, entity references, sets,
// records, and the extension types decimal and ipaddr.
//
// Values are immutable and cheap to copy (sets and records share their
// contents). Sets keep their elements sorted and unique, records their keys
// sorted, so equality is structural as Cedar defines it.
#ifndef BULWARK_POLICY_CEDAR_VALUE_H_
#define BULWARK_POLICY_CEDAR_VALUE_H_

#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"
#include "policy/cedar_ast.h"

namespace bulwark::policy::cedar {

// decimal: a fixed-point number with four digits after the point.
struct Decimal {
  int64_t scaled = 0;  // value * 10^4
  auto operator<=>(const Decimal&) const = default;
};

// ipaddr: an IPv4 or IPv6 address with a prefix length (32 or 128 for a
// single address).
struct IpAddr {
  bool v4 = true;
  std::array<uint8_t, 16> bytes{};  // v4 uses the first 4
  uint8_t prefix = 32;
  auto operator<=>(const IpAddr&) const = default;
};

// datetime: milliseconds since the Unix epoch (UTC).
struct Datetime {
  int64_t ms = 0;
  auto operator<=>(const Datetime&) const = default;
};

// duration: a signed number of milliseconds.
struct Duration {
  int64_t ms = 0;
  auto operator<=>(const Duration&) const = default;
};

class Value;
using ValueSet = std::vector<Value>;  // sorted, unique
using ValueRecord = std::map<std::string, Value, std::less<>>;

enum class ValueType {
  kBool,
  kLong,
  kString,
  kEntity,
  kSet,
  kRecord,
  kDecimal,
  kIpAddr,
  kDatetime,
  kDuration
};

// The name Cedar uses for `type` in messages ("bool", "long", "set", ...).
std::string_view TypeName(ValueType type);

class Value {
 public:
  Value() : v_(false) {}
  static Value Bool(bool b) { return Value(b); }
  static Value Long(int64_t i) { return Value(i); }
  static Value String(std::string s) { return Value(std::move(s)); }
  static Value Entity(EntityUid uid) { return Value(std::move(uid)); }
  static Value Set(ValueSet elements);  // sorts and removes duplicates
  static Value Record(ValueRecord fields);
  static Value OfDecimal(Decimal d) { return Value(d); }
  static Value OfIp(IpAddr ip) { return Value(ip); }
  static Value OfDatetime(Datetime d) { return Value(d); }
  static Value OfDuration(Duration d) { return Value(d); }

  ValueType type() const { return static_cast<ValueType>(v_.index()); }
  bool is(ValueType t) const { return type() == t; }
  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_long() const { return std::get<int64_t>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const EntityUid& as_entity() const { return std::get<EntityUid>(v_); }
  const ValueSet& as_set() const { return *std::get<SetPtr>(v_); }
  const ValueRecord& as_record() const { return *std::get<RecordPtr>(v_); }
  const Decimal& as_decimal() const { return std::get<Decimal>(v_); }
  const IpAddr& as_ip() const { return std::get<IpAddr>(v_); }
  Datetime as_datetime() const { return std::get<Datetime>(v_); }
  Duration as_duration() const { return std::get<Duration>(v_); }

  // A total order (by type, then value) that sets sort by; == is Cedar's
  // equality.
  std::strong_ordering operator<=>(const Value& other) const;
  bool operator==(const Value& other) const { return (*this <=> other) == 0; }

  // Cedar-like text for messages and tests: 1, "s", User::"a", [1, 2],
  // {"a": 1}, decimal("1.5000"), ip("10.0.0.0/8").
  std::string ToString() const;

 private:
  using SetPtr = std::shared_ptr<const ValueSet>;
  using RecordPtr = std::shared_ptr<const ValueRecord>;
  template <typename T>
  explicit Value(T v) : v_(std::move(v)) {}
  std::variant<bool, int64_t, std::string, EntityUid, SetPtr, RecordPtr, Decimal, IpAddr, Datetime,
               Duration>
      v_;
};

// Parses decimal("..."): an optional '-', 1+ digits, '.', 1 to 4 digits,
// within the range of a 64-bit scaled value. kInvalidArgument otherwise.
Result<Decimal> ParseDecimal(std::string_view text);
std::string DecimalToString(Decimal d);

// Parses ip("..."): IPv4 dotted quad (no leading zeros) or IPv6 text, with
// an optional "/prefix". kInvalidArgument otherwise.
Result<IpAddr> ParseIpAddr(std::string_view text);
std::string IpAddrToString(const IpAddr& ip);
// Parses datetime("..."): "YYYY-MM-DD", optionally followed by
// "Thh:mm:ss", optional ".SSS", then "Z" or an offset "+hhmm"/"-hhmm"; a
// real calendar date and time of day. kInvalidArgument otherwise.
Result<Datetime> ParseDatetime(std::string_view text);

// Parses duration("..."): an optional '-', then one or more of <n>d <n>h
// <n>m <n>s <n>ms in that order, within 64-bit milliseconds.
Result<Duration> ParseDuration(std::string_view text);

// True if every address of `inner` lies in `outer` (same family).
bool IpInRange(const IpAddr& inner, const IpAddr& outer);
bool IpIsLoopback(const IpAddr& ip);
bool IpIsMulticast(const IpAddr& ip);

}  // namespace bulwark::policy::cedar

#endif  // BULWARK_POLICY_CEDAR_VALUE_H_

#include "policy/cel_value.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>

namespace bulwark::policy::cel {

namespace {

constexpr Int128 kNanosPerSecond = 1'000'000'000;
constexpr Int128 kNanosPerDay = kNanosPerSecond * 86'400;
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z.
constexpr Int128 kMinTimestamp = Int128{-62'135'596'800} * kNanosPerSecond;
constexpr Int128 kMaxTimestamp = Int128{253'402'300'800} * kNanosPerSecond - 1;
constexpr Int128 kMaxDuration = Int128{315'576'000'000} * kNanosPerSecond;

bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

int NumberRank(Value::Kind k) {
  return k == Value::Kind::kInt || k == Value::Kind::kUint || k == Value::Kind::kDouble;
}

// -1, 0, 1, or 2 when a NaN is involved.
int CompareNumbers(const Value& a, const Value& b) {
  auto as_double = [](const Value& v) {
    switch (v.kind()) {
      case Value::Kind::kInt:
        return static_cast<double>(v.int_value());
      case Value::Kind::kUint:
        return static_cast<double>(v.uint_value());
      default:
        return v.double_value();
    }
  };
  if (a.is(Value::Kind::kDouble) || b.is(Value::Kind::kDouble)) {
    const double x = as_double(a), y = as_double(b);
    if (std::isnan(x) || std::isnan(y)) return 2;
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  // Exact comparison of int and uint.
  const Int128 x = a.is(Value::Kind::kInt) ? Int128{a.int_value()} : Int128{a.uint_value()};
  const Int128 y = b.is(Value::Kind::kInt) ? Int128{b.int_value()} : Int128{b.uint_value()};
  return x < y ? -1 : (x > y ? 1 : 0);
}

Result<Value> CoerceElements(const Value& value, std::string_view inner, bool map) {
  if (map) {
    if (!value.is(Value::Kind::kMap)) {
      return Err(
          InvalidArgumentError(fmt::format("expected a map, got {}", KindName(value.kind()))));
    }
    Map out;
    for (const auto& [k, v] : value.map()) {
      if (!k.is(Value::Kind::kString)) return Err(InvalidArgumentError("map keys must be strings"));
      BULWARK_ASSIGN_OR_RETURN(Value e, Coerce(v, inner));
      out.emplace_back(k, std::move(e));
    }
    return Value::OfMap(std::move(out));
  }
  if (!value.is(Value::Kind::kList)) {
    return Err(
        InvalidArgumentError(fmt::format("expected a list, got {}", KindName(value.kind()))));
  }
  List out;
  for (const Value& v : value.list()) {
    BULWARK_ASSIGN_OR_RETURN(Value e, Coerce(v, inner));
    out.push_back(std::move(e));
  }
  return Value::OfList(std::move(out));
}

}  // namespace

Value Value::OfMap(Map m) {
  Map unique;
  for (auto& [k, v] : m) {
    auto it = std::find_if(unique.begin(), unique.end(),
                           [&](const auto& e) { return Equal(e.first, k); });
    if (it != unique.end()) {
      it->second = std::move(v);
    } else {
      unique.emplace_back(std::move(k), std::move(v));
    }
  }
  return Value(std::make_shared<const Map>(std::move(unique)));
}

const Value* Value::Find(const Value& key) const {
  for (const auto& [k, v] : map()) {
    if (Equal(k, key)) return &v;
  }
  return nullptr;
}

std::string_view KindName(Value::Kind kind) {
  static constexpr std::string_view kNames[] = {"null_type", "bool",      "int",   "uint",
                                                "double",    "string",    "bytes", "timestamp",
                                                "duration",  "ipaddress", "list",  "map"};
  return kNames[static_cast<int>(kind)];
}

bool Equal(const Value& a, const Value& b) {
  if (NumberRank(a.kind()) && NumberRank(b.kind())) return CompareNumbers(a, b) == 0;
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kNull:
      return true;
    case Value::Kind::kBool:
      return a.bool_value() == b.bool_value();
    case Value::Kind::kString:
      return a.string_value() == b.string_value();
    case Value::Kind::kBytes:
      return a.bytes_value() == b.bytes_value();
    case Value::Kind::kTimestamp:
      return a.timestamp_value() == b.timestamp_value();
    case Value::Kind::kDuration:
      return a.duration_value() == b.duration_value();
    case Value::Kind::kIpAddress:
      return a.ip_value() == b.ip_value();
    case Value::Kind::kList: {
      const List &x = a.list(), &y = b.list();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!Equal(x[i], y[i])) return false;
      }
      return true;
    }
    case Value::Kind::kMap: {
      if (a.map().size() != b.map().size()) return false;
      for (const auto& [k, v] : a.map()) {
        const Value* other = b.Find(k);
        if (other == nullptr || !Equal(v, *other)) return false;
      }
      return true;
    }
    default:
      return false;  // numbers were handled above
  }
}

Result<int> Compare(const Value& a, const Value& b) {
  auto order = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  if (NumberRank(a.kind()) && NumberRank(b.kind())) {
    const int c = CompareNumbers(a, b);
    if (c == 2) return Err(InvalidArgumentError("NaN cannot be ordered"));
    return c;
  }
  if (a.kind() == b.kind()) {
    switch (a.kind()) {
      case Value::Kind::kBool:
        return order(a.bool_value(), b.bool_value());
      case Value::Kind::kString:
        return order(a.string_value(), b.string_value());
      case Value::Kind::kBytes:
        return order(a.bytes_value(), b.bytes_value());
      case Value::Kind::kTimestamp:
        return order(a.timestamp_value().nanos, b.timestamp_value().nanos);
      case Value::Kind::kDuration:
        return order(a.duration_value().nanos, b.duration_value().nanos);
      default:
        break;
    }
  }
  return Err(InvalidArgumentError(
      fmt::format("no ordering of {} and {}", KindName(a.kind()), KindName(b.kind()))));
}

Result<Timestamp> ParseTimestamp(std::string_view s) {
  auto bad = [&] { return Err(InvalidArgumentError("not an RFC 3339 timestamp")); };
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, month) ||
      s[7] != '-' || !Digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') ||
      !Digits(s, 11, 2, hour) || s[13] != ':' || !Digits(s, 14, 2, minute) || s[16] != ':' ||
      !Digits(s, 17, 2, second)) {
    return bad();
  }
  const std::chrono::year_month_day ymd{std::chrono::year(year),
                                        std::chrono::month(static_cast<unsigned>(month)),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (year < 1 || !ymd.ok() || hour > 23 || minute > 59 || second > 60) return bad();
  size_t pos = 19;
  Int128 frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 9) frac = frac * 10 + (s[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0) return bad();
    for (; n < 9; ++n) frac *= 10;
  }
  int offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return bad();
    }
    offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  const auto days = std::chrono::sys_days(ymd).time_since_epoch().count();
  const Int128 nanos =
      Int128{days} * kNanosPerDay +
      Int128{hour * 3600 + minute * 60 + second - offset_minutes * 60} * kNanosPerSecond + frac;
  if (nanos < kMinTimestamp || nanos > kMaxTimestamp) {
    return Err(InvalidArgumentError("timestamp out of range"));
  }
  return Timestamp{nanos};
}

std::string FormatTimestamp(Timestamp t) {
  Int128 days = t.nanos / kNanosPerDay;
  Int128 rest = t.nanos % kNanosPerDay;
  if (rest < 0) {
    rest += kNanosPerDay;
    --days;
  }
  const std::chrono::year_month_day ymd{
      std::chrono::sys_days(std::chrono::days(static_cast<int64_t>(days)))};
  const auto secs = static_cast<int64_t>(rest / kNanosPerSecond);
  const auto nanos = static_cast<int64_t>(rest % kNanosPerSecond);
  std::string out =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), secs / 3600,
                  secs / 60 % 60, secs % 60);
  if (nanos != 0) {
    std::string f = fmt::format("{:09}", nanos);
    while (f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out + "Z";
}

Result<Duration> ParseDuration(std::string_view s) {
  auto bad = [] { return Err(InvalidArgumentError("not a duration (e.g. \"1h30m\", \"1.5s\")")); };
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration{0};
  if (s.empty()) return bad();
  Int128 total = 0;
  while (!s.empty()) {
    Int128 whole = 0;
    size_t i = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      whole = whole * 10 + (s[i] - '0');
      if (whole > kMaxDuration) return bad();
      ++i;
    }
    Int128 frac = 0, scale = 1;
    size_t digits = i;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        if (scale < kNanosPerSecond * 1000) {
          frac = frac * 10 + (s[i] - '0');
          scale *= 10;
        }
        ++i;
        ++digits;
      }
    }
    if (digits == 0) return bad();
    size_t u = i;
    while (u < s.size() && !(s[u] >= '0' && s[u] <= '9') && s[u] != '.') ++u;
    const std::string_view unit = s.substr(i, u - i);
    Int128 per;
    if (unit == "h") {
      per = kNanosPerSecond * 3600;
    } else if (unit == "m") {
      per = kNanosPerSecond * 60;
    } else if (unit == "s") {
      per = kNanosPerSecond;
    } else if (unit == "ms") {
      per = 1'000'000;
    } else if (unit == "us" || unit == "\u00b5s") {
      per = 1'000;
    } else if (unit == "ns") {
      per = 1;
    } else {
      return bad();
    }
    total += whole * per + frac * per / scale;
    if (total > kMaxDuration) return Err(InvalidArgumentError("duration out of range"));
    s.remove_prefix(u);
  }
  return Duration{negative ? -total : total};
}

std::string FormatDuration(Duration d) {
  const Int128 n = d.nanos < 0 ? -d.nanos : d.nanos;
  std::string out =
      fmt::format("{}{}", d.nanos < 0 ? "-" : "", static_cast<int64_t>(n / kNanosPerSecond));
  if (const auto frac = static_cast<int64_t>(n % kNanosPerSecond); frac != 0) {
    std::string f = fmt::format("{:09}", frac);
    while (f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out + "s";
}

Result<IpAddress> ParseIpAddress(std::string_view text) {
  const std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.v6 = true;
    return a;
  }
  return Err(InvalidArgumentError("not an IP address"));
}

std::string FormatIpAddress(const IpAddress& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(a.v6 ? AF_INET6 : AF_INET, a.bytes.data(), buf, sizeof buf);
  return buf;
}

Result<bool> InCidr(const IpAddress& a, std::string_view cidr) {
  const size_t slash = cidr.find('/');
  if (slash == std::string_view::npos) return Err(InvalidArgumentError("not a CIDR block"));
  BULWARK_ASSIGN_OR_RETURN(IpAddress net, ParseIpAddress(cidr.substr(0, slash)));
  const std::string_view bits_text = cidr.substr(slash + 1);
  int bits = -1;
  auto [end, ec] = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
  if (ec != std::errc() || end != bits_text.data() + bits_text.size() || bits < 0 ||
      bits > (net.v6 ? 128 : 32)) {
    return Err(InvalidArgumentError("not a CIDR block"));
  }
  if (net.v6 != a.v6) return false;
  for (int i = 0; i < bits; ++i) {
    const uint8_t mask = static_cast<uint8_t>(0x80 >> (i % 8));
    if ((a.bytes[i / 8] & mask) != (net.bytes[i / 8] & mask)) return false;
  }
  return true;
}

bool IsParamType(std::string_view t) {
  static constexpr std::string_view kScalars[] = {
      "bool", "string", "int", "uint", "double", "duration", "timestamp", "ipaddress", "any"};
  for (std::string_view s : kScalars) {
    if (t == s) return true;
  }
  for (std::string_view generic : {"list<", "map<"}) {
    if (t.starts_with(generic) && t.ends_with('>')) {
      return IsParamType(t.substr(generic.size(), t.size() - generic.size() - 1));
    }
  }
  return false;
}

Result<Value> Coerce(const Value& v, std::string_view type) {
  using K = Value::Kind;
  auto mismatch = [&] {
    return Err(InvalidArgumentError(fmt::format("expected {}, got {}", type, KindName(v.kind()))));
  };
  if (type == "any") return v;
  if (type == "bool") return v.is(K::kBool) ? Result<Value>(v) : mismatch();
  if (type == "string") return v.is(K::kString) ? Result<Value>(v) : mismatch();
  if (type == "double") {
    if (v.is(K::kDouble)) {
      if (!std::isfinite(v.double_value())) {
        return Err(InvalidArgumentError("expected a finite double"));
      }
      return v;
    }
    if (v.is(K::kInt)) return Value::Double(static_cast<double>(v.int_value()));
    if (v.is(K::kUint)) return Value::Double(static_cast<double>(v.uint_value()));
    return mismatch();
  }
  if (type == "int" || type == "uint") {
    const bool want_int = type == "int";
    if (v.is(K::kInt)) {
      if (want_int) return v;
      if (v.int_value() < 0) return Err(InvalidArgumentError("expected uint, got a negative int"));
      return Value::Uint(static_cast<uint64_t>(v.int_value()));
    }
    if (v.is(K::kUint)) {
      if (!want_int) return v;
      if (v.uint_value() > static_cast<uint64_t>(INT64_MAX)) {
        return Err(InvalidArgumentError("int out of range"));
      }
      return Value::Int(static_cast<int64_t>(v.uint_value()));
    }
    if (v.is(K::kDouble)) {
      const double d = v.double_value();
      if (d != std::trunc(d) || !(d >= -9.2233720368547758e18 && d < 9.2233720368547758e18) ||
          (!want_int && d < 0)) {
        return Err(InvalidArgumentError(fmt::format("expected {}, got {}", type, d)));
      }
      return want_int ? Value::Int(static_cast<int64_t>(d)) : Value::Uint(static_cast<uint64_t>(d));
    }
    return mismatch();
  }
  if (type == "timestamp" || type == "duration" || type == "ipaddress") {
    if (v.is(K::kTimestamp) && type == "timestamp") return v;
    if (v.is(K::kDuration) && type == "duration") return v;
    if (v.is(K::kIpAddress) && type == "ipaddress") return v;
    if (!v.is(K::kString)) return mismatch();
    if (type == "timestamp") {
      BULWARK_ASSIGN_OR_RETURN(Timestamp t, ParseTimestamp(v.string_value()));
      return Value::Time(t);
    }
    if (type == "duration") {
      BULWARK_ASSIGN_OR_RETURN(Duration d, ParseDuration(v.string_value()));
      return Value::Span(d);
    }
    BULWARK_ASSIGN_OR_RETURN(IpAddress a, ParseIpAddress(v.string_value()));
    return Value::Ip(a);
  }
  for (std::string_view generic : {"list<", "map<"}) {
    if (type.starts_with(generic) && type.ends_with('>')) {
      return CoerceElements(v, type.substr(generic.size(), type.size() - generic.size() - 1),
                            generic == "map<");
    }
  }
  return Err(InvalidArgumentError(fmt::format("unknown parameter type `{}`", type)));
}

std::string DebugString(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return "null";
    case Value::Kind::kBool:
      return v.bool_value() ? "true" : "false";
    case Value::Kind::kInt:
      return std::to_string(v.int_value());
    case Value::Kind::kUint:
      return std::to_string(v.uint_value()) + "u";
    case Value::Kind::kDouble:
      return fmt::format("{}", v.double_value());
    case Value::Kind::kString:
      return "\"" + v.string_value() + "\"";
    case Value::Kind::kBytes:
      return "b\"" + v.bytes_value() + "\"";
    case Value::Kind::kTimestamp:
      return "timestamp(\"" + FormatTimestamp(v.timestamp_value()) + "\")";
    case Value::Kind::kDuration:
      return "duration(\"" + FormatDuration(v.duration_value()) + "\")";
    case Value::Kind::kIpAddress:
      return "ipaddress(\"" + FormatIpAddress(v.ip_value()) + "\")";
    case Value::Kind::kList: {
      std::string out = "[";
      for (const Value& e : v.list()) out += (out.size() > 1 ? ", " : "") + DebugString(e);
      return out + "]";
    }
    case Value::Kind::kMap: {
      std::string out = "{";
      for (const auto& [k, e] : v.map()) {
        out += (out.size() > 1 ? ", " : "") + DebugString(k) + ": " + DebugString(e);
      }
      return out + "}";
    }
  }
  return "";
}

}  // namespace bulwark::policy::cel

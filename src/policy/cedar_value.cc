#include "policy/cedar_value.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace bulwark::policy::cedar {

std::string_view TypeName(ValueType type) {
  switch (type) {
    case ValueType::kBool:
      return "bool";
    case ValueType::kLong:
      return "long";
    case ValueType::kString:
      return "string";
    case ValueType::kEntity:
      return "entity";
    case ValueType::kSet:
      return "set";
    case ValueType::kRecord:
      return "record";
    case ValueType::kDecimal:
      return "decimal";
    case ValueType::kIpAddr:
      return "ipaddr";
    case ValueType::kDatetime:
      return "datetime";
    case ValueType::kDuration:
      return "duration";
  }
  return "unknown";
}

Value Value::Set(ValueSet elements) {
  std::sort(elements.begin(), elements.end());
  elements.erase(std::unique(elements.begin(), elements.end()), elements.end());
  return Value(std::make_shared<const ValueSet>(std::move(elements)));
}

Value Value::Record(ValueRecord fields) {
  return Value(std::make_shared<const ValueRecord>(std::move(fields)));
}

std::strong_ordering Value::operator<=>(const Value& other) const {
  if (v_.index() != other.v_.index()) return v_.index() <=> other.v_.index();
  switch (type()) {
    case ValueType::kBool:
      return as_bool() <=> other.as_bool();
    case ValueType::kLong:
      return as_long() <=> other.as_long();
    case ValueType::kString:
      return as_string() <=> other.as_string();
    case ValueType::kEntity:
      return as_entity() <=> other.as_entity();
    case ValueType::kDecimal:
      return as_decimal() <=> other.as_decimal();
    case ValueType::kIpAddr:
      return as_ip() <=> other.as_ip();
    case ValueType::kDatetime:
      return as_datetime() <=> other.as_datetime();
    case ValueType::kDuration:
      return as_duration() <=> other.as_duration();
    case ValueType::kSet: {
      const auto& a = std::get<SetPtr>(v_);
      const auto& b = std::get<SetPtr>(other.v_);
      if (a == b) return std::strong_ordering::equal;
      return std::lexicographical_compare_three_way(a->begin(), a->end(), b->begin(), b->end());
    }
    case ValueType::kRecord: {
      const auto& a = std::get<RecordPtr>(v_);
      const auto& b = std::get<RecordPtr>(other.v_);
      if (a == b) return std::strong_ordering::equal;
      return std::lexicographical_compare_three_way(a->begin(), a->end(), b->begin(), b->end(),
                                                    [](const auto& x, const auto& y) {
                                                      if (auto c = x.first <=> y.first; c != 0)
                                                        return c;
                                                      return x.second <=> y.second;
                                                    });
    }
  }
  return std::strong_ordering::equal;
}

namespace {

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

std::string Value::ToString() const {
  switch (type()) {
    case ValueType::kBool:
      return as_bool() ? "true" : "false";
    case ValueType::kLong:
      return std::to_string(as_long());
    case ValueType::kString:
      return Quote(as_string());
    case ValueType::kEntity:
      return as_entity().type + "::" + Quote(as_entity().id);
    case ValueType::kDecimal:
      return "decimal(\"" + DecimalToString(as_decimal()) + "\")";
    case ValueType::kIpAddr:
      return "ip(\"" + IpAddrToString(as_ip()) + "\")";
    case ValueType::kDatetime:
      return fmt::format("datetime({}ms)", as_datetime().ms);
    case ValueType::kDuration:
      return fmt::format("duration(\"{}ms\")", as_duration().ms);
    case ValueType::kSet: {
      std::string out = "[";
      for (const Value& v : as_set()) out += (out.size() > 1 ? ", " : "") + v.ToString();
      return out + "]";
    }
    case ValueType::kRecord: {
      std::string out = "{";
      for (const auto& [k, v] : as_record()) {
        out += (out.size() > 1 ? ", " : "") + Quote(k) + ": " + v.ToString();
      }
      return out + "}";
    }
  }
  return "?";
}

Result<Decimal> ParseDecimal(std::string_view text) {
  auto bad = [&] { return Err(InvalidArgumentError(fmt::format("invalid decimal \"{}\"", text))); };
  size_t i = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) ++i;
  const size_t dot = text.find('.', i);
  if (dot == std::string_view::npos || dot == i) return bad();
  const size_t fraction_digits = text.size() - dot - 1;
  if (fraction_digits < 1 || fraction_digits > 4) return bad();
  // Accumulate negatively, so that the most negative value fits.
  int64_t value = 0;
  for (size_t k = i; k < text.size(); ++k) {
    if (k == dot) continue;
    const char c = text[k];
    if (c < '0' || c > '9') return bad();
    if (__builtin_mul_overflow(value, int64_t{10}, &value) ||
        __builtin_sub_overflow(value, int64_t{c - '0'}, &value)) {
      return bad();
    }
  }
  for (size_t k = fraction_digits; k < 4; ++k) {
    if (__builtin_mul_overflow(value, int64_t{10}, &value)) return bad();
  }
  if (!negative) {
    if (value == INT64_MIN) return bad();
    value = -value;
  }
  return Decimal{value};
}

std::string DecimalToString(Decimal d) {
  const bool negative = d.scaled < 0;
  const uint64_t magnitude =
      negative ? 0 - static_cast<uint64_t>(d.scaled) : static_cast<uint64_t>(d.scaled);
  return fmt::format("{}{}.{:04}", negative ? "-" : "", magnitude / 10000, magnitude % 10000);
}

Result<IpAddr> ParseIpAddr(std::string_view text) {
  auto bad = [&] { return Err(InvalidArgumentError(fmt::format("invalid ip \"{}\"", text))); };
  IpAddr ip;
  std::string_view address = text;
  std::string_view prefix;
  if (const size_t slash = text.find('/'); slash != std::string_view::npos) {
    address = text.substr(0, slash);
    prefix = text.substr(slash + 1);
    if (prefix.empty() || prefix.size() > 3 || (prefix.size() > 1 && prefix[0] == '0')) {
      return bad();
    }
  }
  const std::string copy(address);
  if (copy.find(':') != std::string::npos) {
    ip.v4 = false;
    if (inet_pton(AF_INET6, copy.c_str(), ip.bytes.data()) != 1) return bad();
  } else {
    if (inet_pton(AF_INET, copy.c_str(), ip.bytes.data()) != 1) return bad();
  }
  const int max = ip.v4 ? 32 : 128;
  ip.prefix = static_cast<uint8_t>(max);
  if (!prefix.empty()) {
    int p = 0;
    for (char c : prefix) {
      if (c < '0' || c > '9') return bad();
      p = p * 10 + (c - '0');
    }
    if (p > max) return bad();
    ip.prefix = static_cast<uint8_t>(p);
  }
  return ip;
}

namespace {

// The value of the `count` decimal digits at text[at], or -1.
int Digits(std::string_view text, size_t at, size_t count) {
  if (at + count > text.size()) return -1;
  int value = 0;
  for (size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

Result<Datetime> ParseDatetime(std::string_view text) {
  auto bad = [&] {
    return Err(InvalidArgumentError(fmt::format("invalid datetime \"{}\"", text)));
  };
  const int year = Digits(text, 0, 4), month = Digits(text, 5, 2), day = Digits(text, 8, 2);
  if (year < 0 || month < 0 || day < 0 || text[4] != '-' || text[7] != '-') return bad();
  const std::chrono::year_month_day date{std::chrono::year{year},
                                         std::chrono::month{static_cast<unsigned>(month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return bad();
  int64_t ms = int64_t{std::chrono::sys_days(date).time_since_epoch().count()} * 86'400'000;
  if (text.size() == 10) return Datetime{ms};
  const int hour = Digits(text, 11, 2), minute = Digits(text, 14, 2), second = Digits(text, 17, 2);
  if (text[10] != 'T' || hour < 0 || minute < 0 || second < 0 || text.size() < 20 ||
      text[13] != ':' || text[16] != ':' || hour > 23 || minute > 59 || second > 59) {
    return bad();
  }
  ms += ((hour * 60 + minute) * 60 + second) * int64_t{1000};
  size_t at = 19;
  if (text[at] == '.') {
    const int millis = Digits(text, at + 1, 3);
    if (millis < 0) return bad();
    ms += millis;
    at += 4;
  }
  const std::string_view zone = text.substr(at);
  if (zone == "Z") return Datetime{ms};
  const int offset_hours = Digits(zone, 1, 2), offset_minutes = Digits(zone, 3, 2);
  if (zone.size() != 5 || (zone[0] != '+' && zone[0] != '-') || offset_hours < 0 ||
      offset_minutes < 0 || offset_hours > 23 || offset_minutes > 59) {
    return bad();
  }
  const int64_t offset = (offset_hours * 60 + offset_minutes) * int64_t{60'000};
  return Datetime{zone[0] == '+' ? ms - offset : ms + offset};
}

Result<Duration> ParseDuration(std::string_view text) {
  auto bad = [&] {
    return Err(InvalidArgumentError(fmt::format("invalid duration \"{}\"", text)));
  };
  constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}};
  size_t i = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) ++i;
  // Accumulated negatively, so that the most negative duration fits.
  int64_t total = 0;
  size_t next_unit = 0;
  bool any = false;
  while (i < text.size()) {
    int64_t quantity = 0;
    const size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (__builtin_mul_overflow(quantity, int64_t{10}, &quantity) ||
          __builtin_sub_overflow(quantity, int64_t{text[i] - '0'}, &quantity)) {
        return bad();
      }
      ++i;
    }
    if (i == start) return bad();
    size_t unit = next_unit;
    while (unit < std::size(kUnits)) {
      const std::string_view name = kUnits[unit].first;
      // "m" must not take the "m" of "ms".
      if (text.substr(i, name.size()) == name && !(name == "m" && text.substr(i, 2) == "ms")) {
        break;
      }
      ++unit;
    }
    if (unit == std::size(kUnits)) return bad();
    int64_t part = 0;
    if (__builtin_mul_overflow(quantity, kUnits[unit].second, &part) ||
        __builtin_add_overflow(total, part, &total)) {
      return bad();
    }
    i += kUnits[unit].first.size();
    next_unit = unit + 1;
    any = true;
  }
  if (!any) return bad();
  if (!negative) {
    if (total == INT64_MIN) return bad();
    total = -total;
  }
  return Duration{total};
}

std::string IpAddrToString(const IpAddr& ip) {
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(ip.v4 ? AF_INET : AF_INET6, ip.bytes.data(), buffer, sizeof buffer);
  return fmt::format("{}/{}", buffer, ip.prefix);
}

namespace {

// The first and last address of `ip`'s range, as 16 big-endian bytes.
std::pair<std::array<uint8_t, 16>, std::array<uint8_t, 16>> Bounds(const IpAddr& ip) {
  std::array<uint8_t, 16> low = ip.bytes, high = ip.bytes;
  const int bits = ip.v4 ? 32 : 128;
  for (int bit = ip.prefix; bit < bits; ++bit) {
    const auto mask = static_cast<uint8_t>(0x80 >> (bit % 8));
    low[bit / 8] &= static_cast<uint8_t>(~mask);
    high[bit / 8] |= mask;
  }
  return {low, high};
}

}  // namespace

bool IpInRange(const IpAddr& inner, const IpAddr& outer) {
  if (inner.v4 != outer.v4) return false;
  const auto [inner_low, inner_high] = Bounds(inner);
  const auto [outer_low, outer_high] = Bounds(outer);
  return outer_low <= inner_low && inner_high <= outer_high;
}

bool IpIsLoopback(const IpAddr& ip) {
  static const IpAddr kV4 = *ParseIpAddr("127.0.0.0/8");
  static const IpAddr kV6 = *ParseIpAddr("::1/128");
  return IpInRange(ip, ip.v4 ? kV4 : kV6);
}

bool IpIsMulticast(const IpAddr& ip) {
  static const IpAddr kV4 = *ParseIpAddr("224.0.0.0/4");
  static const IpAddr kV6 = *ParseIpAddr("ff00::/8");
  return IpInRange(ip, ip.v4 ? kV4 : kV6);
}

}  // namespace bulwark::policy::cedar

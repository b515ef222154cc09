#include "policy/cel.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>
#include <vector>

#include "core/utf8.h"
#include "policy/cel_node.h"

namespace bulwark::policy::cel {

namespace {

using K = Value::Kind;

constexpr Int128 kNanosPerSecond = 1'000'000'000;
constexpr Int128 kMinTimestamp = Int128{-62'135'596'800} * kNanosPerSecond;
constexpr Int128 kMaxTimestamp = Int128{253'402'300'800} * kNanosPerSecond - 1;
constexpr Int128 kMaxDuration = Int128{315'576'000'000} * kNanosPerSecond;
// Nodes one evaluation may visit: bounds comprehensions over large inputs.
constexpr int kMaxSteps = 100'000;

Status NoOverload(std::string_view fn, const std::vector<Value>& args) {
  std::string kinds;
  for (const Value& a : args)
    kinds += (kinds.empty() ? "" : ", ") + std::string(KindName(a.kind()));
  return InvalidArgumentError(fmt::format("no matching overload for {}({})", fn, kinds));
}

Result<Value> CheckedTime(Int128 nanos) {
  if (nanos < kMinTimestamp || nanos > kMaxTimestamp) {
    return Err(InvalidArgumentError("timestamp out of range"));
  }
  return Value::Time(Timestamp{nanos});
}
Result<Value> CheckedDuration(Int128 nanos) {
  if (nanos < -kMaxDuration || nanos > kMaxDuration) {
    return Err(InvalidArgumentError("duration out of range"));
  }
  return Value::Span(Duration{nanos});
}

// int64 or uint64 arithmetic; overflow and division by zero are errors.
template <typename T>
Result<T> Integer(char o, T x, T y) {
  T r = 0;
  bool overflow = false;
  switch (o) {
    case '+':
      overflow = __builtin_add_overflow(x, y, &r);
      break;
    case '-':
      overflow = __builtin_sub_overflow(x, y, &r);
      break;
    case '*':
      overflow = __builtin_mul_overflow(x, y, &r);
      break;
    default:  // '/' and '%'
      if (y == 0)
        return Err(InvalidArgumentError(o == '/' ? "division by zero" : "modulus by zero"));
      if (std::is_signed_v<T> && x == std::numeric_limits<T>::min() && y == T(-1)) {
        if (o == '%') return T(0);
        overflow = true;
      } else {
        r = o == '/' ? x / y : x % y;
      }
  }
  if (overflow) return Err(InvalidArgumentError("integer overflow"));
  return r;
}

Result<Value> Arithmetic(std::string_view op, const Value& a, const Value& b) {
  const char o = op[1];
  if (a.is(K::kInt) && b.is(K::kInt)) {
    BULWARK_ASSIGN_OR_RETURN(int64_t r, Integer(o, a.int_value(), b.int_value()));
    return Value::Int(r);
  }
  if (a.is(K::kUint) && b.is(K::kUint)) {
    BULWARK_ASSIGN_OR_RETURN(uint64_t r, Integer(o, a.uint_value(), b.uint_value()));
    return Value::Uint(r);
  }
  if (a.is(K::kDouble) && b.is(K::kDouble) && o != '%') {
    const double x = a.double_value(), y = b.double_value();
    return Value::Double(o == '+' ? x + y : o == '-' ? x - y : o == '*' ? x * y : x / y);
  }
  if (o == '+') {
    if (a.is(K::kString) && b.is(K::kString))
      return Value::String(a.string_value() + b.string_value());
    if (a.is(K::kBytes) && b.is(K::kBytes))
      return Value::OfBytes(a.bytes_value() + b.bytes_value());
    if (a.is(K::kList) && b.is(K::kList)) {
      List out = a.list();
      out.insert(out.end(), b.list().begin(), b.list().end());
      return Value::OfList(std::move(out));
    }
    if (a.is(K::kTimestamp) && b.is(K::kDuration)) {
      return CheckedTime(a.timestamp_value().nanos + b.duration_value().nanos);
    }
    if (a.is(K::kDuration) && b.is(K::kTimestamp)) {
      return CheckedTime(b.timestamp_value().nanos + a.duration_value().nanos);
    }
    if (a.is(K::kDuration) && b.is(K::kDuration)) {
      return CheckedDuration(a.duration_value().nanos + b.duration_value().nanos);
    }
  }
  if (o == '-') {
    if (a.is(K::kTimestamp) && b.is(K::kTimestamp)) {
      return CheckedDuration(a.timestamp_value().nanos - b.timestamp_value().nanos);
    }
    if (a.is(K::kTimestamp) && b.is(K::kDuration)) {
      return CheckedTime(a.timestamp_value().nanos - b.duration_value().nanos);
    }
    if (a.is(K::kDuration) && b.is(K::kDuration)) {
      return CheckedDuration(a.duration_value().nanos - b.duration_value().nanos);
    }
  }
  return Err(NoOverload(op, {a, b}));
}

// The civil fields of a timestamp in UTC or at a fixed "+hh:mm" offset.
struct Civil {
  std::chrono::year_month_day ymd;
  int64_t seconds_of_day;
  int64_t nanos;
  unsigned weekday;      // 0 = Sunday
  unsigned day_of_year;  // 0-based
};

Result<Civil> ToCivil(Timestamp t, std::string_view zone) {
  Int128 n = t.nanos;
  if (!zone.empty() && zone != "UTC" && zone != "Z") {
    const bool sign = zone[0] == '+' || zone[0] == '-';
    const std::string_view hm = zone.substr(sign ? 1 : 0);
    int h = 0, m = 0;
    if (hm.size() != 5 || hm[2] != ':' ||
        std::sscanf(std::string(hm).c_str(), "%2d:%2d", &h, &m) != 2 || h > 23 || m > 59) {
      return Err(InvalidArgumentError(
          fmt::format("time zone `{}` is not supported (use UTC or a ±hh:mm offset)", zone)));
    }
    n += Int128{(h * 60 + m) * 60} * kNanosPerSecond * (zone[0] == '-' ? -1 : 1);
  }
  const Int128 per_day = kNanosPerSecond * 86'400;
  Int128 days = n / per_day, rest = n % per_day;
  if (rest < 0) {
    rest += per_day;
    --days;
  }
  const std::chrono::sys_days sd{std::chrono::days(static_cast<int64_t>(days))};
  const std::chrono::year_month_day ymd{sd};
  const std::chrono::sys_days jan1{ymd.year() / std::chrono::January / 1};
  return Civil{ymd, static_cast<int64_t>(rest / kNanosPerSecond),
               static_cast<int64_t>(rest % kNanosPerSecond), std::chrono::weekday(sd).c_encoding(),
               static_cast<unsigned>((sd - jan1).count())};
}

Result<Value> Accessor(const std::string& fn, const std::vector<Value>& args) {
  if (args[0].is(K::kDuration) && args.size() == 1) {
    const Int128 n = args[0].duration_value().nanos;
    if (fn == "getHours") return Value::Int(static_cast<int64_t>(n / (kNanosPerSecond * 3600)));
    if (fn == "getMinutes") return Value::Int(static_cast<int64_t>(n / (kNanosPerSecond * 60)));
    if (fn == "getSeconds") return Value::Int(static_cast<int64_t>(n / kNanosPerSecond));
    if (fn == "getMilliseconds")
      return Value::Int(static_cast<int64_t>(n % kNanosPerSecond / 1'000'000));
  }
  if (!args[0].is(K::kTimestamp) || args.size() > 2 ||
      (args.size() == 2 && !args[1].is(K::kString))) {
    return Err(NoOverload(fn, args));
  }
  BULWARK_ASSIGN_OR_RETURN(
      Civil c, ToCivil(args[0].timestamp_value(), args.size() == 2 ? args[1].string_value() : ""));
  int64_t v = 0;
  if (fn == "getFullYear") {
    v = static_cast<int>(c.ymd.year());
  } else if (fn == "getMonth") {
    v = static_cast<unsigned>(c.ymd.month()) - 1;
  } else if (fn == "getDate") {
    v = static_cast<unsigned>(c.ymd.day());
  } else if (fn == "getDayOfMonth") {
    v = static_cast<unsigned>(c.ymd.day()) - 1;
  } else if (fn == "getDayOfWeek") {
    v = c.weekday;
  } else if (fn == "getDayOfYear") {
    v = c.day_of_year;
  } else if (fn == "getHours") {
    v = c.seconds_of_day / 3600;
  } else if (fn == "getMinutes") {
    v = c.seconds_of_day / 60 % 60;
  } else if (fn == "getSeconds") {
    v = c.seconds_of_day % 60;
  } else {
    v = c.nanos / 1'000'000;
  }
  return Value::Int(v);
}

Result<Value> Convert(const std::string& fn, const Value& a) {
  switch (a.kind()) {
    case K::kInt:
      if (fn == "int") return a;
      if (fn == "uint") {
        if (a.int_value() < 0) return Err(InvalidArgumentError("uint out of range"));
        return Value::Uint(static_cast<uint64_t>(a.int_value()));
      }
      if (fn == "double") return Value::Double(static_cast<double>(a.int_value()));
      if (fn == "string") return Value::String(std::to_string(a.int_value()));
      if (fn == "timestamp") return CheckedTime(Int128{a.int_value()} * kNanosPerSecond);
      break;
    case K::kUint:
      if (fn == "uint") return a;
      if (fn == "int") {
        if (a.uint_value() > static_cast<uint64_t>(INT64_MAX)) {
          return Err(InvalidArgumentError("int out of range"));
        }
        return Value::Int(static_cast<int64_t>(a.uint_value()));
      }
      if (fn == "double") return Value::Double(static_cast<double>(a.uint_value()));
      if (fn == "string") return Value::String(std::to_string(a.uint_value()));
      break;
    case K::kDouble: {
      const double d = a.double_value();
      if (fn == "double") return a;
      if (fn == "string") return Value::String(fmt::format("{}", d));
      if (fn == "int") {
        if (!(d > -9.2233720368547758e18 && d < 9.2233720368547758e18)) {
          return Err(InvalidArgumentError("int out of range"));
        }
        return Value::Int(static_cast<int64_t>(d));
      }
      if (fn == "uint") {
        if (!(d > -1 && d < 1.8446744073709552e19))
          return Err(InvalidArgumentError("uint out of range"));
        return Value::Uint(static_cast<uint64_t>(d));
      }
      break;
    }
    case K::kString: {
      const std::string& s = a.string_value();
      if (fn == "string") return a;
      if (fn == "bytes") return Value::OfBytes(s);
      if (fn == "timestamp") {
        BULWARK_ASSIGN_OR_RETURN(Timestamp t, ParseTimestamp(s));
        return Value::Time(t);
      }
      if (fn == "duration") {
        BULWARK_ASSIGN_OR_RETURN(Duration d, ParseDuration(s));
        return Value::Span(d);
      }
      if (fn == "ipaddress") {
        BULWARK_ASSIGN_OR_RETURN(IpAddress ip, ParseIpAddress(s));
        return Value::Ip(ip);
      }
      if (fn == "bool") {
        if (s == "true" || s == "True" || s == "TRUE" || s == "t" || s == "1")
          return Value::Bool(true);
        if (s == "false" || s == "False" || s == "FALSE" || s == "f" || s == "0")
          return Value::Bool(false);
        return Err(InvalidArgumentError("not a bool"));
      }
      if (fn == "int" || fn == "uint" || fn == "double") {
        errno = 0;
        char* end = nullptr;
        if (fn == "double") {
          const double d = std::strtod(s.c_str(), &end);
          if (s.empty() || *end != '\0') return Err(InvalidArgumentError("not a double"));
          return Value::Double(d);
        }
        if (fn == "int") {
          const long long v = std::strtoll(s.c_str(), &end, 10);
          if (s.empty() || *end != '\0' || errno == ERANGE)
            return Err(InvalidArgumentError("not an int"));
          return Value::Int(v);
        }
        if (s.starts_with('-')) return Err(InvalidArgumentError("not a uint"));
        const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
        if (s.empty() || *end != '\0' || errno == ERANGE)
          return Err(InvalidArgumentError("not a uint"));
        return Value::Uint(v);
      }
      break;
    }
    case K::kBytes:
      if (fn == "bytes") return a;
      if (fn == "string") {
        if (!IsValidUtf8(a.bytes_value())) return Err(InvalidArgumentError("bytes are not UTF-8"));
        return Value::String(a.bytes_value());
      }
      break;
    case K::kBool:
      if (fn == "bool") return a;
      if (fn == "string") return Value::String(a.bool_value() ? "true" : "false");
      break;
    case K::kTimestamp:
      if (fn == "timestamp") return a;
      if (fn == "string") return Value::String(FormatTimestamp(a.timestamp_value()));
      if (fn == "int") {
        Int128 n = a.timestamp_value().nanos;
        Int128 s = n / kNanosPerSecond;
        if (n % kNanosPerSecond < 0) --s;
        return Value::Int(static_cast<int64_t>(s));
      }
      break;
    case K::kDuration:
      if (fn == "duration") return a;
      if (fn == "string") return Value::String(FormatDuration(a.duration_value()));
      if (fn == "int")
        return Value::Int(static_cast<int64_t>(a.duration_value().nanos / kNanosPerSecond));
      break;
    case K::kIpAddress:
      if (fn == "ipaddress") return a;
      if (fn == "string") return Value::String(FormatIpAddress(a.ip_value()));
      break;
    default:
      break;
  }
  return Err(NoOverload(fn, {a}));
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

Result<Value> Call(const std::string& fn, const std::vector<Value>& args) {
  if (fn == "dyn" && args.size() == 1) return args[0];
  if (fn == "size" && args.size() == 1) {
    const Value& a = args[0];
    if (a.is(K::kString)) return Value::Int(static_cast<int64_t>(Utf8Length(a.string_value())));
    if (a.is(K::kBytes)) return Value::Int(static_cast<int64_t>(a.bytes_value().size()));
    if (a.is(K::kList)) return Value::Int(static_cast<int64_t>(a.list().size()));
    if (a.is(K::kMap)) return Value::Int(static_cast<int64_t>(a.map().size()));
    return Err(NoOverload(fn, args));
  }
  if ((fn == "contains" || fn == "startsWith" || fn == "endsWith" || fn == "matches") &&
      args.size() == 2) {
    if (!args[0].is(K::kString) || !args[1].is(K::kString)) return Err(NoOverload(fn, args));
    const std::string &s = args[0].string_value(), &t = args[1].string_value();
    if (fn == "contains") return Value::Bool(s.find(t) != std::string::npos);
    if (fn == "startsWith") return Value::Bool(s.starts_with(t));
    if (fn == "endsWith") return Value::Bool(s.ends_with(t));
    RE2::Options options;
    options.set_log_errors(false);
    RE2 re(t, options);
    if (!re.ok()) return Err(InvalidArgumentError("invalid regular expression"));
    return Value::Bool(RE2::PartialMatch(s, re));
  }
  if (fn == "in_cidr" && args.size() == 2) {
    if (!args[0].is(K::kIpAddress) || !args[1].is(K::kString)) return Err(NoOverload(fn, args));
    BULWARK_ASSIGN_OR_RETURN(bool in, InCidr(args[0].ip_value(), args[1].string_value()));
    return Value::Bool(in);
  }
  if (fn.starts_with("get")) return Accessor(fn, args);
  if (args.size() == 1) return Convert(fn, args[0]);
  return Err(NoOverload(fn, args));
}

class Evaluator {
 public:
  explicit Evaluator(const Activation& vars) : vars_(vars) {}

  Result<Value> Eval(const Node& n) {
    if (++steps_ > kMaxSteps) return Err(InvalidArgumentError("evaluation exceeds its budget"));
    switch (n.kind) {
      case Node::Kind::kLiteral:
        return n.literal;
      case Node::Kind::kIdent: {
        for (auto it = locals_.rbegin(); it != locals_.rend(); ++it) {
          if (it->first == n.name) return it->second;
        }
        auto it = vars_.find(n.name);
        if (it == vars_.end()) {
          return Err(InvalidArgumentError(fmt::format("no such attribute `{}`", n.name)));
        }
        return it->second;
      }
      case Node::Kind::kSelect:
      case Node::Kind::kHas: {
        BULWARK_ASSIGN_OR_RETURN(Value m, Eval(n.args[0]));
        if (!m.is(K::kMap)) {
          return Err(InvalidArgumentError(
              fmt::format("cannot select `{}` from {}", n.name, KindName(m.kind()))));
        }
        const Value* v = m.Find(Value::String(n.name));
        if (n.kind == Node::Kind::kHas) return Value::Bool(v != nullptr);
        if (v == nullptr) return Err(InvalidArgumentError(fmt::format("no such key `{}`", n.name)));
        return *v;
      }
      case Node::Kind::kIndex: {
        BULWARK_ASSIGN_OR_RETURN(Value c, Eval(n.args[0]));
        BULWARK_ASSIGN_OR_RETURN(Value i, Eval(n.args[1]));
        return Index(c, i);
      }
      case Node::Kind::kList: {
        List out;
        for (const Node& e : n.args) {
          BULWARK_ASSIGN_OR_RETURN(Value v, Eval(e));
          out.push_back(std::move(v));
        }
        return Value::OfList(std::move(out));
      }
      case Node::Kind::kMap: {
        Map out;
        for (size_t i = 0; i + 1 < n.args.size(); i += 2) {
          BULWARK_ASSIGN_OR_RETURN(Value k, Eval(n.args[i]));
          if (!(k.is(K::kString) || k.is(K::kInt) || k.is(K::kUint) || k.is(K::kBool))) {
            return Err(InvalidArgumentError("map keys must be strings, ints, uints or bools"));
          }
          for (const auto& e : out) {
            if (Equal(e.first, k)) return Err(InvalidArgumentError("repeated map key"));
          }
          BULWARK_ASSIGN_OR_RETURN(Value v, Eval(n.args[i + 1]));
          out.emplace_back(std::move(k), std::move(v));
        }
        return Value::OfMap(std::move(out));
      }
      case Node::Kind::kAnd:
      case Node::Kind::kOr:
        return Logical(n);
      case Node::Kind::kConditional: {
        BULWARK_ASSIGN_OR_RETURN(Value c, Eval(n.args[0]));
        if (!c.is(K::kBool)) return Err(NoOverload("_?_:_", {c}));
        return Eval(n.args[c.bool_value() ? 1 : 2]);
      }
      case Node::Kind::kComprehension:
        return Comprehension(n);
      case Node::Kind::kCall:
        break;
    }
    std::vector<Value> args;
    args.reserve(n.args.size());
    for (const Node& a : n.args) {
      BULWARK_ASSIGN_OR_RETURN(Value v, Eval(a));
      args.push_back(std::move(v));
    }
    return Operator(n.name, args);
  }

 private:
  static Result<Value> Index(const Value& c, const Value& i) {
    if (c.is(K::kList)) {
      int64_t idx = -1;
      if (i.is(K::kInt)) {
        idx = i.int_value();
      } else if (i.is(K::kUint) && i.uint_value() < static_cast<uint64_t>(INT64_MAX)) {
        idx = static_cast<int64_t>(i.uint_value());
      } else if (i.is(K::kDouble) && i.double_value() == std::trunc(i.double_value()) &&
                 std::abs(i.double_value()) < 9e18) {
        idx = static_cast<int64_t>(i.double_value());
      } else {
        return Err(NoOverload("_[_]", {c, i}));
      }
      if (idx < 0 || static_cast<size_t>(idx) >= c.list().size()) {
        return Err(InvalidArgumentError(fmt::format("index {} out of range", idx)));
      }
      return c.list()[static_cast<size_t>(idx)];
    }
    if (c.is(K::kMap)) {
      const Value* v = c.Find(i);
      if (v == nullptr)
        return Err(InvalidArgumentError(fmt::format("no such key {}", DebugString(i))));
      return *v;
    }
    return Err(NoOverload("_[_]", {c, i}));
  }

  Result<Value> Logical(const Node& n) {
    const bool is_and = n.kind == Node::Kind::kAnd;
    // The deciding value (false for &&, true for ||) wins over an error on
    // either side.
    Result<Value> left = Eval(n.args[0]);
    if (left && !left->is(K::kBool)) left = Err(NoOverload(is_and ? "_&&_" : "_||_", {*left}));
    if (left && left->bool_value() != is_and) return left;
    Result<Value> right = Eval(n.args[1]);
    if (right && !right->is(K::kBool)) right = Err(NoOverload(is_and ? "_&&_" : "_||_", {*right}));
    if (right && right->bool_value() != is_and) return right;
    if (!left) return left;
    return right;
  }

  Result<Value> Comprehension(const Node& n) {
    BULWARK_ASSIGN_OR_RETURN(Value range, Eval(n.args[0]));
    List items;
    if (range.is(K::kList)) {
      items = range.list();
    } else if (range.is(K::kMap)) {
      for (const auto& e : range.map()) items.push_back(e.first);
    } else {
      return Err(NoOverload(n.name, {range}));
    }
    const std::string& macro = n.name;
    List mapped;
    int count = 0;
    std::optional<Status> error;
    for (const Value& item : items) {
      locals_.emplace_back(n.var, item);
      Result<Value> p = Eval(n.args[1]);
      Result<Value> t = Value();
      if (macro == "map" && n.args.size() == 3 && p && p->is(K::kBool) && p->bool_value()) {
        t = Eval(n.args[2]);
      }
      locals_.pop_back();
      if (macro == "map" && n.args.size() == 2) {
        if (!p) return Err(p.error());
        mapped.push_back(std::move(*p));
        continue;
      }
      if (!p) {
        if (macro == "all" || macro == "exists") {
          if (!error) error = p.error();
          continue;
        }
        return Err(p.error());
      }
      if (!p->is(K::kBool)) return Err(NoOverload(macro, {*p}));
      const bool b = p->bool_value();
      if (macro == "all" && !b) return Value::Bool(false);
      if (macro == "exists" && b) return Value::Bool(true);
      if (macro == "exists_one" && b) ++count;
      if (macro == "filter" && b) mapped.push_back(item);
      if (macro == "map" && b) {
        if (!t) return Err(t.error());
        mapped.push_back(std::move(*t));
      }
    }
    if (error) return Err(*error);
    if (macro == "all") return Value::Bool(true);
    if (macro == "exists") return Value::Bool(false);
    if (macro == "exists_one") return Value::Bool(count == 1);
    return Value::OfList(std::move(mapped));
  }

  static Result<Value> Operator(const std::string& fn, const std::vector<Value>& args) {
    if (fn == "!_") {
      if (!args[0].is(K::kBool)) return Err(NoOverload(fn, args));
      return Value::Bool(!args[0].bool_value());
    }
    if (fn == "-_") {
      const Value& a = args[0];
      if (a.is(K::kInt)) {
        if (a.int_value() == INT64_MIN) return Err(InvalidArgumentError("integer overflow"));
        return Value::Int(-a.int_value());
      }
      if (a.is(K::kDouble)) return Value::Double(-a.double_value());
      if (a.is(K::kDuration)) return CheckedDuration(-a.duration_value().nanos);
      return Err(NoOverload(fn, args));
    }
    if (fn == "_==_") return Value::Bool(Equal(args[0], args[1]));
    if (fn == "_!=_") return Value::Bool(!Equal(args[0], args[1]));
    if (fn == "_<_" || fn == "_<=_" || fn == "_>_" || fn == "_>=_") {
      BULWARK_ASSIGN_OR_RETURN(int c, Compare(args[0], args[1]));
      if (fn == "_<_") return Value::Bool(c < 0);
      if (fn == "_<=_") return Value::Bool(c <= 0);
      if (fn == "_>_") return Value::Bool(c > 0);
      return Value::Bool(c >= 0);
    }
    if (fn == "@in") {
      const Value& c = args[1];
      if (c.is(K::kList)) {
        for (const Value& e : c.list()) {
          if (Equal(e, args[0])) return Value::Bool(true);
        }
        return Value::Bool(false);
      }
      if (c.is(K::kMap)) return Value::Bool(c.Find(args[0]) != nullptr);
      return Err(NoOverload("@in", args));
    }
    if (fn.size() == 3 && fn[0] == '_' && fn[2] == '_') return Arithmetic(fn, args[0], args[1]);
    return Call(fn, args);
  }

  const Activation& vars_;
  std::vector<std::pair<std::string_view, Value>> locals_;
  int steps_ = 0;
};

}  // namespace

Result<Program> Program::Compile(std::string_view expression) {
  std::vector<std::string> identifiers;
  BULWARK_ASSIGN_OR_RETURN(Node root, ParseExpression(expression, identifiers));
  Program p;
  p.root_ = std::make_shared<const Node>(std::move(root));
  p.identifiers_.insert(identifiers.begin(), identifiers.end());
  return p;
}

Result<Value> Program::Evaluate(const Activation& vars) const {
  return Evaluator(vars).Eval(*root_);
}

}  // namespace bulwark::policy::cel

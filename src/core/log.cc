#include "core/log.h"
#include "core/log_throttle.h"

#include <fmt/chrono.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace bulwark::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

spdlog::logger& Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = std::make_shared<spdlog::logger>("bulwark",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *logger;
}

// Length of the valid UTF-8 sequence at s[i] (s[i] >= 0x80), or 0 if invalid:
// truncated, overlong, a surrogate or beyond U+10FFFF.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  }
  if (n == 2 && c < 0xc2) return 0;
  if (n == 3 && c == 0xe0 && b(i + 1) < 0xa0) return 0;
  if (n == 3 && c == 0xed && b(i + 1) >= 0xa0) return 0;
  if (n == 4 && c == 0xf0 && b(i + 1) < 0x90) return 0;
  if (n == 4 && (c > 0xf4 || (c == 0xf4 && b(i + 1) >= 0x90))) return 0;
  return n;
}

uint32_t DecodeUtf8(std::string_view s, size_t i, size_t n) {
  auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(s[k])); };
  if (n == 2) return ((b(i) & 0x1f) << 6) | (b(i + 1) & 0x3f);
  if (n == 3) return ((b(i) & 0x0f) << 12) | ((b(i + 1) & 0x3f) << 6) | (b(i + 2) & 0x3f);
  return ((b(i) & 0x07) << 18) | ((b(i + 1) & 0x3f) << 12) | ((b(i + 2) & 0x3f) << 6) |
         (b(i + 3) & 0x3f);
}

// Valid JSON unescaped, but a line break or a reordering of the text to some
// reader of the file: C1 controls (NEL among them), LRM/RLM, LINE and
// PARAGRAPH SEPARATOR, the bidi embeddings, overrides and isolates.
bool MustEscape(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

void AppendUnicodeEscape(uint32_t cp, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  char buf[6] = {
      '\\',          'u', kHex[(cp >> 12) & 0xf], kHex[(cp >> 8) & 0xf], kHex[(cp >> 4) & 0xf],
      kHex[cp & 0xf]};
  out.append(buf, sizeof(buf));
}

// Bytes copied as they are: printable ASCII except '"' and '\\'.
constexpr auto kPlainAscii = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x7f; ++c) plain[c] = c != '"' && c != '\\';
  return plain;
}();

bool IsPlainAscii(unsigned char c) { return kPlainAscii[c]; }

// The index of the first byte at or after `i` that is not plain ASCII, or
// s.size(): sixteen bytes at a time where SSE2 is there (an audit record is
// a few hundred bytes of strings, almost all of them plain).
size_t PlainRunEnd(std::string_view s, size_t i) {
#if defined(__SSE2__)
  const auto special = [](__m128i v) {
    const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
    const __m128i below = _mm_set1_epi8(static_cast<char>(0x20 ^ 0x80));
    // Below 0x20, 0x7f and above (negative as signed bytes), '"' and '\\'.
    return _mm_movemask_epi8(
        _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(_mm_xor_si128(v, flip), below),
                                  _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)),
                                               _mm_cmplt_epi8(v, _mm_setzero_si128()))),
                     _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                  _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')))));
  };
  for (; i + 16 <= s.size(); i += 16) {
    const int mask = special(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i)));
    if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
  // 8 to 15 bytes left (most of an audit record's strings): two overlapping
  // words in one vector; all plain is the usual answer.
  if (const size_t left = s.size() - i; left >= 8) {
    uint64_t head, tail;
    std::memcpy(&head, s.data() + i, 8);
    std::memcpy(&tail, s.data() + s.size() - 8, 8);
    if (special(_mm_set_epi64x(static_cast<int64_t>(tail), static_cast<int64_t>(head))) == 0) {
      return s.size();
    }
  }
#endif
  while (i < s.size() && IsPlainAscii(static_cast<unsigned char>(s[i]))) ++i;
  return i;
}

void AppendLine(std::string& out, Level level, std::string_view event,
                std::initializer_list<Field> fields) {
  out += "\"level\":\"";
  out += LevelName(level);
  out += "\",\"msg\":";
  AppendJsonString(out, event);
  for (const Field& f : fields) {
    out += ',';
    AppendJsonString(out, f.key());
    out += ':';
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string_view>) {
            AppendJsonString(out, v);
          } else if constexpr (std::is_same_v<T, bool>) {
            out += v ? "true" : "false";
          } else if constexpr (std::is_same_v<T, double>) {
            if (std::isfinite(v)) {
              out += fmt::format("{}", v);
            } else {
              out += "null";
            }
          } else {
            out += fmt::format("{}", v);
          }
        },
        f.value());
  }
  out += '}';
}

}  // namespace

void SetLevel(Level level) { g_level.store(static_cast<int>(level), std::memory_order_relaxed); }

bool ParseLevel(std::string_view name, Level* out) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (name == LevelName(l)) {
      *out = l;
      return true;
    }
  }
  return false;
}

bool Enabled(Level level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

bool IsPlainJsonText(std::string_view s) { return PlainRunEnd(s, 0) == s.size(); }

void AppendJsonString(std::string& out, std::string_view s) {
  size_t i = PlainRunEnd(s, 0);
  if (i == s.size()) {  // nothing to escape, the usual case: one copy
    const size_t at = out.size();
    const size_t total = at + s.size() + 2;
    out.resize_and_overwrite(total, [&](char* p, size_t) {
      p[at] = '"';
      std::copy(s.begin(), s.end(), p + at + 1);  // a view may be empty and null
      p[total - 1] = '"';
      return total;
    });
    return;
  }
  out += '"';
  out.append(s.substr(0, i));
  while (i < s.size()) {
    const size_t run = PlainRunEnd(s, i);
    out.append(s.substr(i, run - i));
    i = run;
    if (i == s.size()) break;
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        AppendUnicodeEscape(0xfffd, out);
        ++i;
        continue;
      }
      uint32_t cp = DecodeUtf8(s, i, n);
      if (MustEscape(cp)) {
        AppendUnicodeEscape(cp, out);
      } else {
        out.append(s.substr(i, n));
      }
      i += n;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:  // other C0 controls and DEL
        AppendUnicodeEscape(c, out);
    }
    ++i;
  }
  out += '"';
}

std::string FormatForTest(Level level, std::string_view event,
                          std::initializer_list<Field> fields) {
  std::string out = "{";
  AppendLine(out, level, event, fields);
  return out;
}

std::optional<int64_t> Throttle::Pass() {
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  auto next = next_.load(std::memory_order_relaxed);
  if (now < next || !next_.compare_exchange_strong(next, now + every_, std::memory_order_relaxed)) {
    held_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  return held_.exchange(0, std::memory_order_relaxed);
}

void Write(Level level, std::string_view event, std::initializer_list<Field> fields) {
  auto now = std::chrono::system_clock::now();
  std::string out = fmt::format("{{\"ts\":\"{:%Y-%m-%dT%H:%M:%S}Z\",",
                                std::chrono::floor<std::chrono::milliseconds>(now));
  AppendLine(out, level, event, fields);
  Logger().log(spdlog::level::info, out);
}

}  // namespace bulwark::log

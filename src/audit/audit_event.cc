#include "audit/audit_event.h"

#include <array>
#include <charconv>
#include <cstdint>

namespace bulwark::audit {
namespace {

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

void AppendInt(int64_t v, std::string& out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, end);
}

// system_clock counts nanoseconds in an int64 (years 1677..2262), so the
// year always has four digits.
void AppendTime(std::chrono::system_clock::time_point t, std::string& out) {
  using namespace std::chrono;
  auto us = floor<microseconds>(t);
  auto day = floor<days>(us);
  year_month_day ymd{day};
  hh_mm_ss<microseconds> hms{us - day};
  char buf[] = "\"YYYY-MM-DDTHH:MM:SS.ffffffZ\"";
  auto put = [&](size_t at, int64_t v, int width) {
    for (int k = width - 1; k >= 0; --k, v /= 10) buf[at + k] = static_cast<char>('0' + v % 10);
  };
  put(1, static_cast<int>(ymd.year()), 4);
  put(6, static_cast<unsigned>(ymd.month()), 2);
  put(9, static_cast<unsigned>(ymd.day()), 2);
  put(12, hms.hours().count(), 2);
  put(15, hms.minutes().count(), 2);
  put(18, hms.seconds().count(), 2);
  put(21, hms.subseconds().count(), 6);
  out.append(buf, sizeof(buf) - 1);
}

// `key` is written with its punctuation: AppendField(",\"host\":", ...).
void AppendField(std::string_view key, std::string_view value, std::string& out) {
  out += key;
  AppendAuditJsonString(value, out);
}

}  // namespace

std::string_view AuditDecisionName(AuditDecision decision) {
  return decision == AuditDecision::kAllow ? "allow" : "deny";
}

void AppendAuditJsonString(std::string_view s, std::string& out) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    size_t run = i;
    while (run < s.size() && IsPlainAscii(static_cast<unsigned char>(s[run]))) ++run;
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

void AppendJsonLine(const AuditEvent& event, std::string& out) {
  size_t strings = event.request_id.size() + event.subject.size() + event.issuer.size() +
                   event.credential_kind.size() + event.action.size() + event.resource.size() +
                   event.route.size() + event.host.size() + event.client_ip.size() +
                   event.reason.size();
  out.reserve(out.size() + strings + 256);  // exact unless escaping expands
  out += "{\"time\":";
  AppendTime(event.time, out);
  AppendField(",\"request_id\":", event.request_id, out);
  AppendField(",\"subject\":", event.subject, out);
  AppendField(",\"issuer\":", event.issuer, out);
  AppendField(",\"credential_kind\":", event.credential_kind, out);
  AppendField(",\"action\":", event.action, out);
  AppendField(",\"resource\":", event.resource, out);
  AppendField(",\"route\":", event.route, out);
  AppendField(",\"host\":", event.host, out);
  AppendField(",\"client_ip\":", event.client_ip, out);
  AppendField(",\"decision\":", AuditDecisionName(event.decision), out);
  out += ",\"status\":";
  AppendInt(event.status, out);
  AppendField(",\"reason\":", event.reason, out);
  out += ",\"latency_us\":";
  AppendInt(event.latency.count(), out);
  out += "}\n";
}

}  // namespace bulwark::audit

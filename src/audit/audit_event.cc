#include "audit/audit_event.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <utility>

#include "core/log.h"

namespace bulwark::audit {
namespace {

void AppendInt(int64_t v, std::string& out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, end);
}

// system_clock counts nanoseconds in an int64 (years 1677..2262), so the
// year always has four digits: "YYYY-MM-DDTHH:MM:SS.ffffffZ", quoted.
constexpr size_t kTimeSize = 29;

void PutDigits(char* at, int64_t v, int width) {
  for (int k = width - 1; k >= 0; --k, v /= 10) at[k] = static_cast<char>('0' + v % 10);
}

char* PutTime(std::chrono::system_clock::time_point t, char* w) {
  using namespace std::chrono;
  const auto us = floor<microseconds>(t);
  const auto second = floor<seconds>(us);
  // Events come many to a second: each thread formats the date and time of
  // day once per second, and each event only its microseconds.
  thread_local struct {
    seconds::rep second = std::numeric_limits<seconds::rep>::min();
    char text[kTimeSize] = {};
  } cache;
  if (cache.second != second.time_since_epoch().count()) {
    const auto day = floor<days>(second);
    const year_month_day ymd{day};
    const hh_mm_ss<seconds> hms{second - day};
    static constexpr char kPattern[] = "\"YYYY-MM-DDTHH:MM:SS.ffffffZ\"";
    static_assert(sizeof(kPattern) - 1 == kTimeSize);
    std::memcpy(cache.text, kPattern, kTimeSize);
    PutDigits(cache.text + 1, static_cast<int>(ymd.year()), 4);
    PutDigits(cache.text + 6, static_cast<unsigned>(ymd.month()), 2);
    PutDigits(cache.text + 9, static_cast<unsigned>(ymd.day()), 2);
    PutDigits(cache.text + 12, hms.hours().count(), 2);
    PutDigits(cache.text + 15, hms.minutes().count(), 2);
    PutDigits(cache.text + 18, hms.seconds().count(), 2);
    cache.second = second.time_since_epoch().count();
  }
  std::memcpy(w, cache.text, kTimeSize);
  PutDigits(w + 21, (us - second).count(), 6);
  return w + kTimeSize;
}

// The literal text of a line, in order: before the time, before each string's
// opening quote, before each number, and after the last.
constexpr std::string_view kKeys[] = {
    "{\"time\":",      ",\"request_id\":",      ",\"subject\":",
    ",\"issuer\":",    ",\"credential_kind\":", ",\"action\":",
    ",\"resource\":",  ",\"route\":",           ",\"host\":",
    ",\"client_ip\":", ",\"decision\":",        ",\"status\":",
    ",\"reason\":",    ",\"latency_us\":",      "}\n",
};

// The bytes of a line that escapes nothing, but for its strings' contents:
// the keys, the time, two quotes for each of eleven strings, two numbers.
constexpr size_t kFixedLineBytes = [] {
  size_t n = kTimeSize + 11 * 2 + 2 * 20;
  for (std::string_view key : kKeys) n += key.size();
  return n;
}();

// `value` as a JSON string, cut after kMaxFieldBytes (at the start of a
// UTF-8 sequence, so no character is split) and then marked.
void AppendFieldString(std::string& out, std::string_view value) {
  if (value.size() <= kMaxFieldBytes) return log::AppendJsonString(out, value);
  size_t cut = kMaxFieldBytes;
  // Back over at most three continuation bytes to the sequence's lead.
  for (int i = 0; i < 3 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80; ++i) --cut;
  std::string kept(value.substr(0, cut));
  kept.append(kTruncatedMark);
  log::AppendJsonString(out, kept);
}

// Any event, escaping what needs it; AppendJsonLine takes this path only
// when some string does or is longer than kMaxFieldBytes. The same keys
// (kKeys) in the same order.
void AppendEscapedJsonLine(const AuditEventView& event, std::string& out) {
  // The strings kKeys[1] to kKeys[10] come before.
  const std::string_view strings[] = {event.request_id, event.subject,
                                      event.issuer,     event.credential_kind,
                                      event.action,     event.resource,
                                      event.route,      event.host,
                                      event.client_ip,  AuditDecisionName(event.decision)};
  char time[kTimeSize];
  out.append(kKeys[0]).append(time, PutTime(event.time, time));
  for (size_t i = 0; i < std::size(strings); ++i) {
    out += kKeys[i + 1];
    AppendFieldString(out, strings[i]);
  }
  out += kKeys[11];
  AppendInt(event.status, out);
  out += kKeys[12];
  AppendFieldString(out, event.reason);
  out += kKeys[13];
  AppendInt(event.latency.count(), out);
  out += kKeys[14];
}

}  // namespace

std::string_view AuditDecisionName(AuditDecision decision) {
  return decision == AuditDecision::kAllow ? "allow" : "deny";
}

AuditEventView ViewOf(const AuditEvent& event) {
  return {.time = event.time,
          .request_id = event.request_id,
          .subject = event.subject,
          .issuer = event.issuer,
          .credential_kind = event.credential_kind,
          .action = event.action,
          .resource = event.resource,
          .route = event.route,
          .host = event.host,
          .client_ip = event.client_ip,
          .decision = event.decision,
          .status = event.status,
          .reason = event.reason,
          .latency = event.latency};
}

void AppendJsonLine(const AuditEventView& event, std::string& out) {
  const std::string_view decision = AuditDecisionName(event.decision);
  // The usual event escapes nothing: the line is written in place, its
  // length known but for the numbers (at most 20 characters each).
  const std::string_view strings[] = {
      event.request_id, event.subject, event.issuer, event.credential_kind, event.action,
      event.resource,   event.route,   event.host,   event.client_ip,       event.reason};
  size_t size = kFixedLineBytes + decision.size();
  for (std::string_view value : strings) {
    if (value.size() > kMaxFieldBytes || !log::IsPlainJsonText(value)) {
      return AppendEscapedJsonLine(event, out);
    }
    size += value.size();
  }
  const size_t at = out.size();
  out.resize_and_overwrite(at + size, [&](char* p, size_t) {
    // Literal text of a size known here, so that the copy is a few moves.
    const auto key = [](char* w, size_t i) {
      std::memcpy(w, kKeys[i].data(), kKeys[i].size());
      return w + kKeys[i].size();
    };
    const auto quoted = [](char* w, std::string_view text) {
      *w++ = '"';
      std::copy(text.begin(), text.end(), w);  // a view may be empty and null
      w += text.size();
      *w++ = '"';
      return w;
    };
    char* w = PutTime(event.time, key(p + at, 0));
    w = quoted(key(w, 1), event.request_id);
    w = quoted(key(w, 2), event.subject);
    w = quoted(key(w, 3), event.issuer);
    w = quoted(key(w, 4), event.credential_kind);
    w = quoted(key(w, 5), event.action);
    w = quoted(key(w, 6), event.resource);
    w = quoted(key(w, 7), event.route);
    w = quoted(key(w, 8), event.host);
    w = quoted(key(w, 9), event.client_ip);
    w = quoted(key(w, 10), decision);
    w = key(w, 11);
    w = std::to_chars(w, w + 20, event.status).ptr;
    w = quoted(key(w, 12), event.reason);
    w = key(w, 13);
    w = std::to_chars(w, w + 20, event.latency.count()).ptr;
    return key(w, 14) - p;
  });
}

}  // namespace bulwark::audit

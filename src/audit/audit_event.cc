#include "audit/audit_event.h"

#include <charconv>
#include <cstdint>
#include <cstring>
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

char* PutTime(std::chrono::system_clock::time_point t, char* w) {
  using namespace std::chrono;
  auto us = floor<microseconds>(t);
  auto day = floor<days>(us);
  year_month_day ymd{day};
  hh_mm_ss<microseconds> hms{us - day};
  static constexpr char kPattern[] = "\"YYYY-MM-DDTHH:MM:SS.ffffffZ\"";
  static_assert(sizeof(kPattern) - 1 == kTimeSize);
  std::memcpy(w, kPattern, kTimeSize);
  auto put = [&](size_t at, int64_t v, int width) {
    for (int k = width - 1; k >= 0; --k, v /= 10) w[at + k] = static_cast<char>('0' + v % 10);
  };
  put(1, static_cast<int>(ymd.year()), 4);
  put(6, static_cast<unsigned>(ymd.month()), 2);
  put(9, static_cast<unsigned>(ymd.day()), 2);
  put(12, hms.hours().count(), 2);
  put(15, hms.minutes().count(), 2);
  put(18, hms.seconds().count(), 2);
  put(21, hms.subseconds().count(), 6);
  return w + kTimeSize;
}

// `key` is written with its punctuation: AppendField(",\"host\":", ...).
void AppendField(std::string_view key, std::string_view value, std::string& out) {
  out += key;
  log::AppendJsonString(out, value);
}

// Any event, escaping what needs it; AppendJsonLine takes this path only
// when some string does.
void AppendEscapedJsonLine(const AuditEventView& event, std::string& out) {
  out += "{\"time\":";
  char time[kTimeSize];
  out.append(time, PutTime(event.time, time));
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
  // The strings in the order the line carries them, each with the text
  // before its opening quote.
  const std::pair<std::string_view, std::string_view> strings[] = {
      {",\"request_id\":", event.request_id}, {",\"subject\":", event.subject},
      {",\"issuer\":", event.issuer},         {",\"credential_kind\":", event.credential_kind},
      {",\"action\":", event.action},         {",\"resource\":", event.resource},
      {",\"route\":", event.route},           {",\"host\":", event.host},
      {",\"client_ip\":", event.client_ip},   {",\"decision\":", AuditDecisionName(event.decision)},
  };
  size_t size = 0;
  bool plain = true;
  for (const auto& [key, value] : strings) {
    size += key.size() + value.size() + 2;
    plain = plain && log::IsPlainJsonText(value);
  }
  plain = plain && log::IsPlainJsonText(event.reason);
  if (!plain) return AppendEscapedJsonLine(event, out);
  // The usual event escapes nothing: the line is written in place, its
  // length known but for the numbers (at most 20 characters each).
  static constexpr std::string_view kHead = "{\"time\":";
  static constexpr std::string_view kStatus = ",\"status\":";
  static constexpr std::string_view kReason = ",\"reason\":";
  static constexpr std::string_view kLatency = ",\"latency_us\":";
  static constexpr std::string_view kEnd = "}\n";
  size += kHead.size() + kTimeSize + kStatus.size() + 20 + kReason.size() + event.reason.size() +
          2 + kLatency.size() + 20 + kEnd.size();
  const size_t at = out.size();
  out.resize_and_overwrite(at + size, [&](char* p, size_t) {
    const auto put = [](char* w, std::string_view text) {
      std::memcpy(w, text.data(), text.size());
      return w + text.size();
    };
    const auto quoted = [&](char* w, std::string_view text) {
      *w++ = '"';
      w = put(w, text);
      *w++ = '"';
      return w;
    };
    char* w = put(p + at, kHead);
    w = PutTime(event.time, w);
    for (const auto& [key, value] : strings) w = quoted(put(w, key), value);
    w = std::to_chars(put(w, kStatus), w + kStatus.size() + 20, event.status).ptr;
    w = quoted(put(w, kReason), event.reason);
    w = std::to_chars(put(w, kLatency), w + kLatency.size() + 20, event.latency.count()).ptr;
    return put(w, kEnd) - p;
  });
}

}  // namespace bulwark::audit

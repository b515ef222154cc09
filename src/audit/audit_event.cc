#include "audit/audit_event.h"

#include <charconv>
#include <cstdint>

#include "core/log.h"

namespace bulwark::audit {
namespace {

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
  log::AppendJsonString(out, value);
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

void Assign(AuditEvent& event, const AuditEventView& view) {
  event.time = view.time;
  event.request_id.assign(view.request_id);
  event.subject.assign(view.subject);
  event.issuer.assign(view.issuer);
  event.credential_kind.assign(view.credential_kind);
  event.action.assign(view.action);
  event.resource.assign(view.resource);
  event.route.assign(view.route);
  event.host.assign(view.host);
  event.client_ip.assign(view.client_ip);
  event.decision = view.decision;
  event.status = view.status;
  event.reason.assign(view.reason);
  event.latency = view.latency;
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

#include "gateway/decision_recorder.h"

#include <array>
#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "gateway/request_id.h"

namespace bulwark::gateway {

namespace {

// What a listener's refusal of `status` (net::Refusal) means, "" if unknown.
std::string_view ListenerRefusalWhy(int status) {
  switch (status) {
    case 400:
      return "malformed or ambiguous framing";
    case 413:
      return "body too large";
    case 414:
      return "request line too long";
    case 417:
      return "expectation not met";
    case 421:
      return "the connection's client certificate expired or its CA bundle or CRL changed";
    case 431:
      return "header section too large";
    case 501:
      return "method not served";
    case 505:
      return "HTTP version not supported";
  }
  return "";
}

// A bounded label for why a request was refused (the reason itself is free
// text and goes to the audit record only).
std::string_view Outcome(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthenticated";
    case 403:
      return "forbidden";
    case 404:
      return "no_route";
    case 429:
      return "rate_limited";
    default:
      return status < 300 ? "allowed" : "other";
  }
}

std::atomic<uint64_t> next_recorder_id{1};

// The series a request's decision touches, looked up once per thread for
// each (recorder, front end, route, status, decision status) rather than
// through the families' locked maps on every request. Direct-mapped: a
// collision only costs the lookup it would have cost anyway.
struct CachedSeries {
  uint64_t recorder = 0;  // 0: empty
  std::string frontend;
  std::string route;
  int status = 0;
  int decision_status = 0;
  metrics::Counter* requests = nullptr;
  metrics::Counter* decisions = nullptr;
  metrics::Histogram* latency = nullptr;
};
constexpr size_t kSeriesCacheSize = 64;
thread_local std::array<CachedSeries, kSeriesCacheSize> series_cache;

// What of a target that did not normalize the audit records: its path as
// sent, never its query (which may hold a token or a key), nor an
// absolute-form target's authority (which may hold a password).
std::string_view AuditedTarget(std::string_view target) {
  target = target.substr(0, target.find('?'));
  if (target.starts_with('/')) return target;
  const size_t scheme = target.find("://");
  const size_t path = scheme == std::string_view::npos ? scheme : target.find('/', scheme + 3);
  return path == std::string_view::npos ? std::string_view() : target.substr(path);
}

}  // namespace

DecisionRecorder::DecisionRecorder(metrics::MetricsRegistry& registry, audit::AuditQueue* audit)
    : registry_(registry),
      audit_(audit),
      requests_(registry.AddCounterFamily("bulwark_gateway_requests_total",
                                          "Requests the gateway decided, by front end, route "
                                          "and the HTTP status answered (0: none, the server "
                                          "stopped first)",
                                          {"frontend", "route", "code"})),
      decisions_(registry.AddCounterFamily("bulwark_gateway_decisions_total",
                                           "Gateway decisions by outcome", {"outcome"})),
      rate_limited_(registry.AddCounterFamily("bulwark_gateway_rate_limited_total",
                                              "Requests refused by the route's rate limit",
                                              {"route"})),
      pre_auth_limited_(registry.AddCounterFamily(
          "bulwark_gateway_pre_auth_limited_total",
          "Requests refused by the pre-auth limit, before their credentials were checked",
          {"route"})),
      upstream_errors_(registry.AddCounterFamily("bulwark_gateway_upstream_errors_total",
                                                 "Upstream requests that failed, or whose "
                                                 "streamed answer was cut short",
                                                 {"upstream"})),
      tunnels_(registry.AddCounterFamily("bulwark_gateway_tunnels_total",
                                         "WebSocket tunnels opened to the upstream", {"upstream"})),
      tunnels_open_(registry.AddGaugeFamily("bulwark_gateway_tunnels_open",
                                            "WebSocket tunnels open to the upstream now",
                                            {"upstream"})),
      rate_limit_keys_(registry.AddGaugeFamily(
          "bulwark_gateway_rate_limit_keys",
          "Keys a rate limit holds now, live or idle and not yet swept", {"route"})),
      rate_limit_key_bytes_(registry.AddGaugeFamily(
          "bulwark_gateway_rate_limit_key_bytes",
          "Heap a rate limit's key tables hold now, free entries and buckets included", {"route"})),
      rate_limit_key_refusals_(registry.AddCounterFamily(
          "bulwark_gateway_rate_limit_key_refusals_total",
          "Requests a rate limit refused because it held its max_keys live keys", {"route"})),
      latency_(registry.AddHistogramFamily("bulwark_gateway_request_duration_seconds",
                                           "Time from request to answer in the gateway",
                                           {"frontend"})),
      audit_written_(
          registry.AddGauge("bulwark_audit_events_written", "Audit events written to the sink")),
      audit_dropped_(registry.AddGauge("bulwark_audit_events_dropped",
                                       "Audit events dropped because the queue was full")),
      audit_lost_(registry.AddGauge("bulwark_audit_events_lost",
                                    "Audit events in batches the sink failed to write")),
      audit_write_errors_(
          registry.AddGauge("bulwark_audit_write_errors", "Writes of audit batches that failed")),
      id_(next_recorder_id.fetch_add(1)) {}

void DecisionRecorder::Record(std::string_view frontend, const RequestFacts& request,
                              const Decision& decision, int status,
                              std::chrono::nanoseconds latency) {
  const std::string_view route = decision.route_name();
  const size_t slot = (std::hash<std::string_view>{}(route) ^ static_cast<size_t>(status) * 31 ^
                       static_cast<size_t>(decision.status) * 131 ^ frontend.size()) %
                      kSeriesCacheSize;
  CachedSeries& cached = series_cache[slot];
  if (cached.recorder != id_ || cached.status != status ||
      cached.decision_status != decision.status || cached.route != route ||
      cached.frontend != frontend) {
    const std::string code = std::to_string(status);
    cached.recorder = id_;
    cached.frontend = frontend;
    cached.route = route;
    cached.status = status;
    cached.decision_status = decision.status;
    cached.requests = &requests_.WithLabels({frontend, route, code});
    cached.decisions = &decisions_.WithLabels({Outcome(decision.status)});
    cached.latency = &latency_.WithLabels({frontend});
  }
  cached.requests->Increment();
  cached.decisions->Increment();
  if (decision.status == 429) {
    (decision.pre_auth_limited ? pre_auth_limited_ : rate_limited_).WithLabels({route}).Increment();
    if (!decision.refused_for_room.empty()) {
      rate_limit_key_refusals_.WithLabels({decision.refused_for_room}).Increment();
    }
  }
  cached.latency->ObserveDuration(latency);
  if (audit_ == nullptr) return;

  audit::AuditEventView event{
      .time = std::chrono::system_clock::now(),
      .request_id = decision.request_id,
      .action = request.method,
      .resource =
          decision.path.empty() ? AuditedTarget(request.target) : std::string_view(decision.path),
      .route = decision.route_name(),
      // The host routed and authorized on, which the service got as Host.
      .host = decision.RoutedHost(request.host),
      .client_ip = request.client_ip,
      .decision = decision.allowed() ? audit::AuditDecision::kAllow : audit::AuditDecision::kDeny,
      .status = status,
      .reason = decision.reason,
      .latency = std::chrono::duration_cast<std::chrono::microseconds>(latency)};
  if (const Principal* p = decision.principal.get()) {
    event.subject = p->subject();
    event.issuer = p->issuer();
    event.credential_kind = CredentialKindName(p->credential());
  }
  (void)audit_->TryEnqueue(event);  // copied into the queue; a full queue drops and counts
}

void DecisionRecorder::ListenerRefused(int status, std::string_view method, std::string_view target,
                                       std::string_view client_ip) {
  Decision decision;
  decision.status = status;
  // Its own id, as every audited decision has, though its answer (generic,
  // written by the listener) does not carry it.
  decision.request_id = NewRequestId();
  decision.reason = "refused by the listener";
  if (const std::string_view why = ListenerRefusalWhy(status); !why.empty()) {
    decision.reason.append(": ").append(why);
  }
  const RequestFacts facts{.method = method, .target = target, .client_ip = client_ip};
  Record("listener", facts, decision, status, std::chrono::nanoseconds(0));
}

void DecisionRecorder::UpstreamError(std::string_view upstream) {
  upstream_errors_.WithLabels({upstream}).Increment();
}

void DecisionRecorder::TunnelOpened(std::string_view upstream) {
  tunnels_.WithLabels({upstream}).Increment();
  tunnels_open_.WithLabels({upstream}).Increment();
}

void DecisionRecorder::TunnelClosed(std::string_view upstream) {
  tunnels_open_.WithLabels({upstream}).Decrement();
}

void DecisionRecorder::RefreshAuditGauges() {
  if (audit_ == nullptr) return;
  audit_written_.Set(static_cast<double>(audit_->written()));
  audit_dropped_.Set(static_cast<double>(audit_->dropped()));
  audit_lost_.Set(static_cast<double>(audit_->lost()));
  audit_write_errors_.Set(static_cast<double>(audit_->write_errors()));
}

void DecisionRecorder::RefreshRateLimitGauges(const Gateway& gateway) {
  for (const Gateway::LimiterStats& limiter : gateway.RateLimiterStats()) {
    rate_limit_keys_.WithLabels({limiter.name}).Set(static_cast<double>(limiter.stats.keys));
    rate_limit_key_bytes_.WithLabels({limiter.name})
        .Set(static_cast<double>(limiter.stats.heap_bytes));
    rate_limit_key_refusals_.WithLabels({limiter.name});  // shown from the start, at 0
  }
}

void DecisionRecord::Answered(int status) {
  if (recorded_) return;
  recorded_ = true;
  if (recorder_ != nullptr) {
    recorder_->Record(frontend_, facts_, decision_, status,
                      std::chrono::steady_clock::now() - start_);
  }
}

DecisionRecord::~DecisionRecord() {
  if (recorded_ || recorder_ == nullptr) return;
  // Unwinding for an error the server answers (500) itself, or destroyed
  // with the server's io threads past the drain timeout.
  // (Destroyed on another thread, the one stopping the server, it was cut:
  // that thread's own unwinding says nothing of this handler.)
  const bool error =
      std::this_thread::get_id() == thread_ && std::uncaught_exceptions() > exceptions_;
  try {
    decision_.reason.append(decision_.reason.empty() ? "" : "; ")
        .append(error ? "no answer: the handler failed" : "no answer: the server stopped first");
    recorder_->Record(frontend_, facts_, decision_, error ? 500 : 0,
                      std::chrono::steady_clock::now() - start_);
  } catch (...) {
    // A destructor must not throw; the record is lost, as with a full queue.
  }
}

}  // namespace bulwark::gateway

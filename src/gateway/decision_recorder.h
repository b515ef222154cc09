// DecisionRecorder: every gateway decision leaves an audit event (queued,
// never blocking the request path) and updates the Prometheus metrics.
// Thread-safe.
#ifndef BULWARK_GATEWAY_DECISION_RECORDER_H_
#define BULWARK_GATEWAY_DECISION_RECORDER_H_

#include <chrono>
#include <exception>
#include <string_view>
#include <thread>

#include "audit/audit_queue.h"
#include "core/metrics.h"
#include "gateway/gateway.h"

namespace bulwark::gateway {

class DecisionRecorder {
 public:
  // `audit` may be null (no audit file configured). Both must outlive this.
  DecisionRecorder(metrics::MetricsRegistry& registry, audit::AuditQueue* audit);

  // `frontend` says who asked: "proxy", "nginx", "envoy", "traefik", or
  // "listener" (ListenerRefused).
  // `status` is what the client finally got (e.g. 502 from the upstream).
  void Record(std::string_view frontend, const RequestFacts& request, const Decision& decision,
              int status, std::chrono::nanoseconds latency);
  // A request to the upstream that failed, or a streamed answer from it that
  // ended short of its end (cut, misframed or stalled after its head).
  void UpstreamError(std::string_view upstream);
  // A WebSocket tunnel to the upstream opened (after its 101) and closed.
  void TunnelOpened(std::string_view upstream);
  void TunnelClosed(std::string_view upstream);
  // A request the listener refused before any handler saw it (a smuggling
  // shape, a limit passed: net::RefusedRequest), audited and counted as a
  // decision of the frontend "listener" with no route. `method` and
  // `target` may be empty (refused before the request line was whole).
  void ListenerRefused(int status, std::string_view method, std::string_view target,
                       std::string_view client_ip);
  // Copies the audit queue's counters into their gauges (call before a scrape).
  void RefreshAuditGauges();
  // Copies the keys each of the gateway's rate limiters holds into its
  // gauge (call before a scrape), and shows each limiter's count of
  // refusals for want of room (which Record counts) from zero.
  void RefreshRateLimitGauges(const Gateway& gateway);
  // Where other gateway parts (health checks) register their metrics.
  metrics::MetricsRegistry& registry() { return registry_; }

 private:
  metrics::MetricsRegistry& registry_;
  audit::AuditQueue* audit_;
  metrics::CounterFamily& requests_;
  metrics::CounterFamily& decisions_;
  metrics::CounterFamily& rate_limited_;
  metrics::CounterFamily& pre_auth_limited_;
  metrics::CounterFamily& upstream_errors_;
  metrics::CounterFamily& tunnels_;
  metrics::GaugeFamily& tunnels_open_;
  metrics::GaugeFamily& rate_limit_keys_;
  metrics::GaugeFamily& rate_limit_key_bytes_;
  metrics::CounterFamily& rate_limit_key_refusals_;  // counted by Record
  metrics::HistogramFamily& latency_;
  metrics::Gauge& audit_written_;
  metrics::Gauge& audit_dropped_;
  metrics::Gauge& audit_lost_;
  metrics::Gauge& audit_write_errors_;
  // Tells this recorder's entries in the per-thread series cache (see
  // Record) from any other recorder's, past or present.
  const uint64_t id_;
};

// A handler's decision, recorded once: when the handler has its answer
// (Answered), or else when the handler's coroutine is destroyed without one
// — the server stopped past its drain timeout while the request waited on
// its service or on a key refetch. Such a request is audited with status 0
// (its client got no answer) and a reason saying so, its decision kept.
// `recorder` may be null; `facts` and `decision` must outlive this.
class DecisionRecord {
 public:
  DecisionRecord(DecisionRecorder* recorder, std::string_view frontend, const RequestFacts& facts,
                 Decision& decision, std::chrono::steady_clock::time_point start)
      : recorder_(recorder),
        frontend_(frontend),
        facts_(facts),
        decision_(decision),
        start_(start),
        thread_(std::this_thread::get_id()),
        exceptions_(std::uncaught_exceptions()) {}
  DecisionRecord(const DecisionRecord&) = delete;
  DecisionRecord& operator=(const DecisionRecord&) = delete;
  ~DecisionRecord();

  // Records the decision with the status the client is answered with.
  void Answered(int status);

 private:
  DecisionRecorder* recorder_;
  std::string_view frontend_;
  const RequestFacts& facts_;
  Decision& decision_;
  std::chrono::steady_clock::time_point start_;
  std::thread::id thread_;
  int exceptions_;
  bool recorded_ = false;
};

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_DECISION_RECORDER_H_

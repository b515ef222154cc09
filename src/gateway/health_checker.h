// HealthChecker: active health checks of upstream endpoints. Background
// threads GET each endpoint's health path every interval (over TLS with the
// upstream's own trust and client certificate when it is a TLS upstream),
// up to kMaxCheckThreads endpoints at a time (the one due longest first),
// so an endpoint that hangs to its timeout holds up the others' checks only
// when as many hang at once; after `unhealthy_threshold` consecutive failures (no
// answer, timeout, a status outside 200..399) the endpoint is unhealthy and
// the proxy sends it nothing (503 at once if no other endpoint of its
// upstream is up); after `healthy_threshold` consecutive successes it is
// healthy again. Endpoints start healthy, and the first check runs at once.
// Endpoints may be added and removed while it runs (as a name's addresses
// change).
// Transitions are logged and exported as the gauge
// bulwark_gateway_upstream_healthy{upstream,endpoint}.
#ifndef BULWARK_GATEWAY_HEALTH_CHECKER_H_
#define BULWARK_GATEWAY_HEALTH_CHECKER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "net/http_fetch.h"

namespace bulwark::gateway {

struct HealthCheckOptions {
  std::string path = "/healthz";
  std::chrono::milliseconds interval{std::chrono::seconds(5)};
  std::chrono::milliseconds timeout{std::chrono::seconds(1)};
  int unhealthy_threshold = 2;
  int healthy_threshold = 1;
};

// The URL an endpoint at `host` (an IPv6 literal without brackets) and
// `port` is checked at: its scheme, the authority, `path`.
std::string HealthCheckUrl(bool tls, std::string_view host, uint16_t port, std::string_view path);

class HealthChecker {
 public:
  struct Target {
    std::string name;         // the upstream's name
    std::string endpoint;     // the endpoint's host:port
    std::string url;          // what to GET
    net::FetchOptions fetch;  // trust, client certificate, timeout
    HealthCheckOptions options;
  };

  // One endpoint's checks, as added; whether it passes is read lock-free.
  class Check {
   public:
    explicit Check(Target target) : target_(std::move(target)) {}
    bool healthy() const { return healthy_.load(std::memory_order_relaxed); }

   private:
    friend class HealthChecker;
    const Target target_;
    std::atomic<bool> healthy_{true};
    int successes_ = 0;  // consecutive; the thread checking it only
    int failures_ = 0;
    std::chrono::steady_clock::time_point next_check_;  // guarded by mu_
    bool checking_ = false;                             // guarded by mu_
    bool removed_ = false;                              // guarded by mu_
    std::shared_ptr<metrics::Gauge> gauge_;  // removed from /metrics with the last of its label
  };

  // Endpoints checked at once, at most (a thread each, mostly asleep).
  static constexpr size_t kMaxCheckThreads = 8;

  // Starts checking `targets` (see Healthy). `registry` (may be null) gets
  // the health gauge.
  HealthChecker(std::vector<Target> targets, metrics::MetricsRegistry* registry);
  ~HealthChecker();  // stops the threads (waits for the checks in flight)

  // Starts checking one more endpoint (the first check at once): an
  // endpoint a name came to resolve to. Thread-safe.
  std::shared_ptr<const Check> Add(Target target);
  // Stops checking `check`'s endpoint (one gone from its name's
  // addresses): a check in flight changes neither its state nor its gauge
  // (which may be another endpoint's by then); whoever holds it still
  // reads its last state. Its gauge's series leaves /metrics unless another
  // endpoint checked has its labels. Thread-safe.
  void Remove(const Check* check);

  // Whether target `index` of those given to the constructor is healthy.
  // Lock-free.
  bool Healthy(size_t index) const { return initial_[index]->healthy(); }

 private:
  void Run();
  void Probe(Check& check);

  metrics::GaugeFamily* gauges_ = nullptr;
  std::vector<std::shared_ptr<Check>> initial_;  // the constructor's, in order
  std::mutex mu_;
  std::vector<std::shared_ptr<Check>> checks_;  // guarded by mu_
  std::condition_variable wake_;
  bool stop_ = false;                 // guarded by mu_
  std::vector<std::thread> threads_;  // guarded by mu_
};

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_HEALTH_CHECKER_H_

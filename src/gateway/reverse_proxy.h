// ReverseProxy: the gateway in the data path. Each request gets the
// Gateway's decision; a denial is answered at once, an allowed request is
// forwarded to its route's upstream over pooled keep-alive connections with
// the normalized path, the verified identity headers, and without hop-by-hop
// headers or client-sent identity headers. Includes Asio (HTTP-facing).
#ifndef BULWARK_GATEWAY_REVERSE_PROXY_H_
#define BULWARK_GATEWAY_REVERSE_PROXY_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "gateway/decision_recorder.h"
#include "gateway/gateway.h"
#include "gateway/health_checker.h"
#include "gateway/identity_token.h"
#include "gateway/retry_policy.h"
#include "guard/circuit_breaker.h"
#include "guard/retry_budget.h"
#include "net/http_server.h"
#include "net/upstream_pool.h"

namespace bulwark::gateway {

// One endpoint of an upstream.
struct UpstreamAddress {
  std::string host;
  uint16_t port = 0;
  // Its share of the requests against the others' (1 to 100): an endpoint
  // of weight 3 gets three for another's one. A name of several addresses
  // gives each of them this weight.
  int weight = 1;
};

struct UpstreamConfig {
  std::string name;
  // Timeouts and TLS for every endpoint (its host and port are each
  // endpoint's, from `addresses`).
  net::UpstreamOptions options;
  // At least one. Endpoints the upstream's requests take turns over (round
  // robin), each with its own connections, circuit breaker and health
  // checks; a request goes to the next one that is healthy and admits it.
  std::vector<UpstreamAddress> addresses;
  // How the next endpoint is chosen among those that are up: in turn (by
  // weight), or the one with the fewest requests in flight for its weight,
  // streams and tunnels to their end (of two drawn by weight when there are
  // more than four; ties in turn).
  enum class Balance { kRoundRobin, kLeastRequest };
  Balance balance = Balance::kRoundRobin;
  // Consecutive failures (no connection, timeout, 502/503/504) that stop
  // traffic to an endpoint for open_duration, then probe; each endpoint has
  // its own breaker (503 at once when none admits a request).
  guard::CircuitBreakerOptions breaker;
  // Active health checks, of each endpoint; none = the breakers alone judge.
  std::optional<HealthCheckOptions> health_check;
  // How often a name among `addresses` is looked up again, its endpoints
  // following its addresses as they change (as Envoy's strict DNS, and
  // nginx's `resolve`): one gone takes no new request, and its idle
  // connections close; one new is added with a breaker and health checks
  // of its own. A lookup that fails keeps the last addresses (none, if
  // the name has not resolved since start: requests only it could take
  // are answered 503 until it does). Zero: names are looked up once, at
  // start, and must resolve then. IP literals never are.
  std::chrono::milliseconds dns_refresh{5000};
  // Unset: a request goes on to the next endpoint when no connection could
  // be made, or (idempotent) when its connection was lost before any of an
  // answer came, each endpoint once, with no budget.
  std::optional<RetryPolicy> retry;
};

class ReverseProxy {
 public:
  // `gateway` must outlive the proxy. kInvalidArgument if a name looked up
  // once (dns_refresh zero) does not resolve, an upstream's TLS files do not
  // load, or a route names an unknown upstream. A name looked up again that
  // does not resolve yet is logged and has no endpoint until it does.
  // `recorder` (may be null) must outlive the proxy too.
  static Result<std::unique_ptr<ReverseProxy>> Create(const Gateway& gateway,
                                                      std::vector<UpstreamConfig> upstreams,
                                                      DecisionRecorder* recorder = nullptr,
                                                      const Clock& clock = SystemClock::Default());
  ~ReverseProxy();

  // Answers one request; run on an io thread (pools are per thread).
  // A request that came over TLS is forwarded with X-Forwarded-Proto: https,
  // and its verified client certificate counts as the mTLS credential.
  boost::asio::awaitable<net::HttpResponse> Handle(net::HttpRequest& request) const;

  // Sends each authenticated request's principal to its upstream as a signed
  // X-Bulwark-Identity token too (see identity_token.h). Call before serving;
  // `signer` must outlive the proxy.
  void SetIdentitySigner(const IdentityTokenSigner* signer) { identity_ = signer; }

 private:
  struct Upstream;
  struct Endpoint;
  struct Members;
  struct View;
  static constexpr size_t kNoUpstream = static_cast<size_t>(-1);
  // Where a route's requests go on, and what of them is sent again.
  struct RouteForward {
    size_t upstream = kNoUpstream;  // into upstreams_; none: forward-auth only
    // The route's policy, else its upstream's (the default one if neither
    // has a block), its statuses sorted.
    RetryPolicy retry;
    // A policy is configured: a try may return to an endpoint after a
    // backoff, retries ask the upstream's budget, and all tries stay
    // within response_timeout.
    bool revisit = false;
    // The route's, else the upstream's: each try's wait for its answer,
    // and with a policy every try's.
    std::chrono::milliseconds response_timeout{0};
  };
  ReverseProxy(const Gateway& gateway, DecisionRecorder* recorder, const Clock& clock);
  // Tries in all, the first included, for a request of `forward`'s route
  // while its upstream has `endpoints`: without a policy each endpoint
  // once; with one, as it says, or one per endpoint and at least two.
  static int MaxTries(const RouteForward& forward, size_t endpoints);
  // This io thread's view of upstream `index`'s endpoints, renewed when
  // they have changed since it was last taken. A request holds the view it
  // sent to, so that its endpoint and pool outlive a change.
  const std::shared_ptr<View>& CurrentView(size_t index) const;
  // Forwarding an allowed request is three steps, so that only the middle
  // one, awaited in Handle, is a coroutine.
  // Fills `upstream_request`, `view` and `chosen` (the endpoint's place in
  // it, of the route's upstream) and `admission` (by its circuit breaker),
  // or returns the response to answer instead (no such upstream, or none
  // of its endpoints is up).
  std::optional<net::HttpResponse> PrepareForward(
      net::HttpRequest& request, bool tls, std::string_view host, Decision& decision,
      net::HttpRequest& upstream_request, std::shared_ptr<View>& view, size_t& chosen,
      guard::CircuitBreaker::Admission& admission) const;
  // Whether `endpoint` may be given a request: not one of `tried` (by
  // serial), and healthy if it is checked. (Its breaker is asked last, as
  // admitting may take a half-open probe's slot.)
  static bool Eligible(const Endpoint& endpoint, std::span<const uint64_t> tried);
  // The place in `view` of the next endpoint of `upstream`, not one of
  // `tried`, that is healthy and whose breaker admits a request
  // (`admission`), or nullopt.
  std::optional<size_t> ChooseEndpoint(const Upstream& upstream, const View& view,
                                       guard::CircuitBreaker::Admission& admission,
                                       std::span<const uint64_t> tried = {}) const;
  // For Balance::kLeastRequest: of the endpoints looked at (all, or two at
  // random when there are more than four), the healthy one not in `tried`
  // with the fewest requests in flight, if its breaker admits one.
  std::optional<size_t> ChooseLeastLoaded(const Upstream& upstream, const View& view,
                                          guard::CircuitBreaker::Admission& admission,
                                          std::span<const uint64_t> tried) const;
  // The client's response when reading its streamed body failed with
  // `error` on the way to the service (which is not judged by it).
  net::HttpResponse ClientBodyFailed(const Endpoint& endpoint, const Status& error,
                                     Decision& decision,
                                     guard::CircuitBreaker::Admission admission) const;
  // Tells `endpoint`'s breaker how a try there, admitted as `admission`,
  // ended: a failure if no answer came, or a 502, 503 or 504; else a
  // success. A connection this process lacked the resources to make
  // (net::IsLocalShortage) tells nothing of the service and is neither.
  static void RecordTry(const Endpoint& endpoint, const Result<net::HttpResponse>& sent,
                        guard::CircuitBreaker::Admission admission);
  // Makes `out` the client's response to the service's `response` (or
  // failure), which it spends; with `record_try`, tells the endpoint's
  // breaker how it ended (unless a retry's loop did already).
  void FinishForward(const Endpoint& endpoint, Result<net::HttpResponse>& response, bool record_try,
                     guard::CircuitBreaker::Admission admission, Decision& decision,
                     net::HttpResponse& out) const;
  // The pool of this thread to the endpoint at `place` in `view`.
  static net::UpstreamPool& PoolAt(View& view, size_t place,
                                   const boost::asio::any_io_executor& executor);
  const std::string& UpstreamName(const Endpoint& endpoint) const;
  // `route` is one of the gateway's.
  const RouteForward& ForwardOf(const Route& route) const;

  // Endpoints and their lookups (start-up, and the refresh thread).
  // One endpoint of upstream `index` at `addresses`, named `label`.
  std::shared_ptr<Endpoint> MakeEndpoint(size_t index, const UpstreamAddress& address,
                                         std::string label,
                                         std::vector<boost::asio::ip::tcp::endpoint> addresses);
  // Makes the endpoints of upstream `index`'s names its members, and tells
  // the io threads (CurrentView).
  void Publish(size_t index);
  // Name `name` of upstream `index` looked up again as `resolved`: if its
  // addresses changed, its endpoints follow them (a lookup that failed
  // changes nothing).
  void Refresh(size_t index, size_t name,
               Result<std::vector<boost::asio::ip::tcp::endpoint>> resolved);
  void RefreshNames(std::stop_token stop);  // the refresh thread

  const Gateway& gateway_;
  std::vector<std::unique_ptr<Upstream>> upstreams_;
  // By the route's place in the gateway's table.
  std::vector<RouteForward> route_forwards_;
  DecisionRecorder* recorder_;
  const Clock& clock_;  // the breakers'
  const IdentityTokenSigner* identity_ = nullptr;
  std::unique_ptr<HealthChecker> health_;  // null without health checks
  const uint64_t id_;                      // keys this proxy's per-thread views
  std::atomic<uint64_t> next_serial_{1};   // of endpoints, never reused
  // The series of endpoints' breakers (null without metrics).
  metrics::GaugeFamily* breaker_states_ = nullptr;
  metrics::CounterFamily* breaker_openings_ = nullptr;
  // The refresh thread, when a name is looked up again; stopped (its
  // lookup in flight given up on) when the proxy goes.
  std::mutex refresh_mu_;  // for refresh_wake_'s wait only
  std::condition_variable_any refresh_wake_;
  std::jthread refresher_;
};

// Appends to `out`, as `name: value` lines each ending in CRLF, the client's
// fields that go on to the service: all but the hop-by-hop ones (as
// net::AppendPassOnFields drops them), every X-Bulwark-* field, those the
// gateway sets itself (Host, X-Forwarded-For, -Proto, -Host, -Port,
// -Prefix, Forwarded), Expect, every field whose name has '_', and those
// `dropped` drops (gateway.h).
void AppendForwardedRequestFields(const std::vector<std::pair<std::string, std::string>>& headers,
                                  const DroppedRequestFields& dropped, std::string& out);

// Applies a route's response_headers `rules` to `response`: the fields
// named are removed from the lines passed on, then those set are added.
// The fields of Bulwark's own answers (`headers`: the Content-Type and
// Cache-Control: no-store of a refusal) stay as they are, and none is set
// again beside them, so no rule makes a refusal cacheable.
void ApplyResponseFieldRules(const FieldRules& rules, net::HttpResponse& response);

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_REVERSE_PROXY_H_

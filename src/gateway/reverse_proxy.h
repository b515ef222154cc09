// ReverseProxy: the gateway in the data path. Each request gets the
// Gateway's decision; a denial is answered at once, an allowed request is
// forwarded to its route's upstream over pooled keep-alive connections with
// the normalized path, the verified identity headers, and without hop-by-hop
// headers or client-sent identity headers. Includes Asio (HTTP-facing).
#ifndef BULWARK_GATEWAY_REVERSE_PROXY_H_
#define BULWARK_GATEWAY_REVERSE_PROXY_H_

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
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
  // Unset: a request goes on to the next endpoint when no connection could
  // be made, or (idempotent) when its connection was lost before any of an
  // answer came, each endpoint once, with no budget.
  std::optional<RetryPolicy> retry;
};

class ReverseProxy {
 public:
  // `gateway` must outlive the proxy. kInvalidArgument if an upstream does not
  // resolve, its TLS files do not load, or a route names an unknown upstream.
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
  static constexpr size_t kNoUpstream = static_cast<size_t>(-1);
  // Where a route's requests go on, and what of them is sent again.
  struct RouteForward {
    size_t upstream = kNoUpstream;  // into upstreams_; none: forward-auth only
    // The route's policy, else its upstream's (the default one if neither
    // has a block), its statuses sorted; tries in all, the first included.
    RetryPolicy retry;
    int max_tries = 1;
    // A policy is configured: a try may return to an endpoint after a
    // backoff, retries ask the upstream's budget, and all tries stay
    // within response_timeout.
    bool revisit = false;
    // The route's, else the upstream's: each try's wait for its answer,
    // and with a policy every try's.
    std::chrono::milliseconds response_timeout{0};
  };
  ReverseProxy(const Gateway& gateway, std::vector<Upstream> upstreams,
               std::vector<Endpoint> endpoints, std::vector<RouteForward> route_forwards,
               DecisionRecorder* recorder);
  // Forwarding an allowed request is three steps, so that only the middle
  // one, awaited in Handle, is a coroutine.
  // Fills `upstream_request`, `endpoint` (an index into endpoints_, of the
  // route's upstream) and `admission` (by its circuit breaker), or returns
  // the response to answer instead (no such upstream, or none of its
  // endpoints is up).
  std::optional<net::HttpResponse> PrepareForward(
      net::HttpRequest& request, bool tls, std::string_view host, Decision& decision,
      net::HttpRequest& upstream_request, size_t& endpoint,
      guard::CircuitBreaker::Admission& admission) const;
  // Whether `endpoint` may be given a request: not one of `tried`, and
  // healthy if it is checked. (Its breaker is asked last, as admitting
  // may take a half-open probe's slot.)
  bool Eligible(size_t endpoint, std::span<const size_t> tried) const;
  // The next endpoint of `upstream`, not one of `tried`, that is healthy
  // and whose breaker admits a request (`admission`), or nullopt.
  std::optional<size_t> ChooseEndpoint(const Upstream& upstream,
                                       guard::CircuitBreaker::Admission& admission,
                                       std::span<const size_t> tried = {}) const;
  // For Balance::kLeastRequest: of the endpoints looked at (all, or two at
  // random when there are more than four), the healthy one not in `tried`
  // with the fewest requests in flight, if its breaker admits one.
  std::optional<size_t> ChooseLeastLoaded(const Upstream& upstream,
                                          guard::CircuitBreaker::Admission& admission,
                                          std::span<const size_t> tried) const;
  // The client's response when reading its streamed body failed with
  // `error` on the way to the service (which is not judged by it).
  net::HttpResponse ClientBodyFailed(size_t endpoint, const Status& error, Decision& decision,
                                     guard::CircuitBreaker::Admission admission) const;
  // Tells `endpoint`'s breaker how a try there ended: a failure if no
  // answer came, or a 502, 503 or 504; else a success.
  void RecordTry(size_t endpoint, const Result<net::HttpResponse>& sent) const;
  // Makes `out` the client's response to the service's `response` (or
  // failure), which it spends; with `record_try`, tells the endpoint's
  // breaker how it ended (unless a retry's loop did already).
  void FinishForward(size_t endpoint, Result<net::HttpResponse>& response, bool record_try,
                     Decision& decision, net::HttpResponse& out) const;
  net::UpstreamPool& PoolFor(size_t endpoint, const boost::asio::any_io_executor& ex) const;
  const std::string& UpstreamName(size_t endpoint) const;
  // `route` is one of the gateway's.
  const RouteForward& ForwardOf(const Route& route) const;

  const Gateway& gateway_;
  std::vector<Upstream> upstreams_;
  std::vector<Endpoint> endpoints_;  // every upstream's, each upstream's together
  // By the route's place in the gateway's table.
  std::vector<RouteForward> route_forwards_;
  DecisionRecorder* recorder_;
  const IdentityTokenSigner* identity_ = nullptr;
  std::unique_ptr<HealthChecker> health_;  // null without health checks
  const uint64_t id_;                      // keys this proxy's per-thread pools
};

// Appends to `out`, as `name: value` lines each ending in CRLF, the client's
// fields that go on to the service: all but the hop-by-hop ones (as
// net::AppendPassOnFields drops them), every X-Bulwark-* field, those the
// gateway sets itself (Host, X-Forwarded-For, -Proto, -Host, Forwarded),
// Expect, every field whose name has '_', when `drop_api_key` X-Api-Key and
// an Authorization that carries an API key, and when `drop_request_id`
// X-Request-Id (the gateway sets its own).
void AppendForwardedRequestFields(const std::vector<std::pair<std::string, std::string>>& headers,
                                  bool drop_api_key, bool drop_request_id, std::string& out);

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_REVERSE_PROXY_H_

// RetryPolicy: when and how the reverse proxy sends a failed request
// again. An upstream's `retry` block gives its routes' default, a route's
// own replaces it for that route (as Envoy's route-level retry_policy).
#ifndef BULWARK_GATEWAY_RETRY_POLICY_H_
#define BULWARK_GATEWAY_RETRY_POLICY_H_

#include <chrono>
#include <vector>

namespace bulwark::gateway {

// When a request that failed is sent again, to the next endpoint that is up
// or, once each has had it, to one that had (Envoy's retry_policy, nginx's
// proxy_next_upstream). A request is sent again only if it may safely run
// twice (an idempotent method, RFC 9110 section 9.2.2; a body held whole,
// not one that streams) — except when no connection could be made, which
// the service never saw, whatever the method.
struct RetryPolicy {
  // Besides a connection that could not be made: a connection lost before
  // any of an answer came (`reset`), no answer within the try's timeout
  // (`timeout`), an answer with one of `statuses` (sorted).
  bool on_reset = true;
  bool on_timeout = false;
  std::vector<int> statuses;
  // Tries in all, the first one's included; 0 = one at each endpoint (and
  // with a policy configured, at least two).
  int attempts = 0;
  // Each try's wait for its answer, when shorter than the route's (else
  // the upstream's) response_timeout (zero: that). The tries all stay
  // within response_timeout of the first's start.
  std::chrono::milliseconds per_try_timeout{0};
  // Before a try at an endpoint that already had the request: a wait drawn
  // from [0, min(max, base * 2^(n-1))] for its nth such try
  // (guard::RetryBackoff). A try at another endpoint goes at once.
  std::chrono::milliseconds backoff_base{25};
  std::chrono::milliseconds backoff_max{250};
  // Retries in flight at most this share of the upstream's requests in
  // flight, or 3 (guard::RetryBudget). The upstream's policy's only: its
  // routes' retries all count against the one budget.
  int budget_percent = 20;
};

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_RETRY_POLICY_H_

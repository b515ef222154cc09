#include "gateway/reverse_proxy.h"

#include "core/log.h"
#include "core/log_throttle.h"
#include "gateway/api_key_authenticator.h"
#include "gateway/key_refetch_wait.h"
#include "gateway/status_response.h"
#include "net/request_head.h"
#include "net/resolve.h"
#include "net/streamed_body.h"
#include "net/tunnel.h"
#include "net/websocket.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <random>
#include <span>
#include <unordered_map>

namespace bulwark::gateway {

namespace {

namespace asio = boost::asio;

bool Idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
         method == "DELETE";  // (TRACE never comes this far: the decision refuses it)
}

// Whether a request whose try ended as `sent` (net::UpstreamPool::Send's)
// may be sent again under `policy`: when no connection could be made; and
// when an idempotent request's connection was lost before a byte of an
// answer came, its answer was late, or came with one of the policy's
// statuses, as the policy says (never when an answer was cut or
// malformed). A WebSocket handshake goes again only if it never reached
// the service, or was answered.
bool MayGoToNextEndpoint(const Result<net::HttpResponse>& sent, const RetryPolicy& policy,
                         bool idempotent, bool tunnel) {
  if (sent) {
    return idempotent &&
           std::binary_search(policy.statuses.begin(), policy.statuses.end(), sent->status);
  }
  const Status& error = sent.error();
  if (net::IsConnectFailure(error)) return true;
  if (!idempotent || tunnel) return false;
  if (policy.on_reset && net::IsLostBeforeAnswer(error)) return true;
  return policy.on_timeout && net::IsTimeoutBeforeAnswer(error);
}

// Says, at most once per 10 s, that connections to services fail for want
// of this process's own resources (net::IsLocalShortage).
void WarnOfLocalShortage(const Status& error) {
  static log::Throttle throttle(std::chrono::seconds(10));
  if (const std::optional<int64_t> held = throttle.Pass()) {
    log::Warn("gateway.upstream_local_shortage",
              {{"error", error.message()}, {"suppressed", *held}});
  }
}

// The least time left of a request's bound for which a retry is sent (or
// a quarter of the bound, if less).
constexpr std::chrono::milliseconds kLeastTryTime(50);

// What is left of `total` since `start`, in whole milliseconds.
std::chrono::milliseconds TimeLeft(std::chrono::milliseconds total,
                                   std::chrono::steady_clock::time_point start) {
  return total -
         std::chrono::ceil<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

// A uniform draw for a backoff's jitter.
uint64_t RandomDraw() {
  thread_local std::mt19937_64 draw{std::random_device{}()};
  return draw();
}

// A try's wait for its answer: the per-try timeout if there is one, within
// what `bound` allows.
std::chrono::milliseconds TryTimeout(std::chrono::milliseconds per_try,
                                     std::chrono::milliseconds bound) {
  return per_try.count() > 0 ? std::min(per_try, bound) : bound;
}

// The wait an answer's Retry-After asks for before the request is sent
// again (zero if none, or a failure that is no answer).
std::chrono::milliseconds AskedWait(const Result<net::HttpResponse>& sent) {
  if (!sent) return std::chrono::milliseconds(0);
  const std::optional<std::string_view> value =
      net::FieldLineValue(sent->passed_on_fields, "Retry-After");
  if (!value) return std::chrono::milliseconds(0);
  return guard::RetryAfterDelay(*value, std::chrono::system_clock::now())
      .value_or(std::chrono::seconds(0));
}

asio::awaitable<void> Pause(std::chrono::milliseconds wait) {
  asio::steady_timer timer(co_await asio::this_coro::executor, wait);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

// The Sec-WebSocket-Accept a service must answer `request` with, if it is
// a WebSocket opening handshake (RFC 6455 section 4.1): an HTTP/1.1 GET
// whose Upgrade names websocket, whose Connection names upgrade and which
// carries one well-formed Sec-WebSocket-Key. Any other request (one with a
// missing or malformed key among them) goes on as a plain one, its Upgrade
// dropped with the other fields of its hop.
std::optional<std::string> WebSocketAcceptOwed(const net::HttpRequest& request) {
  if (request.method != "GET" || request.version_minor != 1) return std::nullopt;
  bool upgrade = false;
  bool connection = false;
  int keys = 0;
  std::string_view key;
  for (const auto& [name, value] : request.headers) {
    if (net::EqualsIgnoreCase(name, "Upgrade")) {
      upgrade = upgrade || net::ListHasToken(value, "websocket");
    } else if (net::EqualsIgnoreCase(name, "Connection")) {
      connection = connection || net::ListHasToken(value, "upgrade");
    } else if (net::EqualsIgnoreCase(name, "Sec-WebSocket-Key")) {
      ++keys;
      key = value;
    }
  }
  if (!upgrade || !connection || keys != 1 || !net::IsWebSocketKey(key)) return std::nullopt;
  return net::WebSocketAccept(key);
}

// The request sent on, or with `accept` the WebSocket handshake whose 101
// must carry it. Not a coroutine (no frame of its own), and no conditional
// expression around a co_await (which GCC 12 builds wrong): the caller
// awaits what it returns, and keeps `accept` until then.
// `may_resend` lets the pool send the request once more when a kept-alive
// connection is lost before its answer (UpstreamPool::Send): an idempotent
// one without a retry policy, as nginx does. A policy says itself what goes
// again, each try counted, budgeted and within its time.
asio::awaitable<Result<net::HttpResponse>> SendOrUpgrade(net::UpstreamPool& pool,
                                                         const net::HttpRequest& request,
                                                         const std::optional<std::string>& accept,
                                                         bool may_resend) {
  if (accept) return pool.Upgrade(request, {.protocol = "websocket", .accept = *accept});
  return pool.Send(request, may_resend);
}

// Counts in `bytes` (may be null) the held body of `request`, when its try
// (`sent`) reached a connection. (A streamed body counts as it goes:
// WatchedRequestBody.)
void CountBodySent(metrics::Counter* bytes, const net::HttpRequest& request,
                   const Result<net::HttpResponse>& sent) {
  if (bytes == nullptr || request.body.empty()) return;
  if (sent || !net::IsConnectFailure(sent.error())) bytes->Increment(request.body.size());
}

// A streamed answer the service cuts, misframes or stalls on after its head
// (which counted as a success) counts as an error of the upstream; its
// bytes count as they pass (`bytes`, may be null).
class CountedStreamedBody final : public net::StreamedBody {
 public:
  CountedStreamedBody(std::shared_ptr<net::StreamedBody> body, DecisionRecorder& recorder,
                      std::string upstream, metrics::Counter* bytes)
      : body_(std::move(body)),
        recorder_(recorder),
        upstream_(std::move(upstream)),
        bytes_(bytes) {}

  std::optional<uint64_t> length() const override { return body_->length(); }

  asio::awaitable<Result<std::string_view>> Next() override {
    Result<std::string_view> piece = co_await body_->Next();
    if (!piece) {
      recorder_.UpstreamError(upstream_);
    } else if (bytes_ != nullptr) {
      bytes_->Increment(piece->size());
    }
    co_return piece;
  }

 private:
  std::shared_ptr<net::StreamedBody> body_;
  DecisionRecorder& recorder_;  // the server's; outlives its io threads
  const std::string upstream_;
  metrics::Counter* const bytes_;
};

// A client's body on its way to the service, remembering whether reading
// it failed (too large, bad chunks, too slow, the client gone): the
// client's doing, not the service's. Its bytes count as they go on
// (`bytes`, may be null).
class WatchedRequestBody final : public net::StreamedBody {
 public:
  WatchedRequestBody(std::shared_ptr<net::StreamedBody> body, metrics::Counter* bytes)
      : body_(std::move(body)), bytes_(bytes) {}

  std::optional<uint64_t> length() const override { return body_->length(); }

  asio::awaitable<Result<std::string_view>> Next() override {
    Result<std::string_view> piece = co_await body_->Next();
    if (!piece) {
      error_ = piece.error();
    } else if (bytes_ != nullptr) {
      bytes_->Increment(piece->size());
    }
    co_return piece;
  }

  const std::optional<Status>& error() const { return error_; }

 private:
  std::shared_ptr<net::StreamedBody> body_;
  metrics::Counter* const bytes_;
  std::optional<Status> error_;
};

// A tunnel counted open from when the client's connection becomes it (the
// 101 written) to its end, however it ends (a drain destroys its coroutine).
class CountedTunnel final : public net::Tunnel {
 public:
  CountedTunnel(std::shared_ptr<net::Tunnel> tunnel, DecisionRecorder& recorder,
                std::string upstream)
      : tunnel_(std::move(tunnel)), recorder_(recorder), upstream_(std::move(upstream)) {}

  asio::awaitable<void> Run(net::TunnelEnd& client, std::string_view early) override {
    recorder_.TunnelOpened(upstream_);
    const Closer closer{*this};
    co_await tunnel_->Run(client, early);
  }
  std::string_view EndedCredential() const override { return tunnel_->EndedCredential(); }

 private:
  struct Closer {
    const CountedTunnel& tunnel;
    ~Closer() { tunnel.recorder_.TunnelClosed(tunnel.upstream_); }
  };
  std::shared_ptr<net::Tunnel> tunnel_;
  DecisionRecorder& recorder_;
  const std::string upstream_;
};

std::atomic<uint64_t> next_proxy_id{1};

}  // namespace

void AppendForwardedRequestFields(const std::vector<std::pair<std::string, std::string>>& headers,
                                  const DroppedRequestFields& dropped, std::string& out) {
  thread_local net::FieldViews kept;  // per-thread scratch: no allocation per request
  kept.clear();
  for (const auto& [name, value] : headers) {
    // A name with '_' goes no further (as nginx does by default): services
    // that read fields as CGI-style variables (HTTP_X_BULWARK_SUBJECT) take
    // X_Bulwark_Subject for the gateway's X-Bulwark-Subject, and
    // Transfer_Encoding for Transfer-Encoding.
    if (IsGatewayOwnedRequestField(name) || name.find('_') != std::string_view::npos) continue;
    if (dropped.Drops(name, value)) continue;
    kept.emplace_back(name, value);
  }
  net::AppendPassOnFields(kept, out);  // which keeps the hop-by-hop ones here
}

void ApplyResponseFieldRules(const FieldRules& rules, net::HttpResponse& response) {
  const auto own = [&](std::string_view name) {
    return std::any_of(response.headers.begin(), response.headers.end(),
                       [&](const auto& field) { return net::EqualsIgnoreCase(field.first, name); });
  };
  for (const std::string& name : rules.remove) {
    net::EraseFieldLines(response.passed_on_fields, name);
  }
  for (const auto& [name, value] : rules.set) {
    if (!own(name)) net::AppendFieldLine(response.passed_on_fields, name, value);
  }
}

struct ReverseProxy::Endpoint {
  Endpoint(size_t upstream, uint64_t serial, guard::CircuitBreakerOptions breaker_options,
           const Clock& clock, std::shared_ptr<metrics::Gauge> state_series,
           std::shared_ptr<metrics::Counter> openings_series)
      : upstream(upstream),
        serial(serial),
        state_series(std::move(state_series)),
        openings_series(std::move(openings_series)),
        breaker(breaker_options, clock,
                {.state = this->state_series.get(), .opened = this->openings_series.get()}) {}
  const size_t upstream;  // into upstreams_
  const uint64_t serial;  // the proxy's, never reused: how a request's tries know it
  // The breaker's series (null without metrics), held for as long as it
  // may write them, removed from /metrics when the endpoint is gone.
  const std::shared_ptr<metrics::Gauge> state_series;
  const std::shared_ptr<metrics::Counter> openings_series;
  net::UpstreamOptions options;  // the upstream's, with this endpoint's host and port
  std::string authority;         // host:port, an IPv6 literal in brackets
  // How metrics and logs name it: its authority, or if its name resolved to
  // several addresses (each an endpoint), its address and port.
  std::string label;
  std::vector<boost::asio::ip::tcp::endpoint> resolved;
  std::shared_ptr<net::UpstreamTlsContext> tls_context;  // the upstream's (TLS only)
  std::shared_ptr<const HealthChecker::Check> health;    // null if not checked
  int weight = 1;                                        // UpstreamAddress::weight
  // The breaker and the count below are written by every io thread: each
  // is on cache lines of its own, away from what the others only read.
  alignas(64) mutable guard::CircuitBreaker breaker;
  // Requests given this endpoint and not yet answered to their end (a
  // streamed answer's or a tunnel's included; least_request only).
  alignas(64) mutable std::atomic<int> in_flight{0};
};

// An upstream's endpoints at one time: every io thread's view holds them
// until it takes the next.
struct ReverseProxy::Members {
  std::vector<std::shared_ptr<Endpoint>> endpoints;
  // Round robin over endpoints of unequal weights: the places of the
  // endpoints in turn, each as often as its weight and spread out (smooth
  // weighted round robin, as nginx's). Empty when the turns are plain.
  std::vector<size_t> schedule;
};

// One io thread's: the members it took, and its pools to them (made on
// their first request), in the same order.
struct ReverseProxy::View {
  uint64_t generation = 0;
  std::shared_ptr<const Members> members;
  std::vector<std::shared_ptr<net::UpstreamPool>> pools;
  size_t size() const { return members->endpoints.size(); }
  const Endpoint& at(size_t place) const { return *members->endpoints[place]; }
};

struct ReverseProxy::Upstream {
  std::string name;
  // Host for a request that brought none: its first address's authority.
  std::string authority;
  // Whose turn it is (a place in the members, or in their schedule),
  // shared by the io threads: two that take the same turn at once only
  // send two requests to one.
  alignas(64) mutable std::atomic<size_t> turn{0};
  bool least_request = false;  // UpstreamConfig::Balance::kLeastRequest
  // Requests sent on to another endpoint after a failure (null without
  // metrics): bulwark_gateway_upstream_retries_total{upstream}.
  metrics::Counter* retries = nullptr;
  // Where it or one of its routes has a policy: the retries in flight of
  // those with one are held to a budget, and those it refuses are counted
  // (null without metrics):
  // bulwark_gateway_upstream_retries_over_budget_total{upstream}.
  std::unique_ptr<guard::RetryBudget> budget;
  metrics::Counter* over_budget = nullptr;
  // Body bytes sent to it (each try's that reached a connection) and
  // received from it (null without metrics):
  // bulwark_gateway_upstream_request_body_bytes_total{upstream} and
  // bulwark_gateway_upstream_response_body_bytes_total{upstream}.
  metrics::Counter* request_bytes = nullptr;
  metrics::Counter* response_bytes = nullptr;

  // Its endpoints now, and a count of their changes that io threads
  // compare with their view's (both written under `mu`).
  mutable std::mutex mu;
  std::shared_ptr<const Members> members;
  std::atomic<uint64_t> generation{0};

  // How its endpoints are made, and each address's, as last looked up
  // (start-up, then the refresh thread only).
  UpstreamConfig config;
  std::shared_ptr<net::UpstreamTlsContext> tls_context;
  struct Name {
    UpstreamAddress address;
    std::string authority;
    bool refresh = false;  // a name, looked up again every config.dns_refresh
    std::chrono::steady_clock::time_point next_lookup;
    bool failing = false;  // its last lookup failed (logged once)
    std::vector<std::shared_ptr<Endpoint>> endpoints;
  };
  std::vector<Name> names;
};

namespace {

// A request counted in flight to an endpoint for as long as it lives (a
// drain that destroys the coroutine awaiting the answer ends it too).
class InFlight {
 public:
  explicit InFlight(std::atomic<int>& count) : count_(count) {
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  ~InFlight() { count_.fetch_sub(1, std::memory_order_relaxed); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  std::atomic<int>& count_;
};

// A streamed answer, or a tunnel, that keeps its request counted in flight
// to its endpoint until it ends (least_request), as Envoy counts a stream
// active to its end: a service holding long streams gets fewer new ones.
// Each holds its endpoint (`endpoint`), so that the count outlives the
// endpoint's leaving (but not the view it was in, nor its pools).
class InFlightBody final : public net::StreamedBody {
 public:
  InFlightBody(std::shared_ptr<net::StreamedBody> body, std::shared_ptr<const void> endpoint,
               std::atomic<int>& count)
      : body_(std::move(body)), endpoint_(std::move(endpoint)), in_flight_(count) {}
  std::optional<uint64_t> length() const override { return body_->length(); }
  asio::awaitable<Result<std::string_view>> Next() override { co_return co_await body_->Next(); }

 private:
  std::shared_ptr<net::StreamedBody> body_;
  std::shared_ptr<const void> endpoint_;
  InFlight in_flight_;
};

class InFlightTunnel final : public net::Tunnel {
 public:
  InFlightTunnel(std::shared_ptr<net::Tunnel> tunnel, std::shared_ptr<const void> endpoint,
                 std::atomic<int>& count)
      : tunnel_(std::move(tunnel)), endpoint_(std::move(endpoint)), in_flight_(count) {}
  asio::awaitable<void> Run(net::TunnelEnd& client, std::string_view early) override {
    co_await tunnel_->Run(client, early);
  }
  std::string_view EndedCredential() const override { return tunnel_->EndedCredential(); }

 private:
  std::shared_ptr<net::Tunnel> tunnel_;
  std::shared_ptr<const void> endpoint_;
  InFlight in_flight_;
};

// A tunnel runs while the credentials that opened it stand and its request
// would still be allowed: once its API key is revoked, expires or is
// deleted, its JWT passes its exp (and the issuer's leeway), or the
// policies or relations its route is decided by would now refuse it, the io
// thread ends it within a second (Tunnel::EndedCredential), as a request
// on it would be refused then.
class CredentialBoundTunnel final : public net::Tunnel {
 public:
  // `key_id` "", `token` null and `authorization` null each bind nothing.
  CredentialBoundTunnel(std::shared_ptr<net::Tunnel> tunnel, const Gateway& gateway,
                        std::string key_id, std::shared_ptr<const Principal> token,
                        std::shared_ptr<const HeldAuthorization> authorization)
      : tunnel_(std::move(tunnel)),
        gateway_(gateway),
        key_id_(std::move(key_id)),
        token_(std::move(token)),
        authorization_(std::move(authorization)) {}
  asio::awaitable<void> Run(net::TunnelEnd& client, std::string_view early) override {
    co_await tunnel_->Run(client, early);
  }
  std::string_view EndedCredential() const override {
    if (!key_id_.empty() && !gateway_.ApiKeyStands(key_id_)) return "API key";
    if (token_ != nullptr && !gateway_.PrincipalUnexpired(*token_)) return "token";
    if (authorization_ != nullptr && !gateway_.StillAuthorized(*authorization_)) {
      return "authorization";
    }
    return tunnel_->EndedCredential();
  }

 private:
  std::shared_ptr<net::Tunnel> tunnel_;
  const Gateway& gateway_;
  const std::string key_id_;
  const std::shared_ptr<const Principal> token_;
  const std::shared_ptr<const HeldAuthorization> authorization_;
};

}  // namespace

ReverseProxy::ReverseProxy(const Gateway& gateway, DecisionRecorder* recorder, const Clock& clock)
    : gateway_(gateway), recorder_(recorder), clock_(clock), id_(next_proxy_id++) {}

ReverseProxy::~ReverseProxy() {
  // Before anything it reads goes; a lookup it waits for is given up on.
  if (refresher_.joinable()) {
    refresher_.request_stop();
    refresher_.join();
  }
}

namespace {

// `host:port` of the endpoint at `o`, an IPv6 literal in brackets.
std::string Authority(std::string_view host, uint16_t port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  return fmt::format("{}{}{}:{}", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

// The schedule of Members::schedule for endpoints of these `weights`,
// empty if they are all equal. Smooth weighted round robin: at each turn
// every endpoint earns its weight, the richest (the first of equals) is
// chosen and pays the total, so one of weight 3 beside one of 1 goes
// a a b a, not a a a b.
std::vector<size_t> WeightedTurns(const std::vector<int>& weights) {
  int total = 0;
  for (const int weight : weights) total += weight;
  if (std::all_of(weights.begin(), weights.end(), [&](int w) { return w == weights.front(); })) {
    return {};
  }
  std::vector<int> earned(weights.size(), 0);
  std::vector<size_t> turns;
  turns.reserve(static_cast<size_t>(total));
  for (int n = 0; n < total; ++n) {
    size_t richest = 0;
    for (size_t i = 0; i < weights.size(); ++i) {
      earned[i] += weights[i];
      if (earned[i] > earned[richest]) richest = i;
    }
    earned[richest] -= total;
    turns.push_back(richest);
  }
  return turns;
}

// `address:port`, an IPv6 address in brackets: the name of one endpoint of
// several that a name resolved to.
std::string AddressLabel(const boost::asio::ip::tcp::endpoint& e) {
  return Authority(e.address().to_string(), e.port());
}

// X-Forwarded-For for the service: the peer's address, after the list the
// peer passed on when it is a trusted proxy (a client's own list goes no
// further).
void AppendForwardedFor(const net::HttpRequest& request, bool from_trusted_proxy,
                        std::string& fields) {
  if (!from_trusted_proxy) {
    net::AppendFieldLine(fields, "X-Forwarded-For", request.remote_address);
    return;
  }
  std::string list;
  for (const auto& [name, value] : request.headers) {
    if (!net::EqualsIgnoreCase(name, "X-Forwarded-For") || value.empty()) continue;
    list.append(value).append(", ");
  }
  list.append(request.remote_address);
  net::AppendFieldLine(fields, "X-Forwarded-For", list);
}

// The health check of the endpoint at `o` (an upstream's options, with the
// endpoint's host and port), named `label`, at the addresses the proxy
// connects it to (`resolved`, so its name is not looked up again), over
// the upstream's `tls_context` when it has TLS.
HealthChecker::Target HealthTarget(const std::string& upstream, const net::UpstreamOptions& o,
                                   const std::string& label,
                                   const std::vector<boost::asio::ip::tcp::endpoint>& resolved,
                                   std::shared_ptr<net::UpstreamTlsContext> tls_context,
                                   const HealthCheckOptions& check) {
  HealthChecker::Target target{
      .name = upstream,
      .endpoint = label,
      .url = HealthCheckUrl(o.tls.has_value(), o.host, o.port, check.path),
      // A check passes on its status: a long health page (Spring's with
      // details, say) is not held against the endpoint (read and dropped).
      .fetch = {.timeout = check.timeout, .head_only = true, .allow_plain_http = true},
      .options = check};
  for (const boost::asio::ip::tcp::endpoint& e : resolved) {
    target.fetch.connect_addresses.push_back(e.address().to_string());
  }
  if (o.tls) {
    // The upstream's own context: a rotation of its files that does not
    // load yet fails no check while the proxy's connections go on.
    target.fetch.tls_context = std::move(tls_context);
    target.fetch.server_name = o.tls->server_name;
  }
  return target;
}

// The endpoints a name's addresses (`resolved`, as looked up) make, each
// with its label: one for the name (named by its authority), or one per
// address (named by it); see net::EndpointsOfName.
std::vector<std::pair<std::string, std::vector<boost::asio::ip::tcp::endpoint>>> EndpointsOf(
    const std::vector<boost::asio::ip::tcp::endpoint>& resolved, const std::string& authority) {
  std::vector<std::pair<std::string, std::vector<boost::asio::ip::tcp::endpoint>>> out;
  std::vector<std::vector<boost::asio::ip::tcp::endpoint>> split = net::EndpointsOfName(resolved);
  for (std::vector<boost::asio::ip::tcp::endpoint>& addresses : split) {
    std::string label = split.size() == 1 ? authority : AddressLabel(addresses.front());
    out.emplace_back(std::move(label), std::move(addresses));
  }
  return out;
}

// Whether `a` and `b` hold the same addresses, in any order (a resolver
// may rotate them) and however often.
bool SameAddresses(std::vector<boost::asio::ip::tcp::endpoint> a,
                   std::vector<boost::asio::ip::tcp::endpoint> b) {
  std::sort(a.begin(), a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  return a == b;
}

bool IsIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

// How long a lookup of the refresh thread may take (the resolver's own
// retries included) before the name keeps its addresses until the next.
constexpr std::chrono::seconds kRefreshLookupTimeout(5);

}  // namespace

std::shared_ptr<ReverseProxy::Endpoint> ReverseProxy::MakeEndpoint(
    size_t index, const UpstreamAddress& address, std::string label,
    std::vector<boost::asio::ip::tcp::endpoint> addresses) {
  const Upstream& upstream = *upstreams_[index];
  std::shared_ptr<metrics::Gauge> state;
  std::shared_ptr<metrics::Counter> openings;
  if (breaker_states_ != nullptr) {
    state = breaker_states_->Shared({upstream.name, label});
    openings = breaker_openings_->Shared({upstream.name, label});
  }
  auto endpoint = std::make_shared<Endpoint>(
      index, next_serial_.fetch_add(1, std::memory_order_relaxed), upstream.config.breaker, clock_,
      std::move(state), std::move(openings));
  endpoint->options = upstream.config.options;
  // The gateway's field names are its own both ways: a service's
  // X-Bulwark-* fields (an echoed X-Bulwark-Identity would hand the client
  // a token other services accept) never reach the client.
  endpoint->options.dropped_field_prefix = kGatewayFieldPrefix;
  endpoint->options.host = address.host;
  endpoint->options.port = address.port;
  endpoint->authority = Authority(address.host, address.port);
  endpoint->label = std::move(label);
  endpoint->resolved = std::move(addresses);
  endpoint->tls_context = upstream.tls_context;
  endpoint->weight = address.weight;
  if (upstream.config.health_check) {
    endpoint->health = health_->Add(HealthTarget(upstream.name, endpoint->options, endpoint->label,
                                                 endpoint->resolved, endpoint->tls_context,
                                                 *upstream.config.health_check));
  }
  return endpoint;
}

void ReverseProxy::Publish(size_t index) {
  Upstream& upstream = *upstreams_[index];
  auto members = std::make_shared<Members>();
  std::vector<int> weights;
  for (const Upstream::Name& name : upstream.names) {
    for (const std::shared_ptr<Endpoint>& endpoint : name.endpoints) {
      // Two names come to one address: it is one endpoint (the first's),
      // as it has one series.
      if (std::any_of(members->endpoints.begin(), members->endpoints.end(),
                      [&](const auto& e) { return e->label == endpoint->label; })) {
        continue;
      }
      members->endpoints.push_back(endpoint);
      weights.push_back(endpoint->weight);
    }
  }
  members->schedule = WeightedTurns(weights);
  std::lock_guard<std::mutex> lock(upstream.mu);
  upstream.members = std::move(members);
  upstream.generation.fetch_add(1, std::memory_order_release);
}

void ReverseProxy::Refresh(size_t index, size_t name_index,
                           Result<std::vector<boost::asio::ip::tcp::endpoint>> resolved) {
  Upstream& upstream = *upstreams_[index];
  Upstream::Name& name = upstream.names[name_index];
  if (!resolved || resolved->empty()) {
    if (!name.failing) {
      log::Warn("gateway.upstream_lookup_failed",
                {{"upstream", upstream.name},
                 {"address", name.authority},
                 {"error", resolved ? std::string("no address") : resolved.error().message()},
                 {"kept", std::to_string(name.endpoints.size()) + " endpoints"}});
    }
    name.failing = true;
    return;
  }
  name.failing = false;
  // The endpoints of the upstream's other names.
  std::vector<std::shared_ptr<Endpoint>> others;
  for (const Upstream::Name& other : upstream.names) {
    if (&other == &name) continue;
    others.insert(others.end(), other.endpoints.begin(), other.endpoints.end());
  }
  // Endpoints whose addresses are unchanged stay as they are: their
  // breakers, health and connections go on. So does one another name of
  // the upstream came to first (one endpoint per address, as at start).
  // The rest are made below (null here).
  std::vector<std::shared_ptr<Endpoint>> endpoints;
  auto specs = EndpointsOf(*resolved, name.authority);
  for (const auto& [label, addresses] : specs) {
    const auto same = std::find_if(
        name.endpoints.begin(), name.endpoints.end(),
        [&](const auto& e) { return e->label == label && SameAddresses(e->resolved, addresses); });
    const auto shared = std::find_if(others.begin(), others.end(),
                                     [&](const auto& e) { return e->label == label; });
    endpoints.push_back(same != name.endpoints.end() ? *same
                        : shared != others.end()     ? *shared
                                                     : nullptr);
  }
  const auto had = [](const std::vector<std::shared_ptr<Endpoint>>& list,
                      const std::shared_ptr<Endpoint>& e) {
    return std::find(list.begin(), list.end(), e) != list.end();
  };
  const bool changed = endpoints.size() != name.endpoints.size() ||
                       std::any_of(endpoints.begin(), endpoints.end(),
                                   [&](const auto& e) { return !had(name.endpoints, e); });
  if (!changed) return;
  // Those gone stop their checks and leave their series first, so that
  // one replacing them under the same label (a name whose one address
  // changed) shows its own state there from the start.
  std::vector<std::shared_ptr<Endpoint>> gone;
  for (const std::shared_ptr<Endpoint>& e : name.endpoints) {
    if (had(endpoints, e) || had(others, e)) continue;
    if (e->health) health_->Remove(e->health.get());
    e->breaker.StopReporting();
    gone.push_back(e);
  }
  for (size_t i = 0; i < endpoints.size(); ++i) {
    if (!endpoints[i]) {
      endpoints[i] = MakeEndpoint(index, name.address, specs[i].first, specs[i].second);
    }
  }
  name.endpoints = std::move(endpoints);
  Publish(index);
  // The series of a label no endpoint has any more leave /metrics, so that
  // addresses that churn (pods coming and going) leave none behind.
  const auto in_use = [&](const std::string& label) {
    return std::any_of(upstream.names.begin(), upstream.names.end(), [&](const Upstream::Name& n) {
      return std::any_of(n.endpoints.begin(), n.endpoints.end(),
                         [&](const auto& e) { return e->label == label; });
    });
  };
  if (breaker_states_ != nullptr) {
    for (const std::shared_ptr<Endpoint>& e : gone) {
      if (in_use(e->label)) continue;
      breaker_states_->Remove({upstream.name, e->label});
      breaker_openings_->Remove({upstream.name, e->label});
    }
  }
  std::string now;
  for (const std::shared_ptr<Endpoint>& e : name.endpoints) {
    if (!now.empty()) now += ' ';
    now += e->label;
  }
  log::Info("gateway.upstream_endpoints_changed",
            {{"upstream", upstream.name}, {"address", name.authority}, {"endpoints", now}});
}

void ReverseProxy::RefreshNames(std::stop_token stop) {
  // The names' next_lookup are this thread's alone; the mutex is only the
  // wait's.
  while (!stop.stop_requested()) {
    // The names due, looked up together: one whose lookup hangs holds the
    // others back for kRefreshLookupTimeout at most, not once per name.
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::pair<size_t, size_t>> due;
    std::vector<net::NameToResolve> lookups;
    for (size_t u = 0; u < upstreams_.size(); ++u) {
      for (size_t n = 0; n < upstreams_[u]->names.size(); ++n) {
        const Upstream::Name& name = upstreams_[u]->names[n];
        if (!name.refresh || name.next_lookup > now) continue;
        due.emplace_back(u, n);
        lookups.push_back({name.address.host, std::to_string(name.address.port)});
      }
    }
    if (!due.empty()) {
      auto resolved = net::ResolveAllWithin(lookups, kRefreshLookupTimeout, stop);
      if (stop.stop_requested()) return;  // a shutdown waits for no resolver
      const auto after = std::chrono::steady_clock::now();
      for (size_t i = 0; i < due.size(); ++i) {
        const auto [u, n] = due[i];
        Refresh(u, n, std::move(resolved[i]));
        upstreams_[u]->names[n].next_lookup = after + upstreams_[u]->config.dns_refresh;
      }
    }
    auto wake_at = std::chrono::steady_clock::time_point::max();
    for (const auto& upstream : upstreams_) {
      for (const Upstream::Name& name : upstream->names) {
        if (name.refresh) wake_at = std::min(wake_at, name.next_lookup);
      }
    }
    std::unique_lock<std::mutex> lock(refresh_mu_);
    refresh_wake_.wait_until(lock, stop, wake_at,
                             [&] { return std::chrono::steady_clock::now() >= wake_at; });
  }
}

Result<std::unique_ptr<ReverseProxy>> ReverseProxy::Create(const Gateway& gateway,
                                                           std::vector<UpstreamConfig> configs,
                                                           DecisionRecorder* recorder,
                                                           const Clock& clock) {
  std::unique_ptr<ReverseProxy> proxy(new ReverseProxy(gateway, recorder, clock));
  metrics::CounterFamily* retries = nullptr;
  metrics::CounterFamily* over_budget = nullptr;
  metrics::CounterFamily* request_bytes = nullptr;
  metrics::CounterFamily* response_bytes = nullptr;
  const std::vector<Route>& routes = gateway.routes().routes();
  if (recorder != nullptr) {
    retries = &recorder->registry().AddCounterFamily(
        "bulwark_gateway_upstream_retries_total",
        "Requests sent again to an endpoint of the upstream after a failure", {"upstream"});
    request_bytes = &recorder->registry().AddCounterFamily(
        "bulwark_gateway_upstream_request_body_bytes_total",
        "Bytes of request bodies sent to the upstream, each try's", {"upstream"});
    response_bytes = &recorder->registry().AddCounterFamily(
        "bulwark_gateway_upstream_response_body_bytes_total",
        "Bytes of response bodies received from the upstream and passed on", {"upstream"});
    if (std::any_of(configs.begin(), configs.end(),
                    [](const UpstreamConfig& c) { return c.retry.has_value(); }) ||
        std::any_of(routes.begin(), routes.end(),
                    [](const Route& r) { return r.retry.has_value(); })) {
      over_budget = &recorder->registry().AddCounterFamily(
          "bulwark_gateway_upstream_retries_over_budget_total",
          "Retries not sent because the upstream's retries in flight were at their budget",
          {"upstream"});
    }
    proxy->breaker_states_ = &recorder->registry().AddGaugeFamily(
        "bulwark_gateway_upstream_circuit_state",
        "The endpoint's circuit breaker: 0 closed, 1 open, 2 half-open", {"upstream", "endpoint"});
    proxy->breaker_openings_ = &recorder->registry().AddCounterFamily(
        "bulwark_gateway_upstream_circuit_opened_total",
        "Times the endpoint's circuit breaker opened", {"upstream", "endpoint"});
  }
  if (std::any_of(configs.begin(), configs.end(),
                  [](const UpstreamConfig& c) { return c.health_check.has_value(); })) {
    proxy->health_ =
        std::make_unique<HealthChecker>(std::vector<HealthChecker::Target>{},
                                        recorder != nullptr ? &recorder->registry() : nullptr);
  }
  // What a configuration gets wrong is told before any name is looked up;
  // then every address is looked up at once, so a resolver that hangs on
  // one name holds start-up back once, not once per name.
  for (const Route& route : routes) {
    if (!route.upstream.empty() &&
        std::none_of(configs.begin(), configs.end(),
                     [&](const UpstreamConfig& c) { return c.name == route.upstream; })) {
      return Err(InvalidArgumentError(
          fmt::format("route '{}': unknown upstream '{}'", route.name, route.upstream)));
    }
  }
  std::vector<std::shared_ptr<net::UpstreamTlsContext>> tls_contexts;
  std::vector<net::NameToResolve> addresses;
  for (const UpstreamConfig& config : configs) {
    if (config.addresses.empty()) {
      return Err(InvalidArgumentError(fmt::format("upstream '{}': no address", config.name)));
    }
    auto& tls_context = tls_contexts.emplace_back();
    if (config.options.tls) {
      auto created = net::UpstreamTlsContext::Create(*config.options.tls);
      if (!created) {
        return Err(InvalidArgumentError(
            fmt::format("upstream '{}': {}", config.name, created.error().message())));
      }
      tls_context = std::move(*created);
    }
    for (const UpstreamAddress& address : config.addresses) {
      addresses.push_back({address.host, std::to_string(address.port)});
    }
  }
  auto resolved_addresses = net::ResolveUpstreams(addresses);
  size_t next_address = 0;
  bool refresh = false;
  for (UpstreamConfig& config : configs) {
    const size_t index = proxy->upstreams_.size();
    Upstream& upstream = *proxy->upstreams_.emplace_back(std::make_unique<Upstream>());
    upstream.name = config.name;
    upstream.least_request = config.balance == UpstreamConfig::Balance::kLeastRequest;
    upstream.tls_context = std::move(tls_contexts[index]);
    upstream.authority = Authority(config.addresses.front().host, config.addresses.front().port);
    upstream.config = std::move(config);
    std::vector<std::string> labels;
    for (const UpstreamAddress& address : upstream.config.addresses) {
      auto& resolved = resolved_addresses[next_address++];
      const bool looked_up_again =
          upstream.config.dns_refresh.count() > 0 && !IsIpLiteral(address.host);
      // A name looked up once must resolve now. One looked up again may
      // come later (a service started after Bulwark, as Compose and
      // Kubernetes start them in any order): until it does, it has no
      // endpoint, and requests that only it could take are answered 503.
      if (!resolved && !looked_up_again) {
        return Err(InvalidArgumentError(
            fmt::format("upstream '{}': {}", upstream.name, resolved.error().message())));
      }
      Upstream::Name& name = upstream.names.emplace_back();
      name.address = address;
      name.authority = Authority(address.host, address.port);
      name.refresh = looked_up_again;
      name.next_lookup = std::chrono::steady_clock::now() + upstream.config.dns_refresh;
      refresh = refresh || name.refresh;
      if (!resolved) {
        log::Warn("gateway.upstream_lookup_failed", {{"upstream", upstream.name},
                                                     {"address", name.authority},
                                                     {"error", resolved.error().message()},
                                                     {"kept", "0 endpoints"}});
        name.failing = true;
        continue;
      }
      // A name of several addresses is an endpoint for each, named by it.
      for (auto& [label, addresses] : EndpointsOf(*resolved, name.authority)) {
        // Two endpoints of one name would share their metrics' series.
        if (std::find(labels.begin(), labels.end(), label) != labels.end()) {
          return Err(InvalidArgumentError(
              fmt::format("upstream '{}': endpoint {} is listed twice", upstream.name, label)));
        }
        labels.push_back(label);
        name.endpoints.push_back(
            proxy->MakeEndpoint(index, address, std::move(label), std::move(addresses)));
      }
    }
    if (retries != nullptr) {
      upstream.retries = &retries->WithLabels({upstream.name});
      upstream.request_bytes = &request_bytes->WithLabels({upstream.name});
      upstream.response_bytes = &response_bytes->WithLabels({upstream.name});
    }
    proxy->Publish(index);
  }
  // Each route's upstream, found here once rather than by name per request,
  // and what of its requests is sent again.
  for (const Route& route : routes) {
    RouteForward& forward = proxy->route_forwards_.emplace_back();
    if (route.upstream.empty()) continue;
    const auto it =  // there is one (checked above)
        std::find_if(proxy->upstreams_.begin(), proxy->upstreams_.end(),
                     [&](const std::unique_ptr<Upstream>& u) { return u->name == route.upstream; });
    Upstream& upstream = **it;
    forward.upstream = static_cast<size_t>(it - proxy->upstreams_.begin());
    const UpstreamConfig& config = upstream.config;
    forward.response_timeout = route.response_timeout.value_or(config.options.response_timeout);
    forward.revisit = route.retry || config.retry;
    forward.retry = route.retry ? *route.retry : config.retry.value_or(RetryPolicy{});
    std::sort(forward.retry.statuses.begin(), forward.retry.statuses.end());
    // Retries under a policy ask the upstream's budget, one for all its
    // routes: its policy's share, or the default's.
    if (forward.revisit && forward.retry.attempts != 1 && !upstream.budget) {
      upstream.budget = std::make_unique<guard::RetryBudget>(guard::RetryBudgetOptions{
          .percent = config.retry.value_or(RetryPolicy{}).budget_percent});
      if (over_budget != nullptr) upstream.over_budget = &over_budget->WithLabels({upstream.name});
    }
  }
  if (refresh) {
    proxy->refresher_ =
        std::jthread([p = proxy.get()](std::stop_token stop) { p->RefreshNames(std::move(stop)); });
  }
  return proxy;
}

int ReverseProxy::MaxTries(const RouteForward& forward, size_t endpoints) {
  const int count = static_cast<int>(endpoints);
  if (!forward.revisit) return count;
  return forward.retry.attempts > 0 ? forward.retry.attempts : std::max(2, count);
}

const std::shared_ptr<ReverseProxy::View>& ReverseProxy::CurrentView(size_t index) const {
  // This thread's views of each proxy's upstreams, by proxy id and upstream.
  thread_local std::unordered_map<uint64_t, std::vector<std::shared_ptr<View>>> views;
  std::vector<std::shared_ptr<View>>& mine = views[id_];
  if (mine.empty()) mine.resize(upstreams_.size());
  std::shared_ptr<View>& view = mine[index];
  const Upstream& upstream = *upstreams_[index];
  if (view && view->generation == upstream.generation.load(std::memory_order_acquire)) {
    return view;
  }
  auto renewed = std::make_shared<View>();
  {
    std::lock_guard<std::mutex> lock(upstream.mu);
    renewed->generation = upstream.generation.load(std::memory_order_relaxed);
    renewed->members = upstream.members;
  }
  // The pools of endpoints that stay go on; those of endpoints gone close
  // their idle connections as the last request holding the old view ends.
  renewed->pools.resize(renewed->size());
  if (view) {
    for (size_t i = 0; i < renewed->size(); ++i) {
      for (size_t j = 0; j < view->size(); ++j) {
        if (view->members->endpoints[j] == renewed->members->endpoints[i]) {
          renewed->pools[i] = view->pools[j];
          break;
        }
      }
    }
  }
  view = std::move(renewed);
  return view;
}

net::UpstreamPool& ReverseProxy::PoolAt(View& view, size_t place,
                                        const asio::any_io_executor& executor) {
  std::shared_ptr<net::UpstreamPool>& pool = view.pools[place];
  if (!pool) {
    const Endpoint& e = view.at(place);
    pool = std::make_shared<net::UpstreamPool>(executor, e.options, e.resolved, e.tls_context);
  }
  return *pool;
}

const ReverseProxy::RouteForward& ReverseProxy::ForwardOf(const Route& route) const {
  return route_forwards_[static_cast<size_t>(&route - gateway_.routes().routes().data())];
}

const std::string& ReverseProxy::UpstreamName(const Endpoint& endpoint) const {
  return upstreams_[endpoint.upstream]->name;
}

bool ReverseProxy::Eligible(const Endpoint& e, std::span<const uint64_t> tried) {
  return std::find(tried.begin(), tried.end(), e.serial) == tried.end() &&
         (!e.health || e.health->healthy());
}

std::optional<size_t> ReverseProxy::ChooseEndpoint(const Upstream& upstream, const View& view,
                                                   guard::CircuitBreaker::Admission& admission,
                                                   std::span<const uint64_t> tried) const {
  const size_t count = view.size();
  if (upstream.least_request && count > 1) {
    if (auto chosen = ChooseLeastLoaded(upstream, view, admission, tried)) return chosen;
  }
  // From the one whose turn it is, the first that is up, and the turn goes
  // to the one after it: one taken out by its health checks or its breaker
  // leaves the others taking even turns.
  // With weights, the turns are those of the upstream's schedule, where an
  // endpoint turned down comes up again: it is looked at once (of the first
  // 64; past them, each time).
  const std::vector<size_t>& schedule = view.members->schedule;
  const bool several = count > 1;
  const size_t turns = schedule.empty() ? count : schedule.size();
  const size_t start = several ? upstream.turn.load(std::memory_order_relaxed) : 0;
  uint64_t turned_down = 0;
  for (size_t i = 0; i < turns; ++i) {
    const size_t turn = (start + i) % turns;
    const size_t place = schedule.empty() ? turn : schedule[turn];
    const uint64_t bit = place < 64 ? uint64_t{1} << place : 0;
    if ((turned_down & bit) != 0) continue;
    const Endpoint& e = view.at(place);
    const bool usable = Eligible(e, tried) && (admission = e.breaker.Admit()) !=
                                                  guard::CircuitBreaker::Admission::kRefused;
    if (!usable) {
      turned_down |= bit;
      continue;
    }
    if (several) upstream.turn.store((turn + 1) % turns, std::memory_order_relaxed);
    return place;
  }
  return std::nullopt;
}

std::optional<size_t> ReverseProxy::ChooseLeastLoaded(const Upstream& upstream, const View& view,
                                                      guard::CircuitBreaker::Admission& admission,
                                                      std::span<const uint64_t> tried) const {
  // Looking at every endpoint is exact but reads a counter that every io
  // thread writes, per endpoint; past four, two drawn at random do almost
  // as well (the power of two choices) for two reads. The turns, and the
  // draws, follow the weighted schedule if there is one, so that ties (all
  // idle, at light load) go by weight too.
  constexpr size_t kLookAtAll = 4;
  const size_t count = view.size();
  const std::vector<size_t>& schedule = view.members->schedule;
  const size_t turns = schedule.empty() ? count : schedule.size();
  const auto place_at = [&](size_t turn) { return schedule.empty() ? turn : schedule[turn]; };
  // Those whose breaker refused: an open breaker's endpoint has nothing in
  // flight, and would otherwise win every time and send all to the turns.
  std::vector<size_t> refused;
  for (size_t attempt = 0; attempt < count; ++attempt) {
    std::optional<size_t> best;  // a place in the view
    size_t best_turn = 0;
    int best_load = 0;
    int best_weight = 1;
    const auto consider = [&](size_t place, size_t turn) {
      const Endpoint& e = view.at(place);
      if (!Eligible(e, tried)) return;
      if (std::find(refused.begin(), refused.end(), place) != refused.end()) return;
      // Fewest in flight for its weight: load / weight < best_load / best_weight.
      const int load = e.in_flight.load(std::memory_order_relaxed);
      if (!best || load * best_weight < best_load * e.weight) {
        best = place;
        best_turn = turn;
        best_load = load;
        best_weight = e.weight;
      }
    };
    if (count <= kLookAtAll) {
      // Each endpoint once, in the order of the turns from the current one.
      const size_t start = upstream.turn.load(std::memory_order_relaxed);
      const unsigned all = (1u << count) - 1;
      unsigned seen = 0;
      for (size_t i = 0; i < turns && seen != all; ++i) {
        const size_t turn = (start + i) % turns;
        const size_t place = place_at(turn);
        if ((seen & (1u << place)) != 0) continue;
        seen |= 1u << place;
        consider(place, turn);
      }
    } else {
      // Two distinct endpoints drawn as the turns weigh them (a few draws
      // for the second, as one endpoint may hold most of the turns).
      thread_local std::minstd_rand draw{std::random_device{}()};
      const size_t first = place_at(draw() % turns);
      consider(first, 0);
      for (int tries = 0; tries < 4; ++tries) {
        const size_t second = place_at(draw() % turns);
        if (second == first) continue;
        consider(second, 0);
        break;
      }
    }
    if (!best) return std::nullopt;
    admission = view.at(*best).breaker.Admit();
    if (admission == guard::CircuitBreaker::Admission::kRefused) {
      refused.push_back(*best);
      continue;
    }
    if (count <= kLookAtAll) {
      upstream.turn.store((best_turn + 1) % turns, std::memory_order_relaxed);
    }
    return best;
  }
  return std::nullopt;
}

asio::awaitable<net::HttpResponse> ReverseProxy::Handle(net::HttpRequest& request) const {
  const auto start = std::chrono::steady_clock::now();
  const bool tls = request.tls != nullptr;
  RequestFacts facts{.method = request.method,
                     .target = request.target,
                     .client_ip = gateway_.ClientAddress(request.remote_address, request.headers),
                     .tls = tls,
                     .tls_info = request.tls.get(),
                     .headers = &request.headers,
                     .applies_cors_policies = true};
  facts.host = FillCredentialFacts(request.headers, facts);
  Decision decision = gateway_.Decide(facts);
  DecisionRecord record(recorder_, "proxy", facts, decision, start);
  // Refused for a kid its issuer's keys lack while they are refetched (the
  // coroutine only then): wait for that fetch and decide once more.
  if (decision.jwks_refetch.pending) {
    co_await DecideAgainAfterKeyRefetch(gateway_, facts, decision, start);
  }

  net::HttpResponse response;
  if (!decision.allowed() || decision.cors_preflight) {
    // A preflight is answered here, allowed or not: the service never
    // gets a request no credential was asked of.
    response = StatusResponse(decision.status);
    response.passed_on_fields = std::move(decision.response_fields);
    // Every answer, a refusal too, tells the id the request is audited under.
    AppendRequestIdField(decision.request_id, response.passed_on_fields);
  } else {
    net::HttpRequest upstream_request;
    // The view of the upstream's endpoints the request was last sent by,
    // and its endpoint's place in it.
    std::shared_ptr<View> view;
    size_t place = 0;
    guard::CircuitBreaker::Admission admission = guard::CircuitBreaker::Admission::kRefused;
    if (auto refused = PrepareForward(request, tls, facts.host, decision, upstream_request, view,
                                      place, admission)) {
      response = std::move(*refused);
      AppendRequestIdField(decision.request_id, response.passed_on_fields);
    } else {
      auto executor = co_await asio::this_coro::executor;
      const Endpoint* endpoint = &view->at(place);
      net::UpstreamPool& pool = PoolAt(*view, place, executor);
      // A WebSocket handshake on a route that allows it, once authorized,
      // becomes a tunnel (the fields of this hop it needs the pool adds);
      // elsewhere it goes on as a plain GET.
      // A body that streams goes to the service as the client sends it; a
      // failure to read it is the client's, not the service's.
      std::shared_ptr<WatchedRequestBody> client_body;
      if (upstream_request.streamed_body) {
        client_body =
            std::make_shared<WatchedRequestBody>(std::move(upstream_request.streamed_body),
                                                 upstreams_[endpoint->upstream]->request_bytes);
        upstream_request.streamed_body = client_body;
      }
      std::optional<std::string> accept;  // what the service's 101 must carry
      if (decision.route->websocket && upstream_request.body.empty() && !client_body) {
        accept = WebSocketAcceptOwed(request);
      }
      const bool tunnel = accept.has_value();
      const Upstream& upstream = *upstreams_[endpoint->upstream];
      const RouteForward& forward = ForwardOf(*decision.route);
      const int max_tries = MaxTries(forward, view->size());
      const bool idempotent = Idempotent(upstream_request.method);
      const bool may_resend = idempotent && !forward.revisit;  // (SendOrUpgrade)
      std::optional<guard::RetryBudget::Request> budgeted;
      if (upstream.budget) budgeted.emplace(*upstream.budget);
      // Read only where the tries are bounded by it (a retry policy).
      const auto first_try = forward.revisit && max_tries > 1
                                 ? std::chrono::steady_clock::now()
                                 : std::chrono::steady_clock::time_point{};
      // A try waits for its answer no longer than the per-try timeout only
      // where a late answer would be tried again; others wait as long as
      // the route's (or its upstream's) response_timeout allows.
      const RetryPolicy& policy = forward.retry;
      const bool late_tried_again = policy.on_timeout && idempotent && !client_body && !tunnel;
      const std::chrono::milliseconds per_try =
          late_tried_again ? policy.per_try_timeout : std::chrono::milliseconds(0);
      upstream_request.response_timeout = TryTimeout(per_try, forward.response_timeout);
      std::optional<InFlight> in_flight;
      if (upstream.least_request) in_flight.emplace(endpoint->in_flight);
      Result<net::HttpResponse> sent =
          co_await SendOrUpgrade(pool, upstream_request, accept, may_resend);
      CountBodySent(upstream.request_bytes, upstream_request, sent);
      // A try that failed as the route's policy allows goes again: to
      // the next endpoint that is up and has not had the request; then,
      // with a policy configured, to one that has, after a backoff. Never a
      // body that streams: the pool may have read some of it.
      std::vector<uint64_t> tried;  // the endpoints that had it, by serial
      int tries = 1;
      int returns = 0;  // tries at an endpoint that had it
      // Returns wait until then, as an answer's Retry-After asked.
      std::chrono::steady_clock::time_point asked_until;
      bool recorded = false;  // the last try's outcome is its breaker's already
      guard::RetryBudget::Retry retry;
      while (!client_body && tries < max_tries &&
             MayGoToNextEndpoint(sent, policy, idempotent, tunnel)) {
        // The try is over: its breaker hears of it before the next
        // endpoint is chosen, so one it opens turns that try away.
        RecordTry(*endpoint, sent, admission);
        recorded = true;
        in_flight.reset();
        if (std::find(tried.begin(), tried.end(), endpoint->serial) == tried.end()) {
          tried.push_back(endpoint->serial);
        }
        // An answer asking to be tried again later (Retry-After) holds back
        // every return to an endpoint that had the request: the one that
        // asked cannot be told from the others a return may go to.
        if (const std::chrono::milliseconds asked = AskedWait(sent); asked.count() > 0) {
          asked_until = std::max(asked_until, std::chrono::steady_clock::now() + asked);
        }
        // With a policy, the tries all end within response_timeout of the
        // first one's start, and none is sent with too little of it left
        // to be answered (it would count against a healthy endpoint).
        std::chrono::milliseconds left = forward.revisit
                                             ? TimeLeft(forward.response_timeout, first_try)
                                             : forward.response_timeout;
        const std::chrono::milliseconds least = std::min(
            kLeastTryTime, std::max(forward.response_timeout / 4, std::chrono::milliseconds(1)));
        if (left < least) break;
        // From the endpoints as they are now (a name's addresses may have
        // changed since the last try).
        std::shared_ptr<View> now = CurrentView(forward.upstream);
        std::optional<size_t> next = ChooseEndpoint(upstream, *now, admission, tried);
        if (!next && forward.revisit) {
          // Not before what the answers asked for; if that leaves too
          // little of the time left for a try, the last answer is the
          // client's at once.
          const std::chrono::milliseconds wait = std::max(
              guard::RetryBackoff(policy.backoff_base, policy.backoff_max, ++returns, RandomDraw()),
              std::chrono::ceil<std::chrono::milliseconds>(asked_until -
                                                           std::chrono::steady_clock::now()));
          if (wait > left - least) break;
          if (wait.count() > 0) co_await Pause(wait);
          left = TimeLeft(forward.response_timeout, first_try);
          if (left < least) break;
          now = CurrentView(forward.upstream);
          next = ChooseEndpoint(upstream, *now, admission);
        }
        if (!next) break;
        // With a policy and tries to spare, a budget (Create); a try after
        // one whose connection was refused is not held to it: that try put
        // no load on any service, and without a policy it would go anyway.
        // (A connect timeout or a failed handshake may have: a full accept
        // queue, a handshake's work.)
        if (forward.revisit && !(!sent && net::IsConnectionRefused(sent.error()))) {
          retry = {};  // this request's last retry, over: not counted against its next
          retry = upstream.budget->TryRetry();
          if (!retry.admitted()) {
            now->at(*next).breaker.RecordAbandoned(admission);
            if (upstream.over_budget != nullptr) upstream.over_budget->Increment();
            break;
          }
        }
        if (upstream.retries != nullptr) upstream.retries->Increment();
        if (log::Enabled(log::Level::kDebug)) {
          log::Debug(
              "gateway.upstream_retry",
              {{"upstream", upstream.name},
               {"failed", endpoint->label},
               {"next", now->at(*next).label},
               {"error", sent ? fmt::format("status {}", sent->status) : sent.error().message()}});
        }
        view = std::move(now);
        place = *next;
        endpoint = &view->at(place);
        recorded = false;
        if (forward.revisit) {
          upstream_request.response_timeout = TryTimeout(per_try, left);
        }
        if (upstream.least_request) in_flight.emplace(endpoint->in_flight);
        sent = co_await SendOrUpgrade(PoolAt(*view, place, executor), upstream_request, accept,
                                      may_resend);
        CountBodySent(upstream.request_bytes, upstream_request, sent);
        ++tries;
      }
      if (client_body && client_body->error()) {
        response = ClientBodyFailed(*endpoint, *client_body->error(), decision, admission);
      } else {
        FinishForward(*endpoint, sent, /*record_try=*/!recorded, admission, decision, response);
        if (upstream.least_request) {  // counted on to the end of a stream or tunnel
          std::atomic<int>& count = endpoint->in_flight;
          const std::shared_ptr<Endpoint>& held = view->members->endpoints[place];
          if (response.streamed_body) {
            response.streamed_body =
                std::make_shared<InFlightBody>(std::move(response.streamed_body), held, count);
          }
          if (response.tunnel) {
            response.tunnel =
                std::make_shared<InFlightTunnel>(std::move(response.tunnel), held, count);
          }
        }
      }
      in_flight.reset();
    }
  }
  // The route's rules and CORS fields, on its every answer (a refusal of
  // Bulwark's too), the CORS fields last, so that a rule for Vary cannot
  // take away its Origin; a preflight's answer has its fields already.
  if (decision.route != nullptr && !decision.route->response_fields.empty()) {
    ApplyResponseFieldRules(decision.route->response_fields, response);
  }
  if (decision.route != nullptr && decision.route->cors && !decision.cors_preflight) {
    for (std::string_view name : kCorsResponseFields) {
      net::EraseFieldLines(response.passed_on_fields, name);
    }
    AppendCorsFields(*decision.route->cors, facts.origin, facts.origin_count,
                     response.passed_on_fields);
  }
  record.Answered(response.status);
  co_return response;
}

std::optional<net::HttpResponse> ReverseProxy::PrepareForward(
    net::HttpRequest& request, bool tls, std::string_view host, Decision& decision,
    net::HttpRequest& upstream_request, std::shared_ptr<View>& view, size_t& chosen,
    guard::CircuitBreaker::Admission& admission) const {
  const Route* route = decision.route;
  const size_t index = route != nullptr ? ForwardOf(*route).upstream : kNoUpstream;
  if (index == kNoUpstream) return StatusResponse(404);
  const Upstream* upstream = upstreams_[index].get();

  upstream_request.method = request.method;
  // The path the route was matched and authorized on, or its rewrite.
  upstream_request.target =
      route->prefix_rewrite ? ForwardedPath(*route, decision.path) : decision.path;
  if (!decision.query.empty()) upstream_request.target.append("?").append(decision.query);
  // The fields go on as lines written once, not as a list of strings to
  // filter and copy again. Expect is Bulwark's to answer (the server sends
  // 100 Continue when a streamed body is first read, once the request is
  // allowed and its head is on its way), so the service is not asked to
  // send a 100 of its own.
  std::string& fields = upstream_request.passed_on_fields;
  fields.reserve(512);
  DroppedRequestFields dropped = DroppedFieldsOf(decision);
  dropped.request_id = gateway_.request_id_mode() != RequestIdMode::kOff;
  AppendForwardedRequestFields(request.headers, dropped, fields);
  for (const auto& [name, value] : route->request_fields.set) {
    net::AppendFieldLine(fields, name, value);
  }
  // The host the route was matched and authorized on goes on as Host, one
  // line the client cannot drop (Connection: Host) or double: an
  // absolute-form target's authority, else the client's Host; if neither
  // (HTTP/1.0, or an empty Host), the upstream's (first) address.
  host = decision.RoutedHost(host);
  if (!host.empty()) {
    net::AppendFieldLine(fields, "Host", host);
  } else {
    net::AppendFieldLine(fields, "Host", upstream->authority);
  }
  AppendForwardedFor(request, gateway_.TrustsProxy(request.remote_address), fields);
  net::AppendFieldLine(fields, "X-Forwarded-Proto", tls ? "https" : "http");
  if (!host.empty()) net::AppendFieldLine(fields, "X-Forwarded-Host", host);
  // A prefix stripped (rewritten to `/`) is told, as Traefik's StripPrefix
  // tells it, so that a service builds its links under it.
  if (route->prefix_rewrite && route->prefix_rewrite->empty()) {
    std::string_view stripped = route->path_prefix;
    if (stripped.ends_with('/')) stripped.remove_suffix(1);
    if (!stripped.empty()) net::AppendFieldLine(fields, "X-Forwarded-Prefix", stripped);
  }
  AppendRequestIdField(decision.request_id, fields);
  if (decision.principal) fields.append(decision.principal->identity_fields());
  if (identity_ != nullptr && decision.principal) {
    Result<std::string> token = identity_->TokenFor(*decision.principal, upstream->name);
    if (!token) {  // never forward without the proof the service may insist on
      log::Error("gateway.identity_token_failed", {{"error", token.error().message()}});
      return StatusResponse(503);
    }
    net::AppendFieldLine(fields, kIdentityTokenHeader, *token);
  }
  upstream_request.body = std::move(request.body);
  upstream_request.streamed_body = std::move(request.streamed_body);

  // Every endpoint failing its health checks or with its breaker open: not
  // even tried.
  view = CurrentView(index);
  const std::optional<size_t> place = ChooseEndpoint(*upstream, *view, admission);
  if (!place) {
    if (recorder_) recorder_->UpstreamError(upstream->name);
    return StatusResponse(503);
  }
  chosen = *place;
  return std::nullopt;
}

net::HttpResponse ReverseProxy::ClientBodyFailed(const Endpoint& endpoint, const Status& error,
                                                 Decision& decision,
                                                 guard::CircuitBreaker::Admission admission) const {
  endpoint.breaker.RecordAbandoned(admission);
  if (log::Enabled(log::Level::kDebug)) {
    log::Debug("gateway.request_body_failed", {{"error", error.message()}});
  }
  net::HttpResponse response = StatusResponse(net::StatusForBodyError(error));
  AppendRequestIdField(decision.request_id, response.passed_on_fields);
  return response;
}

void ReverseProxy::RecordTry(const Endpoint& endpoint, const Result<net::HttpResponse>& sent,
                             guard::CircuitBreaker::Admission admission) {
  guard::CircuitBreaker& breaker = endpoint.breaker;
  if (!sent && net::IsLocalShortage(sent.error())) {
    breaker.RecordAbandoned(admission);
  } else if (!sent || sent->status == 502 || sent->status == 503 || sent->status == 504) {
    breaker.RecordFailure();
  } else {
    breaker.RecordSuccess();
  }
}

void ReverseProxy::FinishForward(const Endpoint& endpoint, Result<net::HttpResponse>& response,
                                 bool record_try, guard::CircuitBreaker::Admission admission,
                                 Decision& decision, net::HttpResponse& out) const {
  if (record_try) RecordTry(endpoint, response, admission);
  if (!response) {
    if (recorder_) recorder_->UpstreamError(UpstreamName(endpoint));
    const bool timeout = response.error().code() == StatusCode::kDeadlineExceeded;
    // Out of descriptors (or memory, or local ports) here: the gateway is
    // overloaded, not the service broken.
    const bool shortage = net::IsLocalShortage(response.error());
    if (shortage) {
      WarnOfLocalShortage(response.error());
    } else if (log::Enabled(log::Level::kDebug)) {
      log::Debug("gateway.upstream_failed",
                 {{"upstream", UpstreamName(endpoint)}, {"error", response.error().message()}});
    }
    out = StatusResponse(timeout ? 504 : shortage ? 503 : 502);
    AppendRequestIdField(decision.request_id, out.passed_on_fields);
    return;
  }
  // A service that answered with an id of its own keeps it (its lines only
  // are looked at: the gateway's come after).
  if (!net::HasFieldLine(response->passed_on_fields, kRequestIdHeader)) {
    AppendRequestIdField(decision.request_id, response->passed_on_fields);
  }
  response->passed_on_fields.append(decision.response_fields);
  metrics::Counter* bytes = upstreams_[endpoint.upstream]->response_bytes;
  if (bytes != nullptr) bytes->Increment(response->body.size());
  if (recorder_ != nullptr && response->streamed_body) {
    response->streamed_body = std::make_shared<CountedStreamedBody>(
        std::move(response->streamed_body), *recorder_, UpstreamName(endpoint), bytes);
  }
  if (recorder_ != nullptr && response->tunnel) {
    response->tunnel = std::make_shared<CountedTunnel>(std::move(response->tunnel), *recorder_,
                                                       UpstreamName(endpoint));
  }
  if (response->tunnel) {
    std::shared_ptr<const Principal> token;
    if (decision.principal && decision.principal->ends_at() != 0 && decision.route != nullptr &&
        !decision.route->websocket_outlives_token) {
      token = decision.principal;
    }
    if (!decision.api_key_id.empty() || token || decision.held_authorization) {
      response->tunnel = std::make_shared<CredentialBoundTunnel>(
          std::move(response->tunnel), gateway_, decision.api_key_id, std::move(token),
          decision.held_authorization);
    }
  }
  out = std::move(*response);
}

}  // namespace bulwark::gateway

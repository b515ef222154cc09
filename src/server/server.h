// Server: builds the components a config names, in order, and runs them.
// This is the one place that wires Bulwark together; later capabilities
// (gateway, tokens, policy) join the pipeline here.
#ifndef BULWARK_SERVER_SERVER_H_
#define BULWARK_SERVER_SERVER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "admin/admin_api.h"
#include "audit/audit_queue.h"
#include "audit/file_audit_sink.h"
#include "core/metrics.h"
#include "core/status.h"
#include "gateway/decision_recorder.h"
#include "gateway/gateway.h"
#include "gateway/reverse_proxy.h"
#include "guard/rate_limiter.h"
#include "identity/api_keys.h"
#include "net/http_server.h"
#include "pdp/authzen_api.h"
#include "pdp/decision_api.h"
#include "pdp/relations_api.h"
#include "policy/policy_store.h"
#include "policy/relation_store.h"
#include "server/server_config.h"
#include "store/store.h"

namespace bulwark::server {

// A running Bulwark process: the store and the HTTP listener with the
// operational endpoints:
//   GET /healthz  200 "ok" while the process serves (liveness)
//   GET /readyz   200 "ready" once the store is open and until shutdown
//                 begins, 503 "not ready" during the drain (readiness)
//   GET /metrics  Prometheus text: requests, decisions, rate limits,
//                 upstream errors, latency, audit queue
//   /auth/nginx, /auth/envoy/..., /auth/traefik   forward-auth decisions
//                 (when the config has a `gateway:` section)
//   /_bulwark/admin/v1/...  the admin API (when the config has an `admin:` section)
//   /v1/authorize[/batch]  Cedar decisions (with a `policy:` section)
//   /v1/relations/...  the relationship API (with a `relations:` section)
//   /access/v1/evaluation[s], /.well-known/authzen-configuration  AuthZEN
//                 (with an `authzen:` section)
//   GET /_bulwark/identity/jwks.json  the public key of the identity tokens
//                 sent to upstreams and in forward-auth answers (when
//                 gateway.identity_token is set)
// Anything else goes through the reverse proxy when a route has an upstream,
// else is 404. Thread-safe.
class Server {
 public:
  // Opens the store and starts listening. kUnavailable if the store file is
  // held by another process or the address is in use; kDataLoss for a
  // corrupt store; kInvalidArgument for an unusable listen address.
  static Result<std::unique_ptr<Server>> Start(const ServerConfig& config);
  ~Server();

  uint16_t port() const;
  // Turns readiness off, drains in-flight requests for up to the configured
  // drain timeout, then closes the listener and the store. Idempotent; never
  // call it from a request handler.
  void Stop();
  // Opens the audit file's path again and writes there from now on, after
  // a rotation moved the file away; OK without an audit file. If the open
  // fails, the error is returned and events go on to the file there was.
  Status ReopenAuditFile();
  bool has_audit_file() const { return audit_sink_ != nullptr; }

 private:
  Server(const ServerConfig& config, std::unique_ptr<store::Store> store);
  // Every request: Bulwark's own endpoints, forward-auth, else the proxy.
  boost::asio::awaitable<net::HttpResponse> Dispatch(net::HttpRequest& request) const;
  // A request whose body streams (net::HttpRequest::streamed_body), for a
  // path of one of Bulwark's APIs: its body read whole first (up to 16 MiB),
  // as they take bodies.
  boost::asio::awaitable<net::HttpResponse> DispatchWithWholeBody(net::HttpRequest& request) const;
  // Whether `request` is to a path of one of the configured APIs that read
  // request bodies (admin, decision, relations, AuthZEN), with that API's
  // token. Every other body that streams is read, if at all, by the proxy
  // once the request is allowed; Bulwark's other endpoints, and the APIs
  // refusing a caller without their token, answer without it.
  bool TakesBodyLocally(const net::HttpRequest& request) const;
  // Whether `target`, as it came, is a forward-auth endpoint's (and
  // forward-auth is on): judged before any API sees its normalized form.
  bool IsForwardAuthCall(std::string_view target) const;
  // The APIs and operational endpoints; nullopt for other paths.
  // An API's request is given a request id first (gateway::RequestIdFor),
  // for its audit events and its answer.
  std::optional<net::HttpResponse> HandleLocal(net::HttpRequest& request) const;
  // The forward-auth decision for a call IsForwardAuthCall recognised.
  boost::asio::awaitable<net::HttpResponse> HandleForwardAuthCall(net::HttpRequest& request) const;

  const ServerConfig config_;
  std::unique_ptr<store::Store> store_;
  metrics::MetricsRegistry metrics_;
  std::unique_ptr<audit::FileAuditSink> audit_sink_;
  std::unique_ptr<audit::AuditQueue> audit_queue_;  // drains into audit_sink_
  std::unique_ptr<gateway::DecisionRecorder> recorder_;
  std::unique_ptr<identity::ApiKeyService> api_key_service_;
  std::unique_ptr<identity::ApiKeyIndex> api_key_index_;   // feeds the gateway's api_key routes
  std::shared_ptr<policy::PolicyStore> policy_store_;      // null unless policy.store
  std::unique_ptr<admin::AdminApi> admin_;                 // null without an admin section
  std::unique_ptr<pdp::DecisionApi> decision_api_;         // null without a policy section
  std::unique_ptr<policy::RelationStore> relation_store_;  // null without a relations section
  std::unique_ptr<pdp::RelationsApi> relations_api_;       // null without a relations section
  std::unique_ptr<pdp::AuthzenApi> authzen_api_;           // null without an authzen section
  std::unique_ptr<gateway::Gateway> gateway_;              // null without a gateway section
  std::unique_ptr<gateway::IdentityTokenSigner> identity_signer_;  // null unless configured
  std::unique_ptr<gateway::ReverseProxy> proxy_;  // null unless a route has an upstream
  // null without TLS or with handshakes_per_client off; used by http_'s threads.
  std::unique_ptr<guard::RateLimiter> handshake_limiter_;
  std::unique_ptr<net::HttpServer> http_;
  std::atomic<bool> ready_{false};
};

}  // namespace bulwark::server

#endif  // BULWARK_SERVER_SERVER_H_

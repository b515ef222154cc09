#include "server/server.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <thread>

#include "core/file.h"
#include "core/log.h"
#include "gateway/forward_auth.h"
#include "gateway/ip_address.h"
#include "gateway/request_id.h"
#include "gateway/status_response.h"
#include "net/async_http_server.h"
#include "net/request_path.h"
#include "policy/cedar_snapshot.h"
#include "policy/policy_store.h"
#include "store/open_store.h"

namespace bulwark::server {

namespace {

net::HttpResponse Text(int status, std::string body) {
  return {.status = status,
          .headers = {{"Content-Type", "text/plain; charset=utf-8"}, {"Cache-Control", "no-store"}},
          .body = std::move(body)};
}

// The most of a body Bulwark's own APIs read (whole, before they check
// anything), whatever server.max_body_bytes allows uploads to services.
constexpr size_t kMaxLocalBodyBytes = size_t{16} << 20;

// How long a stop waits for the audit file to take more of what is queued
// (from its last progress).
constexpr std::chrono::milliseconds kAuditStopTimeout{10'000};

// An answer already made, as the handler's coroutine.
boost::asio::awaitable<net::HttpResponse> Answer(net::HttpResponse response) { co_return response; }

// The policy files as documents for the store: the policies file is the
// document "main".
Result<policy::PolicyDocuments> ReadPolicyFiles(const PolicyConfig& config) {
  policy::PolicyDocuments documents;
  BULWARK_ASSIGN_OR_RETURN(documents.policies["main"], ReadFileToString(config.policies_file));
  if (!config.entities_file.empty()) {
    BULWARK_ASSIGN_OR_RETURN(documents.entities, ReadFileToString(config.entities_file));
  }
  if (!config.schema_file.empty()) {
    BULWARK_ASSIGN_OR_RETURN(documents.schema, ReadFileToString(config.schema_file));
  }
  return documents;
}

// The policies, entities and schema files as one checked snapshot; errors
// name the file (and, for policies that fail validation, the first errors).
Result<policy::cedar::CedarSnapshot> LoadPolicy(const PolicyConfig& config) {
  BULWARK_ASSIGN_OR_RETURN(policy::PolicyDocuments files, ReadPolicyFiles(config));
  auto snapshot = policy::cedar::LoadCedarSnapshot(
      files.policies["main"], files.entities,
      files.schema ? std::optional<std::string_view>(*files.schema) : std::nullopt);
  if (!snapshot) {
    using Part = policy::cedar::SnapshotPart;
    const Part part = snapshot.error().part;
    const std::string& file = part == Part::kPolicies   ? config.policies_file
                              : part == Part::kEntities ? config.entities_file
                                                        : config.schema_file;
    const std::string& message = snapshot.error().status.message();
    // Parse errors start with line:column, which follows the file name.
    const bool located = !message.empty() && message[0] >= '0' && message[0] <= '9';
    return Err(InvalidArgumentError(file + (located ? ":" : ": ") + message));
  }
  log::Info("policy.loaded", {{"policies", static_cast<int64_t>(snapshot->policies->size())},
                              {"entities", static_cast<int64_t>(snapshot->entities->size())},
                              {"schema", snapshot->schema ? "validated" : "none"}});
  return std::move(*snapshot);
}

}  // namespace

Server::Server(const ServerConfig& config, std::unique_ptr<store::Store> store)
    : config_(config), store_(std::move(store)) {}

Result<std::unique_ptr<Server>> Server::Start(const ServerConfig& config) {
  store::StoreOptions store_options;
  store_options.backend = config.store.backend == "memory" ? store::StoreOptions::Backend::kMemory
                                                           : store::StoreOptions::Backend::kSqlite;
  store_options.path = config.store.path;
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, store::OpenStore(store_options));
  log::Info("store.opened", {{"backend", config.store.backend}, {"revision", store->Revision()}});

  std::unique_ptr<Server> server(new Server(config, std::move(store)));
  if (config.audit) {
    BULWARK_ASSIGN_OR_RETURN(server->audit_sink_, audit::FileAuditSink::Open(*config.audit));
    BULWARK_ASSIGN_OR_RETURN(server->audit_queue_, audit::AuditQueue::Create(*server->audit_sink_));
  }
  server->recorder_ =
      std::make_unique<gateway::DecisionRecorder>(server->metrics_, server->audit_queue_.get());
  const Clock& clock = SystemClock::Default();
  server->api_key_service_ = std::make_unique<identity::ApiKeyService>(*server->store_, clock);
  BULWARK_ASSIGN_OR_RETURN(server->api_key_index_,
                           identity::ApiKeyIndex::Create(*server->store_, clock));
  std::shared_ptr<const policy::cedar::SnapshotSource> cedar;
  if (config.policy && config.policy->store) {
    std::optional<policy::PolicyDocuments> seed;
    if (!config.policy->policies_file.empty()) {
      BULWARK_ASSIGN_OR_RETURN(seed, ReadPolicyFiles(*config.policy));
    }
    BULWARK_ASSIGN_OR_RETURN(server->policy_store_,
                             policy::PolicyStore::Open(*server->store_, std::move(seed)));
    log::Info(
        "policy.loaded",
        {{"source", "store"},
         {"revision", server->policy_store_->revision()},
         {"policies", static_cast<int64_t>(server->policy_store_->Current()->policies->size())}});
    cedar = server->policy_store_;
  } else if (config.policy) {
    BULWARK_ASSIGN_OR_RETURN(policy::cedar::CedarSnapshot snapshot, LoadPolicy(*config.policy));
    cedar = std::make_shared<policy::cedar::FixedSnapshot>(std::move(snapshot));
  }
  if (config.policy) {
    server->decision_api_ = std::make_unique<pdp::DecisionApi>(
        pdp::DecisionApiOptions{.token_sha256 = config.policy->api_token_sha256}, cedar,
        server->audit_queue_.get(), clock);
  }
  if (config.relations) {
    std::optional<std::string> seed;
    if (!config.relations->model_file.empty()) {
      auto text = ReadFileToString(config.relations->model_file);
      if (!text) return Err(text.error());
      seed = std::move(*text);
    }
    auto relations = policy::RelationStore::Open(
        *server->store_, std::move(seed), {.consistency_wait = config.relations->consistency_wait});
    if (!relations) {
      return Err(InvalidArgumentError(fmt::format("relations: {}: {}", config.relations->model_file,
                                                  relations.error().message())));
    }
    server->relation_store_ = std::move(*relations);
    server->relations_api_ = std::make_unique<pdp::RelationsApi>(
        pdp::RelationsApiOptions{.token_sha256 = config.relations->api_token_sha256},
        *server->relation_store_, server->audit_queue_.get(), clock);
  }
  if (config.authzen) {
    server->authzen_api_ = std::make_unique<pdp::AuthzenApi>(
        pdp::AuthzenApiOptions{.token_sha256 = config.authzen->api_token_sha256,
                               .policy_decision_point = config.authzen->policy_decision_point,
                               .cedar_action_type = config.authzen->cedar_action_type},
        config.authzen->engine == "cedar" ? cedar : nullptr,
        config.authzen->engine == "relations" ? server->relation_store_.get() : nullptr,
        server->audit_queue_.get(), clock);
  }
  if (config.admin) {
    server->admin_ = std::make_unique<admin::AdminApi>(*config.admin, *server->api_key_service_,
                                                       server->audit_queue_.get(), clock,
                                                       server->policy_store_.get());
  }
  if (config.gateway) {
    gateway::GatewayOptions options = config.gateway->options;
    options.api_keys = server->api_key_index_.get();
    options.cedar = cedar;
    options.relations = server->relation_store_.get();
    options.defer_key_fetches = true;  // below, once the rest is checked
    BULWARK_ASSIGN_OR_RETURN(server->gateway_, gateway::Gateway::Create(std::move(options), clock));
    log::Info("gateway.loaded",
              {{"routes", static_cast<int64_t>(server->gateway_->routes().routes().size())}});
    const auto& routes = server->gateway_->routes().routes();
    if (std::any_of(routes.begin(), routes.end(),
                    [](const auto& r) { return !r.upstream.empty(); })) {
      BULWARK_ASSIGN_OR_RETURN(server->proxy_, gateway::ReverseProxy::Create(
                                                   *server->gateway_, config.gateway->upstreams,
                                                   server->recorder_.get()));
    }
    // For the reverse proxy and for forward-auth's answers alike.
    if (config.gateway->identity_token) {
      BULWARK_ASSIGN_OR_RETURN(
          server->identity_signer_,
          gateway::IdentityTokenSigner::Create(*config.gateway->identity_token, clock));
      if (server->proxy_) server->proxy_->SetIdentitySigner(server->identity_signer_.get());
    }
  }
  net::HttpServerOptions http_options;
  http_options.host = config.listener.host;
  http_options.port = config.listener.port;
  http_options.threads = config.listener.threads;
  http_options.max_connections = config.listener.max_connections;
  http_options.max_connections_per_client = config.listener.max_connections_per_client;
  http_options.max_request_line = config.listener.max_request_line;
  http_options.max_header_bytes = config.listener.max_header_bytes;
  http_options.max_header_count = config.listener.max_header_count;
  http_options.max_body_bytes = config.listener.max_body_bytes;
  // A body over max_held_body_bytes comes to the handler unread: the proxy
  // passes it on as it comes, forward-auth decides on the head alone, and
  // an API reads it whole only for a caller with its token (TakesBodyLocally),
  // so no one else makes the server hold it.
  http_options.max_held_body_bytes = config.listener.max_held_body_bytes;
  http_options.min_body_bytes_per_second = config.listener.min_body_bytes_per_second;
  if (!server->proxy_) {
    http_options.max_body_bytes = std::min(http_options.max_body_bytes, kMaxLocalBodyBytes);
  }
  http_options.io_uring = config.listener.io_uring;
  http_options.busy_poll = config.listener.busy_poll;
  http_options.tls = config.listener.tls;
  if (config.listener.tls && config.listener.handshake_limit) {
    BULWARK_ASSIGN_OR_RETURN(
        guard::RateLimiter limiter,
        guard::RateLimiter::Create(*config.listener.handshake_limit, clock,
                                   {.max_keys = config.listener.handshake_limit_max_keys}));
    server->handshake_limiter_ = std::make_unique<guard::RateLimiter>(std::move(limiter));
    http_options.admit_tls_client =
        [limiter = server->handshake_limiter_.get()](std::string_view client) {
          return limiter->Check(client).allowed;
        };
  }
  // The listener's refusals (smuggling shapes, limits) are decisions too.
  http_options.on_refused = [recorder = server->recorder_.get()](const net::RefusedRequest& r) {
    recorder->ListenerRefused(r.status, r.method, r.target, r.remote_address);
  };
  // Only once the whole configuration is taken and the listener bound
  // (its port and TLS files checked too) are the keys fetched, waiting at
  // most the longest fetch timeout, and before the first connection is
  // accepted, so that the first requests find them.
  if (server->gateway_) {
    http_options.before_serving = [gateway = server->gateway_.get()] {
      gateway->FetchRemoteKeys();
    };
  }
  const Server* self = server.get();
  BULWARK_ASSIGN_OR_RETURN(
      server->http_,
      net::StartAsyncHttpServer(
          http_options,
          [self](net::HttpRequest& request) -> boost::asio::awaitable<net::HttpResponse> {
            if (request.streamed_body && self->TakesBodyLocally(request)) {
              return self->DispatchWithWholeBody(request);
            }
            return self->Dispatch(request);
          }));
  server->ready_ = true;
  log::Info("server.listening", {{"host", config.listener.host},
                                 {"port", static_cast<int64_t>(server->port())},
                                 {"tls", config.listener.tls.has_value()}});
  return server;
}

Server::~Server() { Stop(); }

uint16_t Server::port() const { return http_->port(); }

void Server::Stop() {
  if (!http_) return;
  ready_ = false;
  if (config_.listener.shutdown_delay.count() > 0) {
    log::Info(
        "server.not_ready",
        {{"shutdown_delay_ms", static_cast<int64_t>(config_.listener.shutdown_delay.count())}});
    std::this_thread::sleep_for(config_.listener.shutdown_delay);
  }
  log::Info("server.draining",
            {{"drain_timeout_ms", static_cast<int64_t>(config_.listener.drain_timeout.count())}});
  http_->Stop(config_.listener.drain_timeout);
  http_.reset();
  proxy_.reset();
  // Writes every queued event, unless the sink is stuck for good (a pipe
  // nobody reads): then the process ends without them rather than hang,
  // and the writer keeps the queue and the sink, which are left alive.
  if (audit_queue_ && !audit_queue_->StopWithin(kAuditStopTimeout)) {
    log::Error(
        "audit.stop_timed_out",
        {{"timeout_ms", static_cast<int64_t>(kAuditStopTimeout.count())},
         {"unwritten", audit_queue_->enqueued() - audit_queue_->written() - audit_queue_->lost()}});
    (void)audit_queue_.release();
    (void)audit_sink_.release();
  }
  gateway_.reset();
  admin_.reset();
  decision_api_.reset();
  authzen_api_.reset();
  relations_api_.reset();
  relation_store_.reset();  // ends its store watch
  api_key_index_.reset();   // ends its store watch
  api_key_service_.reset();
  store_.reset();
  log::Info("server.stopped");
}

Status Server::ReopenAuditFile() { return audit_sink_ ? audit_sink_->Reopen() : OkStatus(); }

boost::asio::awaitable<net::HttpResponse> Server::Dispatch(net::HttpRequest& request) const {
  // Not a coroutine itself: it hands the connection the coroutine that
  // answers (the proxy's, for most requests), with no frame between.
  // A forward-auth call is known by its target as it came, before the
  // local APIs judge the normalized one:
  // `/auth/envoy/x/../../../.well-known/authzen-configuration` is a check
  // of that path (which forward-auth refuses), not a call of the API it
  // resolves to, which would answer 200 and so allow it.
  if (IsForwardAuthCall(request.target)) return HandleForwardAuthCall(request);
  if (auto local = HandleLocal(request)) return Answer(std::move(*local));
  if (proxy_) return proxy_->Handle(request);
  return Answer(Text(404, "not found\n"));
}

boost::asio::awaitable<net::HttpResponse> Server::DispatchWithWholeBody(
    net::HttpRequest& request) const {
  const size_t limit = std::min(config_.listener.max_body_bytes, kMaxLocalBodyBytes);
  if (const Status read = co_await net::ReadWholeBody(request, limit); !read.ok()) {
    co_return gateway::StatusResponse(net::StatusForBodyError(read));
  }
  co_return co_await Dispatch(request);
}

bool Server::IsForwardAuthCall(std::string_view target) const {
  return gateway_ && config_.gateway->forward_auth.enabled && gateway::IsForwardAuthTarget(target);
}

bool Server::TakesBodyLocally(const net::HttpRequest& request) const {
  // Judged on the normalized path, as the APIs judge it; a path that does
  // not normalize is none of theirs (the proxy refuses it, body unread),
  // nor is a forward-auth call's, whatever it resolves to. A caller without
  // the API's token is refused on the head, its body never read: a stranger
  // cannot make the server hold megabytes per connection.
  if (IsForwardAuthCall(request.target)) return false;
  const Result<net::NormalizedTarget> normalized = net::NormalizeRequestTarget(request.target);
  if (!normalized) return false;
  const std::string_view path = normalized->path;
  // The APIs in the order HandleLocal asks them.
  if (admin_ && admin::AdminApi::TakesBodyAt(path)) return admin_->TokenAccepted(request);
  if (decision_api_ && pdp::DecisionApi::TakesBodyAt(path)) {
    return decision_api_->TokenAccepted(request);
  }
  if (relations_api_ && pdp::RelationsApi::TakesBodyAt(path)) {
    return relations_api_->TokenAccepted(request);
  }
  return authzen_api_ && pdp::AuthzenApi::TakesBodyAt(path) && authzen_api_->TokenAccepted(request);
}

boost::asio::awaitable<net::HttpResponse> Server::HandleForwardAuthCall(
    net::HttpRequest& request) const {
  auto response = co_await gateway::HandleForwardAuth(
      *gateway_, config_.gateway->forward_auth, request, recorder_.get(), identity_signer_.get());
  // Always an answer: IsForwardAuthCall held (forward-auth on, an endpoint's target).
  co_return response ? std::move(*response) : Text(404, "not found\n");
}

std::optional<net::HttpResponse> Server::HandleLocal(net::HttpRequest& request) const {
  // The APIs judge the normalized path, computed once here for all.
  if (admin_ || decision_api_ || relations_api_ || authzen_api_) {
    if (Result<net::NormalizedTarget> target = net::NormalizeRequestTarget(request.target)) {
      const std::string_view path = target->path;
      // AuthZEN's callers name their requests themselves (its X-Request-ID,
      // echoed as the specification has it).
      if ((admin_ && admin::AdminApi::TakesBodyAt(path)) ||
          (decision_api_ && pdp::DecisionApi::TakesBodyAt(path)) ||
          (relations_api_ && pdp::RelationsApi::TakesBodyAt(path))) {
        // As the gateway's request_id mode says; a new id without a gateway.
        request.request_id = gateway::RequestIdFor(
            gateway_ ? gateway_->request_id_mode() : gateway::RequestIdMode::kGenerate,
            request.Header(gateway::kRequestIdHeader).value_or(""),
            request.HeaderCount(gateway::kRequestIdHeader));
      }
      std::optional<net::HttpResponse> response;
      if (admin_) response = admin_->Handle(request, path);
      if (!response && decision_api_) response = decision_api_->Handle(request, path);
      if (!response && relations_api_) response = relations_api_->Handle(request, path);
      if (!response && authzen_api_) response = authzen_api_->Handle(request, path);
      if (response) {
        if (!request.request_id.empty()) {
          response->headers.emplace_back(gateway::kRequestIdHeader, request.request_id);
        }
        return response;
      }
    }
  }
  std::string_view path = request.target;
  path = path.substr(0, path.find('?'));
  if (path == "/metrics" && (request.method == "GET" || request.method == "HEAD")) {
    if (!config_.listener.MetricsAllowed(request.remote_address)) {
      return Text(403, "forbidden\n");
    }
    recorder_->RefreshAuditGauges();
    if (gateway_) recorder_->RefreshRateLimitGauges(*gateway_);
    return net::HttpResponse{
        .status = 200,
        .headers = {{"Content-Type", std::string(metrics::kPrometheusTextContentType)},
                    {"Cache-Control", "no-store"}},
        .body = metrics_.RenderPrometheusText()};
  }
  if (identity_signer_ && path == gateway::kIdentityJwksPath &&
      (request.method == "GET" || request.method == "HEAD")) {
    return net::HttpResponse{
        .status = 200,
        .headers = {{"Content-Type", "application/jwk-set+json"}, {"Cache-Control", "max-age=300"}},
        .body = identity_signer_->public_jwks()};
  }
  const bool known = path == "/healthz" || path == "/readyz";
  if (!known) return std::nullopt;
  if (request.method != "GET" && request.method != "HEAD") {
    net::HttpResponse r = Text(405, "method not allowed\n");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  if (path == "/healthz") return Text(200, "ok\n");
  return ready_ ? Text(200, "ready\n") : Text(503, "not ready\n");
}

}  // namespace bulwark::server

#include "net/http_server.h"

#include <cstdio>

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/log.h"
#include "core/log_throttle.h"
#include "net/await.h"
#include "net/http_connection.h"
#include "net/listener.h"
#include "net/request_head.h"
#include "net/server_worker.h"
#include "net/streamed_body.h"
#include "net/tls.h"
#include "net/tunnel.h"
#include "net/upstream_pool.h"

namespace bulwark::net {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using internal::ConnectionPhase;
using internal::Worker;

using internal::kAwaitInPlace;
// Pause before accepting again after running out of descriptors or memory.
constexpr std::chrono::milliseconds kAcceptBackoff(50);
constexpr int kMaxThreads = 1024;
constexpr size_t kMaxHeadLimit = 1 << 20;
// A streamed body may be this long; a held one, this.
constexpr size_t kMaxBodyLimit = size_t{1} << 40;
constexpr size_t kMaxHeldBodyLimit = size_t{1} << 30;

Status ValidateOptions(const HttpServerOptions& o, const AsyncHttpHandler& handler) {
  if (!handler) return InvalidArgumentError("HTTP server needs a handler");
  if (o.threads < 0 || o.threads > kMaxThreads) {
    return InvalidArgumentError("threads must be within 0.." + std::to_string(kMaxThreads));
  }
  if (o.listen_backlog <= 0) return InvalidArgumentError("listen_backlog must be positive");
  if (o.max_request_line == 0 || o.max_request_line > kMaxHeadLimit || o.max_header_bytes == 0 ||
      o.max_header_bytes > kMaxHeadLimit || o.max_header_count == 0) {
    return InvalidArgumentError("request line and header limits must be within 1..1 MiB");
  }
  if (o.max_body_bytes > kMaxBodyLimit) {
    return InvalidArgumentError("max_body_bytes must be at most 1 TiB");
  }
  if (std::min(o.max_body_bytes, o.max_held_body_bytes) > kMaxHeldBodyLimit) {
    return InvalidArgumentError("bodies held whole must be at most 1 GiB (max_held_body_bytes)");
  }
  if (o.max_connections == 0) return InvalidArgumentError("max_connections must be positive");
  for (auto timeout :
       {o.header_read_timeout, o.idle_timeout, o.body_read_timeout, o.write_timeout}) {
    if (timeout.count() <= 0) return InvalidArgumentError("timeouts must be positive");
  }
  if (o.min_body_rate_grace.count() < 0) {
    return InvalidArgumentError("min_body_rate_grace must not be negative");
  }
  return OkStatus();
}

bool IsTransientAcceptError(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory || ec == boost::system::errc::too_many_files_open_in_system;
}

// co_spawn completion: a coroutine that ended by an exception is logged.
struct LogIfThrew {
  std::string_view event;
  void operator()(std::exception_ptr e) const {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::Error(event, {{"what", ex.what()}});
    } catch (...) {
      log::Error(event, {{"what", "non-standard exception"}});
    }
  }
};

// Whether bytes of a request are waiting on the connection, on its socket
// or read ahead into OpenSSL: a request in flight, not idleness.
bool HasBytesWaiting(internal::ConnectionSlot& slot) {
  boost::system::error_code ec;
  return slot.stream->available(ec) > 0 || (slot.tls != nullptr && SSL_has_pending(slot.tls) == 1);
}

// At the connection limit: closes the connection of this worker that is
// nearest its deadline among those waiting for a request with nothing of
// one arrived (between requests, or before the first), to make room for a
// new one, as nginx reuses its idle keep-alive connections. Clients that
// hold idle connections so cannot keep new ones out. False if none is idle.
// (The closed one gives its unit back as its coroutine ends, so the count
// may stand one over the limit until then.)
bool ReclaimIdleConnection(Worker& worker) {
  internal::ConnectionSlot* chosen = nullptr;
  for (internal::ConnectionSlot* slot : worker.connections) {
    // timed_out: cancelled already, by the sweep or by an earlier call.
    if (slot->phase != ConnectionPhase::kIdle || slot->timed_out || HasBytesWaiting(*slot)) {
      continue;
    }
    if (chosen == nullptr || slot->deadline < chosen->deadline) chosen = slot;
  }
  if (chosen == nullptr) return false;
  chosen->timed_out = true;
  boost::system::error_code ec;
  chosen->stream->cancel(ec);
  log::Debug("net.http.idle_connection_reclaimed", {});
  return true;
}

asio::awaitable<void> AcceptLoop(Worker& worker) {
  internal::ServerShared& shared = worker.shared;
  asio::steady_timer backoff(worker.ioc);
  tcp::endpoint peer;  // the client's address, as accept tells it (no getpeername)
  for (;;) {
    auto [ec, socket] = co_await worker.acceptor.async_accept(peer, kAwaitInPlace);
    if (shared.stopping.load(std::memory_order_acquire)) co_return;
    if (ec == asio::error::connection_aborted) continue;
    if (ec) {
      // Out of descriptors, every thread meets it 20 times a second. Any
      // other error (EPERM from a firewall or security module, a network
      // error accept(2) passes on: ENETDOWN, EHOSTUNREACH...) concerns one
      // connection, as accept(2) says. Either way the loop goes on after a
      // pause: were it to end, this thread's socket would stay in the
      // reuse-port group, and the kernel would go on handing it a share of
      // the new connections that no one takes. (The acceptor stays open:
      // only Stop closes it, after shutting down listen_fd.)
      static log::Throttle shortage_throttle(std::chrono::seconds(10));
      static log::Throttle other_throttle(std::chrono::seconds(10));
      if (IsTransientAcceptError(ec)) {
        if (const std::optional<int64_t> held = shortage_throttle.Pass()) {
          log::Warn("net.http.accept_backoff", {{"error", ec.message()}, {"suppressed", *held}});
        }
      } else if (const std::optional<int64_t> held = other_throttle.Pass()) {
        log::Error("net.http.accept_failed", {{"error", ec.message()}, {"suppressed", *held}});
      }
      backoff.expires_after(kAcceptBackoff);
      co_await backoff.async_wait(kAwaitInPlace);
      continue;
    }
    const bool over_limit = shared.connections.fetch_add(1) >= shared.options.max_connections;
    internal::ConnectionTicket ticket(shared);
    if (over_limit && !ReclaimIdleConnection(worker)) {
      log::Debug("net.http.connection_limit", {{"limit", shared.options.max_connections}});
      continue;  // the ticket gives the unit back; the socket closes
    }
    const size_t per_client = shared.options.max_connections_per_client;
    const bool admit_tls = shared.tls && shared.options.admit_tls_client;
    const std::string client =
        per_client > 0 || admit_tls ? internal::ClientConnectionKey(peer.address()) : "";
    if (per_client > 0) {
      if (!shared.per_client.TryAcquire(client, per_client)) {
        log::Debug("net.http.client_connection_limit", {{"client", client}});
        continue;  // the socket closes
      }
      ticket.AdoptClient(client);
    }
    if (admit_tls && !shared.options.admit_tls_client(client)) {
      log::Debug("net.tls.client_handshake_limit", {{"client", client}});
      continue;  // the socket closes, before any of the handshake's work
    }
    if (shared.tls) {
      auto [context, trust_generation] = shared.tls->CurrentWithTrust();
      asio::co_spawn(
          worker.ioc,
          internal::ServeTlsConnection(std::move(socket), peer, worker, std::move(ticket),
                                       std::move(context), trust_generation),
          LogIfThrew{"net.http.connection_threw"});
    } else {
      asio::co_spawn(worker.ioc,
                     internal::ServeConnection(std::move(socket), peer, worker, std::move(ticket)),
                     LogIfThrew{"net.http.connection_threw"});
    }
  }
}

}  // namespace

namespace internal {

std::string ClientConnectionKey(const asio::ip::address& address) {
  if (address.is_v4()) return address.to_string();
  const asio::ip::address_v6 v6 = address.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string();
  asio::ip::address_v6::bytes_type bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

ClientConnectionCounts::Shard& ClientConnectionCounts::ShardFor(const std::string& client) {
  return shards_[std::hash<std::string>{}(client) % shards_.size()];
}

bool ClientConnectionCounts::TryAcquire(const std::string& client, size_t limit) {
  Shard& shard = ShardFor(client);
  std::lock_guard<std::mutex> lock(shard.mu);
  size_t& count = shard.counts[client];
  if (limit > 0 && count >= limit) {
    if (count == 0) shard.counts.erase(client);
    return false;
  }
  ++count;
  return true;
}

void ClientConnectionCounts::Release(const std::string& client) {
  Shard& shard = ShardFor(client);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.counts.find(client);
  if (it != shard.counts.end() && --it->second == 0) shard.counts.erase(it);
}

}  // namespace internal

namespace {

// Runs on the worker's thread once Stop has begun.
void BeginDrain(Worker& worker) {
  boost::system::error_code ec;
  worker.acceptor.close(ec);
  for (internal::ConnectionSlot* slot : worker.connections) {
    if (slot->phase == ConnectionPhase::kActive) continue;
    if (slot->phase == ConnectionPhase::kIdle && HasBytesWaiting(*slot)) continue;
    // A tunnel's relay that was busy writing meets the end on its next read
    // (the descriptor stays until the tunnel lets it go).
    if (slot->phase == ConnectionPhase::kTunnel) {
      internal::EndTraffic(*slot->stream);
    } else {
      slot->stream->cancel(ec);
    }
  }
}

thread_local Worker* current_worker = nullptr;

// Runs the worker's io_context as run() does, but once no work is ready it
// polls for new events for up to `busy_poll` before it blocks (see
// HttpServerOptions::busy_poll). Returns once the io_context has stopped.
void RunPolling(asio::io_context& ioc, std::chrono::microseconds busy_poll) {
  while (!ioc.stopped()) {
    if (ioc.poll() > 0) continue;
    const auto until = std::chrono::steady_clock::now() + busy_poll;
    size_t ran = 0;
    while (ran == 0 && !ioc.stopped() && std::chrono::steady_clock::now() < until) {
      ran = ioc.poll();
    }
    if (ran == 0 && !ioc.stopped()) ioc.run_one();
  }
}

void RunWorker(Worker& worker) {
  current_worker = &worker;
  // On this thread, which alone uses it (net/io_batch.h).
  if (worker.shared.options.io_uring) worker.batch = internal::IoBatch::Create(worker.ioc);
  const std::chrono::microseconds busy_poll = worker.shared.options.busy_poll;
  for (;;) {
    try {
      if (busy_poll.count() > 0) {
        RunPolling(worker.ioc, busy_poll);
      } else {
        worker.ioc.run();
      }
      break;
    } catch (const std::exception& e) {
      log::Error("net.http.io_thread_caught", {{"what", e.what()}});
    }
  }
  worker.batch.reset();
}

}  // namespace

namespace internal {

Worker* CurrentWorker() { return current_worker; }

Worker::~Worker() {
  for (UpstreamPool* pool : upstream_pools) pool->worker_ = nullptr;
}

namespace {

// Ends each tunnel whose credential no longer stands: a client certificate
// of which a certificate of its chain has expired, or a CRL it was checked
// against has passed its next update (client_chain_expiry), or whose CA
// bundle or CRL a reload changed; an API key revoked or expired, a token
// past its exp (Tunnel::EndedCredential). A request on such a connection is refused
// (421, 401); a tunnel has no request to refuse, so its traffic ends, and
// the client connects again under the credential it has now.
void CutTunnelsWhoseCredentialEnded(Worker& worker) {
  const auto now = static_cast<int64_t>(std::time(nullptr));
  const uint64_t generation = worker.shared.tls ? worker.shared.tls->TrustGeneration() : 0;
  for (ConnectionSlot* slot : worker.connections) {
    if (slot->phase != ConnectionPhase::kTunnel) continue;
    const bool identity_ended =
        slot->identity != nullptr && slot->identity->ClientIdentityEnded(now, generation);
    const std::string_view credential_ended =
        slot->tunnel != nullptr ? slot->tunnel->EndedCredential() : std::string_view();
    if (!identity_ended && credential_ended.empty()) continue;
    log::Info("net.http.tunnel_credential_ended",
              {{"credential",
                identity_ended ? std::string_view("client certificate") : credential_ended}});
    slot->identity = nullptr;  // once
    slot->tunnel = nullptr;
    EndTraffic(*slot->stream);
  }
}

}  // namespace

asio::awaitable<void> SweepDeadlines(Worker& worker) {
  for (;;) {
    // A pooled upstream connection is registered too, so the sweep does
    // not sleep while one waits to be closed below.
    worker.sweep_sleeping = worker.connections.empty() && worker.upstream_streams.empty();
    // Asleep, it waits for a registration to cancel the wait (or an hour).
    worker.sweep_timer.expires_after(
        worker.sweep_sleeping ? std::chrono::milliseconds(std::chrono::hours(1)) : kDeadlineSweep);
    co_await worker.sweep_timer.async_wait(kAwaitInPlace);
    worker.sweep_sleeping = false;
    const auto now = ConnectionSlot::Clock::now();
    for (auto* set : {&worker.connections, &worker.upstream_streams}) {
      for (ConnectionSlot* slot : *set) {
        if (slot->deadline > now) continue;
        // Again on every sweep while it has passed: an operation started
        // after a cancel is cancelled too.
        slot->timed_out = true;
        boost::system::error_code ec;
        slot->stream->cancel(ec);
      }
    }
    // After the loops above: a pooled connection closed leaves
    // upstream_streams.
    if (now >= worker.next_idle_sweep) {
      worker.next_idle_sweep = now + kIdleSweep;
      for (UpstreamPool* pool : worker.upstream_pools) pool->CloseIdle();
      CutTunnelsWhoseCredentialEnded(worker);
    }
  }
}

}  // namespace internal

std::optional<std::string_view> HttpRequest::Header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (EqualsIgnoreCase(field, name)) return std::string_view(value);
  }
  return std::nullopt;
}

size_t HttpRequest::HeaderCount(std::string_view name) const {
  return static_cast<size_t>(std::count_if(headers.begin(), headers.end(), [&](const auto& f) {
    return EqualsIgnoreCase(f.first, name);
  }));
}

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, AsyncHttpHandler handler)
      : shared_(std::move(options), std::move(handler)) {}
  ~Impl() { Stop(std::chrono::milliseconds(0)); }

  void SetTls(std::unique_ptr<internal::TlsContextSource> tls) { shared_.tls = std::move(tls); }
  Status Listen();
  Status StartThreads();
  void Stop(std::chrono::milliseconds drain_timeout);

  uint16_t port() const { return port_; }
  size_t threads() const { return workers_.size(); }
  const HttpServerOptions& options() const { return shared_.options; }

 private:
  internal::ServerShared shared_;
  std::vector<std::unique_ptr<Worker>> workers_;  // guarded by stop_mu_ once started
  std::vector<std::thread::id> io_thread_ids_;    // fixed once started
  uint16_t port_ = 0;
  std::mutex stop_mu_;
  bool started_ = false;  // guarded by stop_mu_
  bool stopped_ = false;  // guarded by stop_mu_
};

Status HttpServer::Impl::Listen() {
  const HttpServerOptions& options = shared_.options;
  BULWARK_ASSIGN_OR_RETURN(tcp::endpoint endpoint,
                           internal::ResolveListenEndpoint(options.host, options.port));
  if (endpoint.port() != 0) BULWARK_RETURN_IF_ERROR(internal::CheckPortFree(endpoint));
  const int threads = options.threads > 0
                          ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  for (int i = 0; i < threads; ++i) {
    auto worker = std::make_unique<Worker>(shared_);
    BULWARK_RETURN_IF_ERROR(
        internal::ListenReusePort(worker->acceptor, endpoint, options.listen_backlog));
    if (endpoint.port() == 0) {  // the rest join the port the kernel picked for the first
      boost::system::error_code ec;
      endpoint.port(worker->acceptor.local_endpoint(ec).port());
      if (ec) return UnavailableError("cannot read the bound port: " + ec.message());
    }
    worker->listen_fd = worker->acceptor.native_handle();
    workers_.push_back(std::move(worker));
  }
  port_ = endpoint.port();
  return OkStatus();
}

Status HttpServer::Impl::StartThreads() {
  std::lock_guard<std::mutex> lock(stop_mu_);
  started_ = true;
  for (auto& worker : workers_) {
    asio::co_spawn(worker->ioc, AcceptLoop(*worker), LogIfThrew{"net.http.accept_loop_threw"});
    asio::co_spawn(worker->ioc, internal::SweepDeadlines(*worker),
                   LogIfThrew{"net.http.deadline_sweep_threw"});
  }
  for (auto& worker : workers_) {
    try {
      worker->thread = std::thread([w = worker.get()] { RunWorker(*w); });
    } catch (const std::system_error& e) {
      return UnavailableError(std::string("cannot start io thread: ") + e.what());
    }
    io_thread_ids_.push_back(worker->thread.get_id());
  }
  return OkStatus();
}

void HttpServer::Impl::Stop(std::chrono::milliseconds drain_timeout) {
  if (std::find(io_thread_ids_.begin(), io_thread_ids_.end(), std::this_thread::get_id()) !=
      io_thread_ids_.end()) {
    log::Error("net.http.stop_on_io_thread");  // it would wait for itself forever
    std::abort();
  }
  std::lock_guard<std::mutex> lock(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  shared_.stopping.store(true, std::memory_order_release);
  for (auto& worker : workers_) {
    // Stops accepting now, even while a handler holds the worker's thread.
    if (worker->listen_fd >= 0) ::shutdown(worker->listen_fd, SHUT_RDWR);
    asio::post(worker->ioc, [w = worker.get()] { BeginDrain(*w); });
  }
  {
    std::unique_lock<std::mutex> drained(shared_.drained_mu);
    shared_.drained_cv.wait_for(drained, drain_timeout,
                                [this] { return shared_.connections.load() == 0; });
  }
  const size_t abandoned = shared_.connections.load();
  for (auto& worker : workers_) worker->ioc.stop();
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
  // Destroying the io_contexts destroys what still runs there, closing its sockets.
  workers_.clear();
  if (started_) log::Info("net.http.stopped", {{"port", port_}, {"abandoned", abandoned}});
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { impl_->Stop(std::chrono::milliseconds(0)); }

uint16_t HttpServer::port() const { return impl_->port(); }

void HttpServer::Stop(std::chrono::milliseconds drain_timeout) { impl_->Stop(drain_timeout); }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options,
                                                      HttpHandler handler) {
  if (!handler) return Err(InvalidArgumentError("HTTP server needs a handler"));
  return StartAsyncHttpServer(
      std::move(options),
      [handler = std::move(handler)](HttpRequest& request) -> asio::awaitable<HttpResponse> {
        co_return handler(request);
      });
}

namespace internal {
struct ServerFactory {
  using Impl = HttpServer::Impl;
  static Result<std::unique_ptr<HttpServer>> Start(HttpServerOptions options,
                                                   AsyncHttpHandler handler);
};
}  // namespace internal

Result<std::unique_ptr<HttpServer>> StartAsyncHttpServer(HttpServerOptions options,
                                                         AsyncHttpHandler handler) {
  return internal::ServerFactory::Start(std::move(options), std::move(handler));
}

Result<std::unique_ptr<HttpServer>> internal::ServerFactory::Start(HttpServerOptions options,
                                                                   AsyncHttpHandler handler) {
  try {
    BULWARK_RETURN_IF_ERROR(ValidateOptions(options, handler));
    std::unique_ptr<internal::TlsContextSource> tls;
    if (options.tls) {
      BULWARK_ASSIGN_OR_RETURN(tls, internal::TlsContextSource::Create(*options.tls));
    }
    auto impl = std::make_unique<Impl>(std::move(options), std::move(handler));
    impl->SetTls(std::move(tls));
    BULWARK_RETURN_IF_ERROR(impl->Listen());
    if (const auto& before_serving = impl->options().before_serving) before_serving();
    BULWARK_RETURN_IF_ERROR(impl->StartThreads());
    log::Info("net.http.started", {{"port", impl->port()}, {"threads", impl->threads()}});
    return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
  } catch (const std::exception& e) {
    return Err(InternalError(std::string("cannot start HTTP server: ") + e.what()));
  }
}

int StatusForBodyError(const Status& error) {
  switch (error.code()) {
    case StatusCode::kResourceExhausted:
      return 413;
    case StatusCode::kDeadlineExceeded:
      return 408;
    default:
      return 400;
  }
}

asio::awaitable<Status> ReadWholeBody(HttpRequest& request, size_t max_bytes) {
  const std::shared_ptr<StreamedBody> body = std::move(request.streamed_body);
  if (body == nullptr) co_return OkStatus();
  if (body->length() && *body->length() > max_bytes) {
    co_return ResourceExhaustedError("request body too large");
  }
  request.body.clear();
  for (;;) {
    const Result<std::string_view> piece = co_await body->Next();
    if (!piece) co_return piece.error();
    if (piece->empty()) co_return OkStatus();
    if (piece->size() > max_bytes - request.body.size()) {
      co_return ResourceExhaustedError("request body too large");
    }
    request.body.append(*piece);
  }
}

std::string_view BearerTokenOf(const HttpRequest& request) {
  if (request.HeaderCount("Authorization") != 1) return {};
  return BearerToken(*request.Header("Authorization")).value_or(std::string_view());
}

HttpResponse BearerRefusal(const HttpRequest& request, std::string_view realm,
                           std::string_view message) {
  HttpResponse response = JsonError(401, message);
  std::string challenge = "Bearer realm=\"" + std::string(realm) + "\"";
  if (!BearerTokenOf(request).empty()) challenge += ", error=\"invalid_token\"";
  response.headers.emplace_back("WWW-Authenticate", std::move(challenge));
  return response;
}

HttpResponse JsonResponse(int status, std::string json) {
  // nosniff: an answer that names what a request sent (an unknown field)
  // is never read by a browser as anything but JSON.
  return {.status = status,
          .headers = {{"Content-Type", "application/json"},
                      {"Cache-Control", "no-store"},
                      {"X-Content-Type-Options", "nosniff"}},
          .body = std::move(json) + "\n"};
}

HttpResponse JsonError(int status, std::string_view message) {
  std::string body = "{\"error\":\"";
  for (const char c : message) {
    if (c == '"' || c == '\\') {
      body += '\\';
      body += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      body += escaped;
    } else {
      body += c;
    }
  }
  return JsonResponse(status, body + "\"}");
}

}  // namespace bulwark::net

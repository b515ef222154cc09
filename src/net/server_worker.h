// The pieces of a running HttpServer that its io threads share. Internal to
// net/ (includes Asio and Beast); not part of the public API.
#ifndef BULWARK_NET_SERVER_WORKER_H_
#define BULWARK_NET_SERVER_WORKER_H_

#include <time.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <utility>

#include <array>
#include <boost/asio/io_context.hpp>
#include <string>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

#include "net/async_http_server.h"
#include "net/http_response.h"
#include "net/http_server.h"
#include "net/io_batch.h"
#include "net/tls_context.h"

struct ssl_st;  // OpenSSL's SSL

namespace bulwark::net {
struct TlsConnectionInfo;
class Tunnel;
class UpstreamPool;
}  // namespace bulwark::net

namespace bulwark::net::internal {

// The key a client's connections are counted under: its IPv4 address (an
// IPv4-mapped IPv6 one too), or its IPv6 /64, which a subscriber gets whole
// (RFC 6177), as the rate limits key it: one holder of a /64 does not get a
// fresh allowance with each of its addresses.
std::string ClientConnectionKey(const boost::asio::ip::address& address);

// Open connections per client address, shared by every io thread. Touched
// once when a connection is accepted and once when it closes, never per
// request; sharded so accepting threads rarely meet on one lock.
class ClientConnectionCounts {
 public:
  // Counts one more connection from `client` unless it already has `limit`
  // (0 = no limit); false (and nothing counted) if it has.
  bool TryAcquire(const std::string& client, size_t limit);
  void Release(const std::string& client);

 private:
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, size_t> counts;  // guarded by mu
  };
  Shard& ShardFor(const std::string& client);
  std::array<Shard, 16> shards_;
};

// State of one server that every io thread reads. Thread-safe.
struct ServerShared {
  ServerShared(HttpServerOptions o, AsyncHttpHandler h)
      : options(std::move(o)), handler(std::move(h)) {}

  const HttpServerOptions options;
  const AsyncHttpHandler handler;
  std::unique_ptr<TlsContextSource> tls;  // set before the io threads start, if TLS
  ClientConnectionCounts per_client;
  // Set once by Stop: stop accepting, answer in-flight requests with
  // `Connection: close`, serve nothing new.
  std::atomic<bool> stopping{false};
  // Accepted connections not yet closed, on all threads.
  std::atomic<size_t> connections{0};
  std::mutex drained_mu;               // pairs with drained_cv; guards no data
  std::condition_variable drained_cv;  // notified when connections drops to 0
};

// Holds one unit of ServerShared::connections and gives it back when
// destroyed, also when a connection's coroutine frame is destroyed unrun.
class ConnectionTicket {
 public:
  // Adopts a unit already added to shared.connections.
  explicit ConnectionTicket(ServerShared& shared) : shared_(&shared) {}
  ConnectionTicket(ConnectionTicket&& other) noexcept
      : shared_(std::exchange(other.shared_, nullptr)), client_(std::move(other.client_)) {}
  ConnectionTicket& operator=(ConnectionTicket&&) = delete;
  ~ConnectionTicket() {
    if (shared_ == nullptr) return;
    if (!client_.empty()) shared_->per_client.Release(client_);
    if (shared_->connections.fetch_sub(1) == 1) {
      std::lock_guard<std::mutex> lock(shared_->drained_mu);
      shared_->drained_cv.notify_all();
    }
  }
  // Also holds one unit of per_client for `client`, already acquired.
  void AdoptClient(std::string client) { client_ = std::move(client); }

 private:
  ServerShared* shared_;
  std::string client_;
};

// Where a connection is in its life, as Stop needs to know.
enum class ConnectionPhase {
  kIdle,       // waiting for the first byte of a request: closed at once by Stop
  kActive,     // a request has begun arriving, is being handled or answered
  kLingering,  // answered and closing, draining what the client still sends
  kTunnel,     // after a 101, relaying (net/tunnel.h): cut by Stop, as it never ends by itself
};

// Ends a connection's traffic both ways but keeps its descriptor: pending
// operations fail at once and later reads meet the end, while no other
// connection can be given the number a coroutine may still use
// (TunnelEnd::Shutdown, and Stop's cut of a tunnel).
inline void EndTraffic(boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  socket.cancel(ec);
  socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
}

// CLOCK_MONOTONIC_COARSE: the monotonic time as of the kernel's last tick (a
// few milliseconds at most behind), read without the hardware counter. The
// deadlines below are checked every kDeadlineSweep, so a finer clock would
// only cost more on each of the several reads a request makes.
struct CoarseSteadyClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<CoarseSteadyClock>;
  static constexpr bool is_steady = true;
  static time_point now() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
  }
};

// A live connection as its io thread lists it, with the deadline of the I/O
// it awaits. The worker's sweep (every kDeadlineSweep) cancels the stream's
// pending operations while the deadline has passed, instead of a timer
// armed and cancelled around every read and write.
struct ConnectionSlot {
  using Clock = CoarseSteadyClock;
  boost::asio::ip::tcp::socket* stream = nullptr;
  ConnectionPhase phase = ConnectionPhase::kIdle;
  // A TLS connection's OpenSSL, whose bytes read ahead from the socket are
  // waiting too (BeginDrain); null for a plain one.
  ssl_st* tls = nullptr;
  Clock::time_point deadline = Clock::time_point::max();
  bool timed_out = false;  // set by the sweep when it cancelled for the deadline
  // A TLS tunnel's connection facts (the connection's own, which outlive
  // the slot's registration): one opened on a client certificate runs only
  // while that stands (TlsConnectionInfo::ClientIdentityEnded); the idle
  // sweep ends it after (CutTunnelsWhoseCredentialEnded). Null otherwise.
  const TlsConnectionInfo* identity = nullptr;
  // The tunnel the connection has become, asked by the same sweep whether
  // the credential it was opened on still stands; null before.
  const Tunnel* tunnel = nullptr;

  void ExpireAfter(std::chrono::milliseconds timeout) {
    deadline = Clock::now() + timeout;
    timed_out = false;
  }
  void ExpireNever() { deadline = Clock::time_point::max(); }
};

// How often a worker sweeps its connections' deadlines: a timeout fires up
// to this late. While it has none to watch it sleeps until one registers.
inline constexpr std::chrono::milliseconds kDeadlineSweep(50);
// How often it closes its upstream pools' idle connections that timed out
// or were closed by the service.
inline constexpr std::chrono::seconds kIdleSweep(1);

// One io thread with its io_context, listening socket and connections.
// Except for `shared` and `listen_fd`, members are touched only on `thread`
// while it runs, and by Stop after it has been joined.
struct Worker {
  explicit Worker(ServerShared& s) : shared(s) {}
  // Tells the pools still registered that it is gone.
  ~Worker();

  ServerShared& shared;
  std::unordered_set<ConnectionSlot*> connections;
  // Streams to upstreams opened on this thread, swept like connections.
  std::unordered_set<ConnectionSlot*> upstream_streams;
  // Pools of upstream connections made on this thread, whose idle
  // connections (each in upstream_streams) the sweep closes
  // (UpstreamPool::CloseIdle) every kIdleSweep.
  std::unordered_set<UpstreamPool*> upstream_pools;
  ConnectionSlot::Clock::time_point next_idle_sweep{};
  HttpDateCache date;
  // Declared after the members above so it is destroyed before them: its
  // destruction destroys unfinished connection frames, which unregister.
  // One thread runs it and only that thread touches its sockets (Stop posts
  // to it; upstream pools are per thread), so the reactor's per-socket locks
  // are left out; posting and timers stay thread-safe.
  boost::asio::io_context ioc{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  boost::asio::ip::tcp::acceptor acceptor{ioc};
  boost::asio::steady_timer sweep_timer{ioc};
  bool sweep_sleeping = false;  // the sweep waits for a registration
  // The listening descriptor, fixed once bound. Stop shuts it down from its
  // own thread so accepting ends at once even while a handler holds this
  // thread; only the io thread (after that) or the destructor closes it.
  int listen_fd = -1;
  // The thread's sends on plain sockets, issued together (null: one system
  // call each). Created and destroyed on the io thread; after ioc, so it
  // goes first.
  std::unique_ptr<IoBatch> batch;
  std::thread thread;
};

// Registers a connection (or an upstream stream, in worker.upstream_streams)
// with its worker for as long as it lives.
class ConnectionRegistration {
 public:
  ConnectionRegistration(Worker& worker, ConnectionSlot& slot)
      : ConnectionRegistration(worker, slot, worker.connections) {}
  ConnectionRegistration(Worker& worker, ConnectionSlot& slot,
                         std::unordered_set<ConnectionSlot*>& set)
      : worker_(worker), slot_(slot), set_(set) {
    set_.insert(&slot_);
    if (worker_.sweep_sleeping) worker_.sweep_timer.cancel();  // sweep from now on
  }
  ~ConnectionRegistration() { set_.erase(&slot_); }
  ConnectionRegistration(const ConnectionRegistration&) = delete;
  ConnectionRegistration& operator=(const ConnectionRegistration&) = delete;

 private:
  Worker& worker_;
  ConnectionSlot& slot_;
  std::unordered_set<ConnectionSlot*>& set_;
};

// The worker whose io thread this is, or null on any other thread.
Worker* CurrentWorker();

// The batch of the io thread this is (see net/io_batch.h), or null: on
// another thread, or where io_uring is off or not available.
inline IoBatch* CurrentBatch() {
  Worker* worker = CurrentWorker();
  return worker != nullptr ? worker->batch.get() : nullptr;
}

// Cancels the pending I/O of every stream of `worker` whose deadline has
// passed, every kDeadlineSweep, for as long as the worker runs.
boost::asio::awaitable<void> SweepDeadlines(Worker& worker);

}  // namespace bulwark::net::internal

#endif  // BULWARK_NET_SERVER_WORKER_H_

#include "net/resolve.h"

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include <boost/asio/io_context.hpp>

namespace bulwark::net {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// The lookups running in the process, given up on or not, each with the
// callers waiting for its answer (a call's batch, and the name's place in
// it), by name: a caller that asks for a name being looked up waits for
// that lookup rather than starting another.
struct Batch;
struct Waiter {
  std::shared_ptr<Batch> batch;
  size_t index;
};
struct InFlight {
  std::mutex mu;
  int count = 0;  // guarded by mu
  // By host and port.
  std::map<std::pair<std::string, std::string>, std::vector<Waiter>> lookups_of;  // guarded by mu
};
// Never destroyed: a detached lookup thread may still end after the
// process has begun to exit, and must not find it gone.
InFlight& in_flight = *new InFlight;
// A name whose lookup hangs, asked again and again: the callers beyond
// these are refused at once.
constexpr size_t kMaxWaitersPerLookup = 64;

std::vector<tcp::endpoint> SystemLookup(const std::string& host, const std::string& port) {
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  boost::system::error_code ec;
  const auto results = resolver.resolve(host, port, ec);  // getaddrinfo, on this thread
  std::vector<tcp::endpoint> endpoints;
  if (!ec) {
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }
  return endpoints;
}

// What one call's lookup threads and the call share; whichever finishes
// last frees it.
struct Batch {
  explicit Batch(size_t names) : found(names) {}
  std::mutex mu;
  std::condition_variable_any cv;
  // Guarded by mu: each name's addresses once its lookup has ended, and
  // how many lookups have ended.
  std::vector<std::optional<std::vector<tcp::endpoint>>> found;
  size_t ended = 0;
};

// `host` as an IP literal with `port`: the endpoint, an error for a bad
// port, or nullopt if `host` is a name.
std::optional<Result<std::vector<tcp::endpoint>>> Literal(const std::string& host,
                                                          const std::string& port) {
  boost::system::error_code ec;
  const asio::ip::address literal = asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  int number = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return Err(InvalidArgumentError("bad port " + port));
    number = number * 10 + (c - '0');
    if (number > 65535) return Err(InvalidArgumentError("bad port " + port));
  }
  if (port.empty()) return Err(InvalidArgumentError("bad port"));
  return std::vector<tcp::endpoint>{tcp::endpoint(literal, static_cast<uint16_t>(number))};
}

// Starts the lookup of name `index` of `batch` on a detached thread of its
// own, or has it wait for the lookup of the same name already running:
// kResourceExhausted if kMaxLookupsInFlight are running, kUnavailable if
// kMaxWaitersPerLookup already wait for the name or no thread can start.
Status Start(const std::shared_ptr<Batch>& batch, size_t index, const NameToResolve& name,
             const internal::NameLookup& lookup) {
  std::pair<std::string, std::string> key{name.host, name.port};
  {
    std::lock_guard<std::mutex> lock(in_flight.mu);
    if (auto running = in_flight.lookups_of.find(key); running != in_flight.lookups_of.end()) {
      if (running->second.size() >= kMaxWaitersPerLookup) {
        return UnavailableError("a lookup of " + name.host +
                                " is still running; the resolver is not answering");
      }
      running->second.push_back({batch, index});
      return OkStatus();
    }
    if (in_flight.count >= kMaxLookupsInFlight) {
      return Status(StatusCode::kResourceExhausted,
                    "too many name lookups in flight; the resolver is not answering");
    }
    in_flight.lookups_of.emplace(key, std::vector<Waiter>{{batch, index}});
    ++in_flight.count;
  }
  try {
    std::thread([host = name.host, port = name.port, lookup, key] {
      std::vector<tcp::endpoint> endpoints;
      try {
        endpoints = lookup(host, port);
      } catch (...) {  // (bad_alloc): no addresses, never an exception on a detached thread
      }
      // The slot frees before the answer is told: a caller that waited for
      // it finds room for its next lookup.
      std::vector<Waiter> waiters;
      {
        std::lock_guard<std::mutex> lock(in_flight.mu);
        --in_flight.count;
        auto node = in_flight.lookups_of.extract(key);
        waiters = std::move(node.mapped());
      }
      for (const Waiter& waiter : waiters) {
        {
          std::lock_guard<std::mutex> lock(waiter.batch->mu);
          waiter.batch->found[waiter.index] = endpoints;
          ++waiter.batch->ended;
        }
        waiter.batch->cv.notify_all();
      }
    }).detach();
  } catch (...) {  // no thread, or no memory for what it holds
    // Callers that joined meanwhile are not told: they wait out their time.
    std::lock_guard<std::mutex> lock(in_flight.mu);
    --in_flight.count;
    in_flight.lookups_of.erase(key);
    return UnavailableError("cannot start a name lookup");
  }
  return OkStatus();
}

}  // namespace

Result<std::vector<tcp::endpoint>> ResolveWithin(const std::string& host, const std::string& port,
                                                 std::chrono::milliseconds timeout,
                                                 std::stop_token stop) {
  return internal::ResolveWithin(host, port, timeout, SystemLookup, std::move(stop));
}

std::vector<Result<std::vector<tcp::endpoint>>> ResolveAllWithin(
    std::span<const NameToResolve> names, std::chrono::milliseconds timeout, std::stop_token stop) {
  return internal::ResolveAllWithin(names, timeout, SystemLookup, std::move(stop));
}

namespace internal {

std::vector<Result<std::vector<tcp::endpoint>>> ResolveAllWithin(
    std::span<const NameToResolve> names, std::chrono::milliseconds timeout,
    const NameLookup& lookup, std::stop_token stop) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const size_t count = names.size();
  // Each name's answer, known before any lookup (a literal, a name asked
  // twice: `same` is the first asking) or once its lookup ends.
  std::vector<std::optional<Result<std::vector<tcp::endpoint>>>> known(count);
  std::vector<size_t> same(count);
  for (size_t i = 0; i < count; ++i) {
    same[i] = i;
    known[i] = Literal(names[i].host, names[i].port);
    if (known[i]) continue;
    for (size_t j = 0; j < i; ++j) {
      if (names[j].host == names[i].host && names[j].port == names[i].port) {
        same[i] = j;
        break;
      }
    }
  }
  // A window of lookups: the next name starts as one of this call's ends,
  // at most kMaxLookupsPerCall at a time so others keep room for theirs.
  auto batch = std::make_shared<Batch>(count);
  std::unique_lock<std::mutex> lock(batch->mu);
  size_t next = 0;
  size_t running = 0;
  size_t ended_seen = 0;
  for (;;) {
    for (; next < count && running < kMaxLookupsPerCall; ++next) {
      if (known[next] || same[next] != next) continue;
      // None starts once the answers are no longer waited for.
      if (stop.stop_requested() || std::chrono::steady_clock::now() >= deadline) break;
      Status begun = Start(batch, next, names[next], lookup);
      if (begun.ok()) {
        ++running;
      } else if (begun.code() == StatusCode::kResourceExhausted && running > 0) {
        break;  // room again once one of ours ends
      } else {
        known[next] = Err(UnavailableError(begun.message()));
      }
    }
    if (running == 0) break;  // all answered, or none more to start
    if (!batch->cv.wait_until(lock, stop, deadline, [&] { return batch->ended > ended_seen; })) {
      break;  // stopped, or out of time
    }
    running -= batch->ended - ended_seen;
    ended_seen = batch->ended;
  }
  std::vector<Result<std::vector<tcp::endpoint>>> results;
  results.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const size_t first = same[i];
    if (known[first]) {
      results.push_back(*known[first]);
    } else if (batch->found[first]) {
      if (batch->found[first]->empty()) {
        results.push_back(Err(UnavailableError("cannot resolve " + names[i].host)));
      } else {
        results.push_back(*batch->found[first]);
      }
    } else if (stop.stop_requested()) {
      results.push_back(
          Err(Status(StatusCode::kCancelled, "resolving " + names[i].host + " was cancelled")));
    } else {
      results.push_back(Err(DeadlineExceededError("resolving " + names[i].host + " timed out")));
    }
  }
  return results;
}

Result<std::vector<tcp::endpoint>> ResolveWithin(const std::string& host, const std::string& port,
                                                 std::chrono::milliseconds timeout,
                                                 const NameLookup& lookup, std::stop_token stop) {
  const NameToResolve name{host, port};
  return std::move(ResolveAllWithin(std::span(&name, 1), timeout, lookup, std::move(stop))[0]);
}

}  // namespace internal
}  // namespace bulwark::net

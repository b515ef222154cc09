#include "net/resolve.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include <boost/asio/io_context.hpp>

namespace bulwark::net {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::atomic<int> lookups_in_flight{0};

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

// What the lookup thread and its caller share; whichever finishes last frees it.
struct Lookup {
  std::mutex mu;
  std::condition_variable_any cv;
  bool done = false;                     // guarded by mu
  std::vector<tcp::endpoint> endpoints;  // guarded by mu
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

// Starts the lookup of `host` on a detached thread of its own.
Result<std::shared_ptr<Lookup>> Start(const std::string& host, const std::string& port,
                                      const internal::NameLookup& lookup) {
  if (lookups_in_flight.fetch_add(1) >= kMaxLookupsInFlight) {
    lookups_in_flight.fetch_sub(1);
    return Err(UnavailableError("too many name lookups in flight; the resolver is not answering"));
  }
  auto shared = std::make_shared<Lookup>();
  auto run = [shared, host, port, lookup] {
    std::vector<tcp::endpoint> endpoints;
    try {
      endpoints = lookup(host, port);
    } catch (...) {  // (bad_alloc): no addresses, never an exception on a detached thread
    }
    {
      std::lock_guard<std::mutex> lock(shared->mu);
      shared->endpoints = std::move(endpoints);
      shared->done = true;
    }
    shared->cv.notify_all();
    lookups_in_flight.fetch_sub(1);
  };
  try {
    std::thread(std::move(run)).detach();
  } catch (const std::system_error&) {
    lookups_in_flight.fetch_sub(1);
    return Err(UnavailableError("cannot start a name lookup"));
  }
  return shared;
}

// What the lookup of `host` found by `deadline`.
Result<std::vector<tcp::endpoint>> Await(Lookup& lookup, const std::string& host,
                                         std::chrono::steady_clock::time_point deadline,
                                         std::stop_token stop) {
  std::unique_lock<std::mutex> lock(lookup.mu);
  if (!lookup.cv.wait_until(lock, stop, deadline, [&] { return lookup.done; })) {
    if (stop.stop_requested())
      return Err(Status(StatusCode::kCancelled, "resolving " + host + " was cancelled"));
    return Err(DeadlineExceededError("resolving " + host + " timed out"));
  }
  if (lookup.endpoints.empty()) return Err(UnavailableError("cannot resolve " + host));
  return std::move(lookup.endpoints);
}

}  // namespace

Result<std::vector<tcp::endpoint>> ResolveWithin(const std::string& host, const std::string& port,
                                                 std::chrono::milliseconds timeout,
                                                 std::stop_token stop) {
  return internal::ResolveWithin(host, port, timeout, SystemLookup, std::move(stop));
}

std::vector<Result<std::vector<tcp::endpoint>>> ResolveAllWithin(
    std::span<const NameToResolve> names, std::chrono::milliseconds timeout, std::stop_token stop) {
  return internal::ResolveAllWithin(names, timeout, std::move(stop), SystemLookup);
}

namespace internal {

std::vector<Result<std::vector<tcp::endpoint>>> ResolveAllWithin(
    std::span<const NameToResolve> names, std::chrono::milliseconds timeout, std::stop_token stop,
    const NameLookup& lookup) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // All started first, then each waited for: literals and lookups that
  // could not start have their answer in `known`.
  std::vector<std::shared_ptr<Lookup>> started(names.size());
  std::vector<std::optional<Result<std::vector<tcp::endpoint>>>> known(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    known[i] = Literal(names[i].host, names[i].port);
    if (known[i]) continue;
    if (stop.stop_requested()) {
      known[i] =
          Err(Status(StatusCode::kCancelled, "resolving " + names[i].host + " was cancelled"));
      continue;
    }
    Result<std::shared_ptr<Lookup>> begun = Start(names[i].host, names[i].port, lookup);
    if (begun) {
      started[i] = std::move(*begun);
    } else {
      known[i] = Err(begun.error());
    }
  }
  std::vector<Result<std::vector<tcp::endpoint>>> results;
  results.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    results.push_back(started[i] ? Await(*started[i], names[i].host, deadline, stop)
                                 : std::move(*known[i]));
  }
  return results;
}

Result<std::vector<tcp::endpoint>> ResolveWithin(const std::string& host, const std::string& port,
                                                 std::chrono::milliseconds timeout,
                                                 NameLookup lookup, std::stop_token stop) {
  const NameToResolve name{host, port};
  return std::move(ResolveAllWithin(std::span(&name, 1), timeout, std::move(stop), lookup)[0]);
}

}  // namespace internal
}  // namespace bulwark::net

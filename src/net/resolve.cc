#include "net/resolve.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
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
  std::condition_variable cv;
  bool done = false;                     // guarded by mu
  std::vector<tcp::endpoint> endpoints;  // guarded by mu
};

}  // namespace

Result<std::vector<tcp::endpoint>> ResolveWithin(const std::string& host, const std::string& port,
                                                 std::chrono::milliseconds timeout) {
  return internal::ResolveWithin(host, port, timeout, SystemLookup);
}

namespace internal {

Result<std::vector<tcp::endpoint>> ResolveWithin(const std::string& host, const std::string& port,
                                                 std::chrono::milliseconds timeout,
                                                 NameLookup lookup) {
  boost::system::error_code ec;
  const asio::ip::address literal = asio::ip::make_address(host, ec);
  if (!ec) {
    int number = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return Err(InvalidArgumentError("bad port " + port));
      number = number * 10 + (c - '0');
      if (number > 65535) return Err(InvalidArgumentError("bad port " + port));
    }
    if (port.empty()) return Err(InvalidArgumentError("bad port"));
    return std::vector<tcp::endpoint>{tcp::endpoint(literal, static_cast<uint16_t>(number))};
  }
  if (lookups_in_flight.fetch_add(1) >= kMaxLookupsInFlight) {
    lookups_in_flight.fetch_sub(1);
    return Err(UnavailableError("too many name lookups in flight; the resolver is not answering"));
  }
  auto shared = std::make_shared<Lookup>();
  auto run = [shared, host, port, lookup = std::move(lookup)] {
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
  std::unique_lock<std::mutex> lock(shared->mu);
  if (!shared->cv.wait_for(lock, timeout, [&] { return shared->done; })) {
    return Err(DeadlineExceededError("resolving " + host + " timed out"));
  }
  if (shared->endpoints.empty()) return Err(UnavailableError("cannot resolve " + host));
  return std::move(shared->endpoints);
}

}  // namespace internal
}  // namespace bulwark::net

// Name resolution with a deadline. getaddrinfo cannot be interrupted, and a
// resolver that does not answer would otherwise hold its caller for as long
// as the system's resolver settings allow (attempts times timeouts, for each
// name server), so a name is looked up on a detached thread that the caller
// waits for at most `timeout`. A lookup given up on finishes on its own and
// frees what it holds. IP literals are answered at once, without a thread.
// For background threads and start-up, never for an io thread (it blocks).
#ifndef BULWARK_NET_RESOLVE_H_
#define BULWARK_NET_RESOLVE_H_

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "core/status.h"

namespace bulwark::net {

// The addresses of `host` (a name or an IP literal) for `port`.
// kDeadlineExceeded when the lookup takes longer than `timeout`;
// kUnavailable when the name does not resolve, or when kMaxLookupsInFlight
// lookups (of any caller in the process, given up on or not) are still
// running: a resolver that hangs cannot pile up threads without bound.
Result<std::vector<boost::asio::ip::tcp::endpoint>> ResolveWithin(
    const std::string& host, const std::string& port, std::chrono::milliseconds timeout);

inline constexpr int kMaxLookupsInFlight = 16;

namespace internal {

// The lookup ResolveWithin runs on its thread: getaddrinfo by default.
using NameLookup = std::function<std::vector<boost::asio::ip::tcp::endpoint>(
    const std::string& host, const std::string& port)>;

// ResolveWithin with another lookup (tests: one that hangs).
Result<std::vector<boost::asio::ip::tcp::endpoint>> ResolveWithin(const std::string& host,
                                                                  const std::string& port,
                                                                  std::chrono::milliseconds timeout,
                                                                  NameLookup lookup);

}  // namespace internal
}  // namespace bulwark::net

#endif  // BULWARK_NET_RESOLVE_H_

// Name resolution with a deadline. getaddrinfo cannot be interrupted, and a
// resolver that does not answer would otherwise hold its caller for as long
// as the system's resolver settings allow (attempts times timeouts, for each
// name server), so a name is looked up on a detached thread that the caller
// waits for at most `timeout`. A lookup given up on finishes on its own and
// frees what it holds. Several names are looked up at once, each on its own
// thread. IP literals are answered at once, without a thread.
// For background threads and start-up, never for an io thread (it blocks).
#ifndef BULWARK_NET_RESOLVE_H_
#define BULWARK_NET_RESOLVE_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "core/status.h"

namespace bulwark::net {

// The addresses of `host` (a name or an IP literal) for `port`.
// kDeadlineExceeded when the lookup takes longer than `timeout`;
// kUnavailable when the name does not resolve, when kMaxLookupsInFlight
// lookups (of any caller in the process, given up on or not) are still
// running: a resolver that hangs cannot pile up threads without bound. A
// name already being looked up (by any caller) is not looked up again: the
// caller waits for that lookup's answer, so a name that hangs holds one
// thread however often it is asked for.
// kCancelled at once when `stop` is requested while the lookup runs (a
// shutdown need not wait for a resolver that does not answer).
Result<std::vector<boost::asio::ip::tcp::endpoint>> ResolveWithin(const std::string& host,
                                                                  const std::string& port,
                                                                  std::chrono::milliseconds timeout,
                                                                  std::stop_token stop = {});

struct NameToResolve {
  std::string host;  // a name or an IP literal
  std::string port;
};

// ResolveWithin for several names at once, each looked up on a thread of
// its own and all waited for until `timeout` from the call: a name whose
// lookup hangs holds the others back no longer than that. At most
// kMaxLookupsPerCall run at a time (others keep room for theirs): the next
// name starts as one of them ends, and fails kUnavailable only if none of
// this call's could start. A name asked twice, here or by another caller
// meanwhile, is looked up once. The results are in the order of `names`.
std::vector<Result<std::vector<boost::asio::ip::tcp::endpoint>>> ResolveAllWithin(
    std::span<const NameToResolve> names, std::chrono::milliseconds timeout,
    std::stop_token stop = {});

inline constexpr int kMaxLookupsInFlight = 16;
inline constexpr size_t kMaxLookupsPerCall = kMaxLookupsInFlight / 2;

namespace internal {

// The lookup ResolveWithin runs on its thread: getaddrinfo by default.
using NameLookup = std::function<std::vector<boost::asio::ip::tcp::endpoint>(
    const std::string& host, const std::string& port)>;

// ResolveAllWithin with another lookup (tests: one that hangs).
std::vector<Result<std::vector<boost::asio::ip::tcp::endpoint>>> ResolveAllWithin(
    std::span<const NameToResolve> names, std::chrono::milliseconds timeout,
    const NameLookup& lookup, std::stop_token stop = {});

// ResolveWithin with another lookup.
Result<std::vector<boost::asio::ip::tcp::endpoint>> ResolveWithin(const std::string& host,
                                                                  const std::string& port,
                                                                  std::chrono::milliseconds timeout,
                                                                  const NameLookup& lookup,
                                                                  std::stop_token stop = {});

}  // namespace internal
}  // namespace bulwark::net

#endif  // BULWARK_NET_RESOLVE_H_

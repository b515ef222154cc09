// The outcome of a read or write that a test runs on its own io_context,
// and running that context until it comes. Test code only.
#ifndef BULWARK_TESTS_NET_IO_OUTCOME_H_
#define BULWARK_TESTS_NET_IO_OUTCOME_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

namespace bulwark::net::io_test {

// An error (none for success) and the bytes read, if any.
using Outcome = std::tuple<boost::system::error_code, std::string>;
// Shared with the operation's handler, which may outlive a test that gave
// up waiting for it.
using Pending = std::shared_ptr<std::optional<Outcome>>;

inline Pending NewPending() { return std::make_shared<std::optional<Outcome>>(); }

inline Outcome Bytes(std::string bytes) { return {boost::system::error_code(), std::move(bytes)}; }

// Never an operation's own outcome: it did not complete in time.
inline const Outcome kTimedOut{boost::asio::error::timed_out, ""};

// Runs `ioc` until `out` is set or `limit` passes: its outcome, or kTimedOut.
inline Outcome Await(boost::asio::io_context& ioc, const Pending& out,
                     std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!out->has_value() && std::chrono::steady_clock::now() < give_up) {
    ioc.restart();
    ioc.run_for(std::chrono::milliseconds(5));
  }
  if (!out->has_value()) return kTimedOut;
  return **out;
}

}  // namespace bulwark::net::io_test

#endif  // BULWARK_TESTS_NET_IO_OUTCOME_H_

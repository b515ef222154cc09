// Sends of bytes ready for the wire (on plain sockets, or TLS records a
// TlsSocket sealed), queued over one pass of an io thread and handed to the
// kernel together through io_uring; internal to net/.
//
// The proxy's path makes four system calls per request: a recv(2) and a
// send(2) towards the client, the same towards the service, each with its
// own entry into the kernel and exit from it. Where that crossing is dear (a
// virtual machine whose kernel isolates page tables without PCIDs spends
// over a microsecond on an empty system call and flushes the TLB both ways)
// it costs as much as the TCP work. Here a coroutine queues its send and
// yields; a handler posted behind the io thread's other ready work submits
// the sends in one io_uring_enter(2), and resumes each coroutine with what
// its send did.
//
// The sends wait for one more pass of the event loop before they go, and
// for a second when that pass finished reads (none once the first send has
// waited 100 µs): a loaded thread that finds one or two requests per pass
// then sends the answers of several passes in one call, and its peers (the
// clients, the services) get them together, woken once, where each pass's
// few sends would wake them each time. An idle thread pays one epoll_wait
// that finds nothing, a microsecond or so.
//
// A flush submits the requests to services first, then the answers to
// clients, each in the order they queued. A request sets its service to
// work, and the answer it will give waits for that work; an answer only
// lets its client send again. With the client and the service sharing a
// core (bench/gateway.sh), the service then took less of that core per
// request (0.15-0.33 us less), and the proxy served 1.4-2.0 % more requests
// per second in each of five rounds against the optimized build before. A
// socket has one send under way at a time (each caller awaits its send
// before the next), so no socket's bytes are reordered.
//
// A send never waits (MSG_DONTWAIT): it takes what the socket takes, and the
// caller writes the rest through Asio. So every send completes within its
// submission and nothing is left in the kernel between passes: no
// cancelling, no deadline and no completion to collect later.
//
// Receives stay one system call each (net/reactor_receive.h). Waiting for data
// in the ring moves the wake-up of the connection into the sender's softirq,
// where on loopback it cost the client and the service more than the call
// it saved here.
//
// Where io_uring cannot be set up (an old kernel, a seccomp profile that
// refuses it, kernel.io_uring_disabled, the `server.io_uring: false` option)
// Create returns null and the callers send with one system call each.
#ifndef BULWARK_NET_IO_BATCH_H_
#define BULWARK_NET_IO_BATCH_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include "net/await.h"

namespace bulwark::net::internal {

class IoBatch {
 public:
  // A batch for the io thread that runs `ioc`, or null if io_uring is not
  // available here (the reason is logged once per process). Used by that
  // thread only.
  static std::unique_ptr<IoBatch> Create(boost::asio::io_context& ioc);
  // Sends still queued are dropped unsent, their handlers destroyed unrun,
  // as Asio destroys the handlers it holds when its io_context goes.
  ~IoBatch();
  IoBatch(const IoBatch&) = delete;
  IoBatch& operator=(const IoBatch&) = delete;

  // Which sends of a flush go first (above).
  enum class Turn { kAnswer, kRequest };

  // Awaits (error, bytes) for one send(2) of `buffer` on `fd` that does not
  // wait: the bytes sent may be fewer than its size (the rest would block),
  // or 0. The buffer must live until it completes. `turn` is kRequest for
  // a request to a service.
  auto Send(int fd, boost::asio::const_buffer buffer, Turn turn = Turn::kAnswer);

  // The ring's descriptor, for a test that puts another file in its place to
  // make the kernel refuse the next submission.
  int RingFdForTesting() const;
  // How many submissions (io_uring_enter calls) the sends have taken.
  uint64_t SubmissionsForTesting() const { return submissions_; }
  // Replaces kLongestWait, for tests on machines slow enough to reach it.
  void SetLongestWaitForTesting(std::chrono::microseconds wait) { longest_wait_ = wait; }

 private:
  using Handler = boost::asio::any_completion_handler<void(boost::system::error_code, size_t)>;
  struct Request {
    int fd = -1;
    const void* data = nullptr;
    size_t size = 0;
  };
  struct Op {
    Request request;
    Handler handler;
    int result = 0;  // what send(2) returned, or -errno
  };
  struct Ring;

  IoBatch(boost::asio::io_context& ioc, std::unique_ptr<Ring> ring);

  // Queued sends wait for at most this many more passes of the event loop
  // (a flush posted from a handler already runs behind the next
  // epoll_wait; each pass waited adds one), and never once the first of
  // them has waited this long: a pass of slow work (handshakes, fresh
  // signatures) does not hold the others' sends much past it.
  static constexpr int kPassesToWait = 2;
  static constexpr std::chrono::microseconds kLongestWait{100};

  auto Start(Request request, Turn turn);
  void Queue(Request request, Turn turn, Handler handler);
  void PostFlush();
  // Whether the queued sends wait for another pass (and the flush is posted
  // behind it).
  bool WaitAnotherPass();
  // Sends what the passes queued and resumes their coroutines.
  void Flush();
  // Sends running_[first, first + count) and records their results.
  void Issue(size_t first, size_t count);
  static int SendDirectly(const Request& request);

  boost::asio::io_context& ioc_;
  std::unique_ptr<Ring> ring_;
  // Queued since the last flush: requests to services, and the rest.
  std::vector<Op> pending_requests_;
  std::vector<Op> pending_;
  std::vector<Op> running_;  // the flush under way, requests first
  bool flush_posted_ = false;
  uint64_t submissions_ = 0;
  int passes_waited_ = 0;    // by the sends queued
  uint64_t reads_seen_ = 0;  // ReadsFinishedOnThisThread() when the last wait began
  std::chrono::steady_clock::time_point first_queued_;  // the first of them
  std::chrono::microseconds longest_wait_ = kLongestWait;
  // What a posted flush holds of the batch: expired once it is destroyed.
  std::shared_ptr<const bool> alive_ = std::make_shared<const bool>(true);
  // The ring failed once (never expected): sends go one call each.
  bool broken_ = false;
};

// The operation goes through Asio's initiation as a Request: Asio may copy
// the arguments, and an Op holds a handler that must not be copied.
inline auto IoBatch::Start(Request request, Turn turn) {
  return boost::asio::async_initiate<decltype(kAwaitInPlace),
                                     void(boost::system::error_code, size_t)>(
      [this](auto handler, Request request, Turn turn) {
        Queue(request, turn, Handler(std::move(handler)));
      },
      kAwaitInPlace, request, turn);
}

inline auto IoBatch::Send(int fd, boost::asio::const_buffer buffer, Turn turn) {
  return Start(Request{.fd = fd, .data = buffer.data(), .size = buffer.size()}, turn);
}

}  // namespace bulwark::net::internal

#endif  // BULWARK_NET_IO_BATCH_H_

// Reads of a TCP socket that tell Asio's reactor when they drained it, so
// that the next read waits without first trying; internal to net/.
//
// Asio's own read first tries recv(2) at once, unless the reactor knows the
// socket has nothing: and with the Boost of Debian 12 (1.81) it learns that
// only at the end of the stream. On a keep-alive connection the next request,
// or the service's answer to the request just sent, is hardly ever there yet
// when the read begins, so nearly every read cost a recv(2) that failed with
// EAGAIN before the reactor waited (a readiness wait, async_wait, costs an
// epoll_ctl(2) instead).
//
// With TCP_INQ on the socket (EnableReceiveHints), each recvmsg(2) also tells
// how much is left to read, a FIN counting as a byte. When nothing is,
// AsyncReceive tells the reactor the socket is drained, and the next read
// waits for the socket's next edge-triggered readiness without trying first.
// What comes in between is not missed: its edge is still to be reported, and
// the reactor then reads at once. A read short of its buffer is not proof
// enough (a FIN may be queued behind the data, and no edge would come for
// it), nor is TCP_INQ's count after a report of an error or a hang-up (a
// reset is not counted): see ReportedTrouble. nginx reads the same way, with
// EPOLLRDHUP, which Asio does not ask for.
//
// TLS connections (TlsSocket) let OpenSSL read the socket itself, through
// ReceiveTelling, and wait with AsyncWaitReadable, which costs no system call
// where async_wait costs an epoll_ctl(2).
//
// The operations are Asio's reactor operations with a perform step of their
// own (Boost.Asio's detail interface, epoll reactor). They have no
// per-operation cancellation: cancelling or closing the socket ends them, as
// the worker's sweep does.
#ifndef BULWARK_NET_REACTOR_RECEIVE_H_
#define BULWARK_NET_REACTOR_RECEIVE_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/detail/bind_handler.hpp>
#include <boost/asio/detail/handler_cont_helpers.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <boost/system/error_code.hpp>

#include <boost/asio/version.hpp>

#if !defined(BOOST_ASIO_HAS_EPOLL) || defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#error "net/reactor_receive.h is written for Asio's epoll reactor"
#endif
// It uses Asio's detail interface (the reactor's operations, a socket's
// registration), which may change in any release: review it on an upgrade.
static_assert(BOOST_ASIO_VERSION == 102600, "net/reactor_receive was written for Asio 1.26");

namespace bulwark::net::internal {

using Reactor = boost::asio::detail::reactor;

// Asks the kernel to tell each read of `socket` how much is left (TCP_INQ),
// which lets AsyncReceive skip the read that would find nothing. Once per
// connection.
void EnableReceiveHints(boost::asio::ip::tcp::socket& socket);

// recvmsg(2) of up to `size` bytes into `data`, retried if interrupted: what
// recv(2) would return (errno set on -1). `drained` says whether the socket
// has nothing left: the read would block, or TCP_INQ said so (never without
// EnableReceiveHints).
ssize_t ReceiveTelling(int descriptor, void* data, size_t size, bool& drained);

// The reactor of the io_context that `socket` belongs to. Looking it up takes
// the context's service lock: do it once per connection.
Reactor& ReactorOf(boost::asio::ip::tcp::socket& socket);

// Whether the reactor's last report of readiness for `socket` carried an
// error or a hang-up (EPOLLERR, EPOLLHUP). TCP_INQ counts a FIN still to read
// but not a reset: behind the bytes it called the last, a reset may wait that
// no readiness will report again, so such a socket is never taken as drained.
// For io_contexts run by one thread (the reactor writes the report unlocked).
bool ReportedTrouble(boost::asio::ip::tcp::socket& socket);

// The reactor writes its report of each readiness it sees for `socket`:
// ForgetReports clears the last, and ReportedSinceForgotten says whether one
// came since, so whether the socket may have something to read (or a close)
// without a system call to ask (true when unknown: no registration). It
// clears nothing, and answers false, where the last report carried an error
// or a hang-up, or waits in the scheduler's queue to be acted on: cleared,
// that report would be lost, and with it what it says came. For a socket no
// operation waits on, in an io_context run by one thread (as
// ReportedTrouble).
bool ForgetReports(boost::asio::ip::tcp::socket& socket);
bool ReportedSinceForgotten(boost::asio::ip::tcp::socket& socket);

// How many reads on this thread found nothing (EAGAIN): for tests of the
// reads that were meant not to be made.
uint64_t WouldBlockReceivesForTesting();

// How many reads on this thread have finished with something (bytes, the end
// of the stream, readiness): how IoBatch tells a pass of the event loop that
// brought work from one that did not.
uint64_t ReadsFinishedOnThisThread();

// A read as the reactor performs it: a receive into a buffer, or a wait for
// readiness.
class ReactorReadBase : public boost::asio::detail::reactor_op {
 public:
  enum class Kind { kReceive, kWait };

 protected:
  ReactorReadBase(Kind kind, int descriptor, boost::asio::mutable_buffer buffer, func_type complete)
      : reactor_op(boost::system::error_code(), kind == Kind::kReceive ? &Receive : &Ready,
                   complete),
        kind_(kind),
        descriptor_(descriptor),
        buffer_(buffer) {}

 private:
  friend void StartRead(Reactor& reactor, boost::asio::ip::tcp::socket& socket, ReactorReadBase* op,
                        bool is_continuation);
  // recvmsg(2): done_and_exhausted when the read left nothing (TCP_INQ, no
  // trouble reported) and at the end of the stream; not_done if it would
  // block.
  static status Receive(reactor_op* base);
  // done_and_exhausted: the caller reads until the socket is drained before
  // it waits again (AsyncWaitReadable).
  static status Ready(reactor_op* base);

  Kind kind_;
  int descriptor_;
  boost::asio::mutable_buffer buffer_;
  Reactor::per_descriptor_data reactor_data_ = nullptr;  // set by StartRead
};

// Hands `op` to `reactor` as a read on `socket`, which it performs at once
// unless the last read drained the socket and no readiness came since. A
// receive into an empty buffer completes at once with nothing, as Asio's.
void StartRead(Reactor& reactor, boost::asio::ip::tcp::socket& socket, ReactorReadBase* op,
               bool is_continuation);

template <typename Handler>
class ReactorRead final : public ReactorReadBase {
 public:
  using Allocator = boost::asio::recycling_allocator<ReactorRead>;

  ReactorRead(Kind kind, int descriptor, boost::asio::mutable_buffer buffer, Handler&& handler)
      : ReactorReadBase(kind, descriptor, buffer, &Complete), handler_(std::move(handler)) {}

  // Allocates the operation and hands it to the reactor.
  static void Start(Kind kind, Reactor& reactor, boost::asio::ip::tcp::socket& socket,
                    boost::asio::mutable_buffer buffer, Handler handler) {
    const bool continuation = boost_asio_handler_cont_helpers::is_continuation(handler);
    Allocator allocator;
    ReactorRead* op = std::allocator_traits<Allocator>::allocate(allocator, 1);
    std::allocator_traits<Allocator>::construct(allocator, op, kind, socket.native_handle(), buffer,
                                                std::move(handler));
    StartRead(reactor, socket, op, continuation);
  }

 private:
  // With `owner` null the io_context is being destroyed: the handler is
  // destroyed unrun, as Asio's own operations' are.
  static void Complete(void* owner, boost::asio::detail::operation* base,
                       const boost::system::error_code& /*ignored*/, std::size_t /*ignored*/) {
    auto* op = static_cast<ReactorRead*>(base);
    Handler handler(std::move(op->handler_));
    const boost::system::error_code ec = op->ec_;
    const std::size_t n = op->bytes_transferred_;
    Allocator allocator;
    std::allocator_traits<Allocator>::destroy(allocator, op);
    std::allocator_traits<Allocator>::deallocate(allocator, op, 1);
    if (owner == nullptr) return;
    // On the handler's executor: inline when that is this io thread's.
    boost::asio::dispatch(boost::asio::detail::bind_handler(std::move(handler), ec, n));
  }

  Handler handler_;
};

// Reads some bytes of `socket` (plain TCP, of `reactor`'s io_context) into
// `buffer`; completes with (error, bytes), eof at the end. The handler runs
// on the socket's io_context (no work is counted on another executor).
template <typename CompletionToken>
auto AsyncReceive(Reactor& reactor, boost::asio::ip::tcp::socket& socket,
                  boost::asio::mutable_buffer buffer, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, std::size_t)>(
      [&reactor, &socket, buffer](auto handler) {
        ReactorRead<decltype(handler)>::Start(ReactorReadBase::Kind::kReceive, reactor, socket,
                                              buffer, std::move(handler));
      },
      token);
}

// Waits until `socket` may be read, for a caller that reads it itself
// (OpenSSL through TlsSocket's BIO); completes with (error, 0). It costs no
// system call: it completes at once if a readiness came since the last read
// operation that marked the socket drained (such a wait, an AsyncReceive
// that drained it, the end of the stream), else it waits for the next one. So the caller must have
// drained the socket (a read failed with EAGAIN, or TCP_INQ said nothing was
// left and ReportedTrouble nothing wrong) since the last wait completed, or
// what is left is never waited for.
// One such wait at a time per socket, and no other read operation beside it
// (an AsyncReceive, or Asio's async_wait for reading, which would wait for
// another readiness once this wait took the one that came).
template <typename CompletionToken>
auto AsyncWaitReadable(Reactor& reactor, boost::asio::ip::tcp::socket& socket,
                       CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, std::size_t)>(
      [&reactor, &socket](auto handler) {
        ReactorRead<decltype(handler)>::Start(ReactorReadBase::Kind::kWait, reactor, socket,
                                              boost::asio::mutable_buffer(), std::move(handler));
      },
      token);
}

}  // namespace bulwark::net::internal

#endif  // BULWARK_NET_REACTOR_RECEIVE_H_

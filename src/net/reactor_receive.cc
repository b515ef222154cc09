#include "net/reactor_receive.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/detail/op_queue.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>

namespace bulwark::net::internal {

namespace {

namespace asio = boost::asio;
using Socket = asio::ip::tcp::socket;

// The socket's implementation (its descriptor and its reactor registration),
// which basic_socket keeps protected: a pointer to the member, named through
// a derived class, reaches it without a cast.
struct SocketAccess : Socket {
  static auto& Implementation(Socket& socket) {
    return (socket.*&SocketAccess::impl_).get_implementation();
  }
};

// The events of a descriptor's last report, which the reactor keeps in the
// descriptor's scheduler operation (protected there, and a private base of
// the descriptor's state: hence the C-style cast, which may name one).
struct OperationAccess : asio::detail::scheduler_operation {
  static unsigned int Events(Reactor::per_descriptor_data data) {
    // NOLINTNEXTLINE(readability/casting): a private base, which only it converts to
    const auto* op = (const asio::detail::scheduler_operation*)data;
    return op->*&OperationAccess::task_result_;
  }
  // False, and nothing cleared, if the descriptor's state waits in the
  // scheduler's queue with a report not yet acted on. Queued, it is never
  // the last of the queue: the reactor's pass puts its own marker after
  // what it found (scheduler::task_cleanup), so a queued state has a next.
  static bool ClearEvents(Reactor::per_descriptor_data data) {
    // NOLINTNEXTLINE(readability/casting): as above
    auto* op = (asio::detail::scheduler_operation*)data;
    if (asio::detail::op_queue_access::next(op) != nullptr) return false;
    op->*& OperationAccess::task_result_ = 0;
    return true;
  }
};

bool Trouble(Reactor::per_descriptor_data data) {
  return data != nullptr && (OperationAccess::Events(data) & (EPOLLERR | EPOLLHUP)) != 0;
}

thread_local uint64_t would_block_receives = 0;
thread_local uint64_t reads_finished = 0;

}  // namespace

bool ReportedTrouble(Socket& socket) {
  return Trouble(SocketAccess::Implementation(socket).reactor_data_);
}

bool ForgetReports(Socket& socket) {
  Reactor::per_descriptor_data data = SocketAccess::Implementation(socket).reactor_data_;
  return data != nullptr && !Trouble(data) && OperationAccess::ClearEvents(data);
}

bool ReportedSinceForgotten(Socket& socket) {
  Reactor::per_descriptor_data data = SocketAccess::Implementation(socket).reactor_data_;
  return data == nullptr || OperationAccess::Events(data) != 0;
}

uint64_t WouldBlockReceivesForTesting() { return would_block_receives; }
uint64_t ReadsFinishedOnThisThread() { return reads_finished; }

Reactor& ReactorOf(Socket& socket) {
  return asio::use_service<Reactor>(asio::query(socket.get_executor(), asio::execution::context));
}

void EnableReceiveHints(Socket& socket) {
  const int on = 1;
  // Without it (a kernel before 4.18) reads only do as Asio's would.
  (void)::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_INQ, &on, sizeof on);
}

ssize_t ReceiveTelling(int descriptor, void* data, size_t size, bool& drained) {
  iovec io{data, size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  ssize_t n;
  msghdr message{};
  do {
    message = msghdr{};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    n = ::recvmsg(descriptor, &message, 0);
  } while (n < 0 && errno == EINTR);
  drained = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  if (drained) ++would_block_receives;
  if (n <= 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level != IPPROTO_TCP || c->cmsg_type != TCP_CM_INQ) continue;
    int unread;
    std::memcpy(&unread, CMSG_DATA(c), sizeof unread);
    // The kernel counts a pending end of stream as a byte left.
    drained = unread == 0;
  }
  return n;
}

asio::detail::reactor_op::status ReactorReadBase::Receive(reactor_op* base) {
  auto* op = static_cast<ReactorReadBase*>(base);
  bool drained = false;
  const ssize_t n =
      ReceiveTelling(op->descriptor_, op->buffer_.data(), op->buffer_.size(), drained);
  if (n > 0) {
    ++reads_finished;
    op->bytes_transferred_ = static_cast<size_t>(n);
    // Nothing left: the socket is drained until its next readiness.
    return drained && !Trouble(op->reactor_data_) ? done_and_exhausted : done;
  }
  if (n == 0) {
    ++reads_finished;
    op->ec_ = asio::error::eof;
    return done_and_exhausted;
  }
  if (drained) return not_done;  // it would block
  op->ec_ = boost::system::error_code(errno, asio::error::get_system_category());
  return done;
}

asio::detail::reactor_op::status ReactorReadBase::Ready(reactor_op*) {
  ++reads_finished;
  return done_and_exhausted;
}

void StartRead(Reactor& reactor, Socket& socket, ReactorReadBase* op, bool is_continuation) {
  auto& impl = SocketAccess::Implementation(socket);
  if (op->kind_ == ReactorReadBase::Kind::kReceive && op->buffer_.size() == 0) {
    reactor.post_immediate_completion(op, is_continuation);
    return;
  }
  // Asio's reactor waits only on sockets in non-blocking mode, as its own
  // reads put them.
  namespace ops = asio::detail::socket_ops;
  if ((impl.state_ & ops::non_blocking) == 0 &&
      !ops::set_internal_non_blocking(impl.socket_, impl.state_, true, op->ec_)) {
    reactor.post_immediate_completion(op, is_continuation);
    return;
  }
  op->reactor_data_ = impl.reactor_data_;
  reactor.start_op(Reactor::read_op, impl.socket_, impl.reactor_data_, op, is_continuation,
                   /*allow_speculative=*/true);
}

}  // namespace bulwark::net::internal

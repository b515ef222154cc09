#include "net/io_batch.h"

#include <liburing.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <limits>
#include <mutex>
#include <new>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include "core/log.h"
#include "net/reactor_receive.h"

namespace bulwark::net::internal {

namespace {

// Submission slots: a pass that queues more sends submits them in turns.
constexpr unsigned kRingEntries = 256;
// At most this much per send (a result is an int); the caller sends the rest.
constexpr size_t kMaxSend = size_t{1} << 30;
// A send's result before its completion is read.
constexpr int kUnreported = std::numeric_limits<int>::min();

// Says once per process why the io threads send one call at a time.
void SayUnavailable(const char* why) {
  static std::once_flag once;
  std::call_once(once, [why] { log::Info("net.io_uring.unavailable", {{"reason", why}}); });
}

// A send's outcome as Asio reports it: what would block is 0 bytes sent.
std::pair<boost::system::error_code, size_t> Outcome(int result) {
  if (result >= 0) return {{}, static_cast<size_t>(result)};
  if (result == -EAGAIN || result == -EWOULDBLOCK) return {{}, 0};
  return {boost::system::error_code(-result, boost::asio::error::get_system_category()), 0};
}

}  // namespace

struct IoBatch::Ring {
  io_uring ring{};
  bool live = false;
  ~Ring() {
    if (live) io_uring_queue_exit(&ring);
  }
};

std::unique_ptr<IoBatch> IoBatch::Create(boost::asio::io_context& ioc) {
  auto ring = std::make_unique<Ring>();
  if (const int rc = io_uring_queue_init(kRingEntries, &ring->ring, 0); rc < 0) {
    SayUnavailable(std::strerror(-rc));
    return nullptr;
  }
  ring->live = true;
  // IORING_OP_SEND came with Linux 5.6.
  io_uring_probe* probe = io_uring_get_probe_ring(&ring->ring);
  const bool supported = probe != nullptr && io_uring_opcode_supported(probe, IORING_OP_SEND);
  if (probe != nullptr) io_uring_free_probe(probe);
  if (!supported) {
    SayUnavailable("the kernel has no IORING_OP_SEND");
    return nullptr;  // ~Ring exits the ring
  }
  return std::unique_ptr<IoBatch>(new IoBatch(ioc, std::move(ring)));
}

IoBatch::IoBatch(boost::asio::io_context& ioc, std::unique_ptr<Ring> ring)
    : ioc_(ioc), ring_(std::move(ring)) {
  pending_requests_.reserve(kRingEntries);
  pending_.reserve(kRingEntries);
  running_.reserve(kRingEntries);
}

// What is queued was never submitted: the kernel has none of it.
IoBatch::~IoBatch() = default;

int IoBatch::RingFdForTesting() const { return ring_->ring.ring_fd; }

void IoBatch::Queue(Request request, Turn turn, Handler handler) {
  if (!flush_posted_) {
    // Posted before the send is queued, so a post that throws queues nothing.
    PostFlush();
    flush_posted_ = true;
    passes_waited_ = 0;
    first_queued_ = std::chrono::steady_clock::now();
  }
  (turn == Turn::kRequest ? pending_requests_ : pending_)
      .push_back(Op{.request = request, .handler = std::move(handler), .result = kUnreported});
}

void IoBatch::PostFlush() {
  // Behind the work already queued on this thread. A batch destroyed first
  // (its thread stopped) leaves the flush nothing to do.
  boost::asio::post(ioc_, [this, alive = std::weak_ptr<const bool>(alive_)] {
    if (!alive.expired()) Flush();
  });
}

bool IoBatch::WaitAnotherPass() {
  // The first wait is one more pass (an epoll_wait that finds nothing, when
  // the thread is idle); the second only if that pass finished reads, whose
  // answers may join too. Sent one call each (broken_), they gain nothing.
  const uint64_t reads = ReadsFinishedOnThisThread();
  if (broken_ || passes_waited_ >= kPassesToWait || (passes_waited_ > 0 && reads == reads_seen_) ||
      std::chrono::steady_clock::now() - first_queued_ >= longest_wait_) {
    return false;
  }
  try {
    PostFlush();
  } catch (const std::bad_alloc&) {
    return false;  // then the sends go now
  }
  ++passes_waited_;
  reads_seen_ = reads;
  return true;
}

void IoBatch::Flush() {
  if (WaitAnotherPass()) return;
  flush_posted_ = false;
  // Left over only if a handler threw out of the last flush: already sent
  // or never to be resumed, and never to be submitted again.
  running_.clear();
  running_.swap(pending_requests_);
  // Moved, not swapped, so that the answers' vector keeps its capacity.
  std::ranges::move(pending_, std::back_inserter(running_));
  pending_.clear();
  for (size_t first = 0; first < running_.size(); first += kRingEntries) {
    Issue(first, std::min<size_t>(kRingEntries, running_.size() - first));
  }
  // Resumed in the order they went; what they queue now goes in the next
  // flush. A handler only resumes its coroutine, which does not throw out
  // of it (co_spawn takes its exceptions).
  for (Op& op : running_) {
    const auto [ec, n] = Outcome(op.result);
    Handler handler(std::move(op.handler));
    std::move(handler)(ec, n);
  }
  running_.clear();
}

void IoBatch::Issue(size_t first, size_t count) {
  if (broken_) {
    for (size_t i = first; i < first + count; ++i) {
      running_[i].result = SendDirectly(running_[i].request);
    }
    return;
  }
  io_uring* ring = &ring_->ring;
  for (size_t i = first; i < first + count; ++i) {
    const Request& r = running_[i].request;
    io_uring_sqe* sqe = io_uring_get_sqe(ring);  // never null: the queue was empty
    io_uring_prep_send(sqe, r.fd, r.data, std::min(r.size, kMaxSend), MSG_NOSIGNAL | MSG_DONTWAIT);
    io_uring_sqe_set_data64(sqe, i);
  }
  // A send that does not wait completes within the submission; interrupted
  // before the kernel took any, the submission is made again.
  int submitted;
  ++submissions_;
  do {
    submitted = io_uring_submit_and_wait(ring, static_cast<unsigned>(count));
  } while (submitted == -EINTR);
  const size_t taken = submitted > 0 ? static_cast<size_t>(submitted) : 0;
  size_t reported = 0;
  while (reported < taken) {
    io_uring_cqe* cqe = nullptr;
    const int rc = io_uring_wait_cqe(ring, &cqe);
    if (rc == -EINTR) continue;
    if (rc < 0) break;
    running_[cqe->user_data].result = cqe->res;
    io_uring_cqe_seen(ring, cqe);
    ++reported;
  }
  if (taken == count && reported == taken) return;
  // Never expected. The ring is left as it is (what it did not take must
  // never go later) and from now on this thread sends one call at a time.
  // What the kernel did not take is sent so; a send it took and did not
  // report may or may not have gone, which only closing its connection
  // settles.
  broken_ = true;
  log::Error("net.io_uring.failed", {{"error", std::strerror(submitted < 0 ? -submitted : EIO)}});
  for (size_t i = first; i < first + count; ++i) {
    Op& op = running_[i];
    if (i - first >= taken) {
      op.result = SendDirectly(op.request);
    } else if (op.result == kUnreported) {
      op.result = -EIO;
    }
  }
}

int IoBatch::SendDirectly(const Request& r) {
  for (;;) {
    const ssize_t n = ::send(r.fd, r.data, std::min(r.size, kMaxSend), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return static_cast<int>(n);
    if (errno != EINTR) return -errno;
  }
}

}  // namespace bulwark::net::internal

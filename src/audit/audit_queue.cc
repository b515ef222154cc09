#include "audit/audit_queue.h"

#include <pthread.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <system_error>
#include <thread>
#include <utility>

#include "core/log.h"

namespace bulwark::audit {

// A slot is free for the producer claiming position p when seq == p, and
// holds that producer's event for the writer when seq == p + 1; the writer
// frees it for position p + capacity. A cache line of its own keeps
// neighbouring producers from bouncing each other's slot.
struct alignas(64) AuditQueue::Slot {
  std::atomic<uint64_t> seq{0};
  std::string line;  // the event as its JSON line
};

Result<std::unique_ptr<AuditQueue>> AuditQueue::Create(AuditSink& sink, AuditQueueOptions options) {
  if (options.capacity > (size_t{1} << 30)) {
    return Err(InvalidArgumentError("audit queue capacity exceeds 2^30"));
  }
  if (options.max_batch == 0) return Err(InvalidArgumentError("audit queue max_batch is 0"));
  size_t capacity = std::bit_ceil(std::max<size_t>(options.capacity, 2));
  std::unique_ptr<AuditQueue> queue(new AuditQueue(sink, capacity, options.max_batch));
  try {
    queue->thread_ = std::thread([q = queue.get()] { q->Run(); });
  } catch (const std::system_error& e) {
    return Err(ResourceExhaustedError(std::string("audit writer thread: ") + e.what()));
  }
  return queue;
}

AuditQueue::AuditQueue(AuditSink& sink, size_t capacity, size_t max_batch)
    : sink_(sink), max_batch_(max_batch), mask_(capacity - 1), slots_(new Slot[capacity]) {
  for (size_t i = 0; i < capacity; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
}

AuditQueue::~AuditQueue() {
  Stop();
  // A writer StopWithin gave up on still uses the slots: never free them
  // under it (its owner is meant to keep the queue; this waits as Stop does).
  while (detached_ && !writer_done_.load(std::memory_order_acquire)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// A slot keeps its line's memory for the next event up to this much: a
// client's one long path must not stay allocated in the ring.
constexpr size_t kMaxKeptLine = 2048;

bool AuditQueue::TryEnqueue(const AuditEvent& event) { return TryEnqueue(ViewOf(event)); }

bool AuditQueue::TryEnqueue(const AuditEventView& event) {
  return Enqueue([&event](std::string& line) {
    line.clear();
    AppendJsonLine(event, line);
  });
}

template <typename Fill>
bool AuditQueue::Enqueue(Fill&& fill) {
  uint64_t pos = enqueue_pos_.load(std::memory_order_relaxed);
  Slot* slot;
  for (;;) {
    if (pos & kClosed) break;
    slot = &slots_[pos & mask_];
    uint64_t seq = slot->seq.load(std::memory_order_acquire);
    auto lag = static_cast<int64_t>(seq - pos);
    if (lag == 0) {
      if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
        fill(slot->line);
        // Sequentially consistent with the writer's going to sleep in Run:
        // either the writer sees this slot before it sleeps, or this thread
        // sees it sleeping and wakes it (on x86 the store is one xchg).
        slot->seq.store(pos + 1, std::memory_order_seq_cst);
        if (writer_sleeping_.load(std::memory_order_seq_cst)) WakeWriter();
        return true;
      }
    } else if (lag < 0) {
      break;  // the slot still holds an event `capacity` positions back: full
    } else {
      pos = enqueue_pos_.load(std::memory_order_relaxed);  // another producer took it
    }
  }
  dropped_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void AuditQueue::Close() {
  enqueue_pos_.fetch_or(kClosed, std::memory_order_seq_cst);
  WakeWriter();
}

void AuditQueue::Stop() {
  std::lock_guard lock(stop_mu_);
  if (!thread_.joinable()) return;
  Close();
  thread_.join();
}

bool AuditQueue::StopWithin(std::chrono::milliseconds timeout) {
  std::lock_guard lock(stop_mu_);
  if (!thread_.joinable()) return writer_done_.load(std::memory_order_acquire);
  Close();
  // The time runs from the sink's last progress: a slow sink that still
  // takes batches (fsync on network storage) is waited for to the end.
  uint64_t handed = written() + lost();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!writer_done_.load(std::memory_order_acquire)) {
    const auto now = std::chrono::steady_clock::now();
    if (const uint64_t now_handed = written() + lost(); now_handed != handed) {
      handed = now_handed;
      deadline = now + timeout;
    } else if (now >= deadline) {
      thread_.detach();  // held in the sink; the caller keeps the queue alive
      detached_ = true;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  thread_.join();
  return true;
}

void AuditQueue::WakeWriter() {
  wake_epoch_.fetch_add(1, std::memory_order_seq_cst);
  wake_epoch_.notify_one();
}

bool AuditQueue::HeadReady(std::memory_order order) const {
  return slots_[dequeue_pos_ & mask_].seq.load(order) == dequeue_pos_ + 1;
}

size_t AuditQueue::Drain(std::string& lines) {
  size_t events = 0;
  while (events < max_batch_ && HeadReady()) {
    Slot& slot = slots_[dequeue_pos_ & mask_];
    lines += slot.line;
    if (slot.line.capacity() > kMaxKeptLine) std::string().swap(slot.line);
    slot.seq.store(dequeue_pos_ + mask_ + 1, std::memory_order_release);
    ++dequeue_pos_;
    ++events;
  }
  return events;
}

// The batch buffer is kept between batches up to this size.
constexpr size_t kMaxKeptBatch = 1 << 20;

// How long the writer lets events gather after a batch that did not fill,
// and waits for more before it sleeps until woken. Under load this makes one
// write(2) and one wakeup per nap. Measured on the gateway benchmark's single
// core: at one millisecond the writer took 0.9 us of system time per request
// (of ~21 us), its writes and its sleeps and wakeups about equally; at five,
// 0.16 to 0.37 us in three runs. Envoy flushes its access logs every second.
constexpr std::chrono::milliseconds kNap(5);

void AuditQueue::Run() {
  pthread_setname_np(pthread_self(), "bulwark-audit");
  std::string lines;
  bool napped = false;
  for (;;) {
    if (const size_t events = Drain(lines); events > 0) {
      WriteBatch(lines, events);
      lines.clear();
      if (lines.capacity() > kMaxKeptBatch) std::string().swap(lines);
      napped = false;
      // A full batch: more may be waiting. Otherwise let the next ones
      // gather (unless stopping), then look again before sleeping.
      if (events < max_batch_ && !(enqueue_pos_.load(std::memory_order_acquire) & kClosed)) {
        napped = true;
        std::this_thread::sleep_for(kNap);
      }
      continue;
    }
    uint64_t tail = enqueue_pos_.load(std::memory_order_acquire);
    if (tail & kClosed) {
      if ((tail & ~kClosed) == dequeue_pos_) break;
      // A producer claimed the head slot before Stop and is still moving its
      // event in; it finishes in a few instructions unless preempted.
      std::this_thread::yield();
      continue;
    }
    // Nap briefly before sleeping for good: under steady load the next
    // events arrive within the nap and are written as one batch, and no
    // producer has to wake the writer (a futex call and a context switch on
    // the request path, per event when the writer shares the core).
    if (!napped) {
      napped = true;
      std::this_thread::sleep_for(kNap);
      continue;
    }
    napped = false;
    uint32_t epoch = wake_epoch_.load(std::memory_order_seq_cst);
    writer_sleeping_.store(true, std::memory_order_seq_cst);
    if (!HeadReady(std::memory_order_seq_cst) &&
        !(enqueue_pos_.load(std::memory_order_seq_cst) & kClosed)) {
      wake_epoch_.wait(epoch, std::memory_order_seq_cst);
    }
    writer_sleeping_.store(false, std::memory_order_relaxed);
  }
  Status flushed = sink_.Flush();
  if (!flushed.ok()) {
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    log::Error("audit.sink_flush_failed", {{"error", flushed.ToString()}});
  }
  writer_done_.store(true, std::memory_order_release);
}

void AuditQueue::WriteBatch(std::string_view lines, size_t events) {
  Status status = sink_.Write(lines);
  if (status.ok()) {
    written_.fetch_add(events, std::memory_order_relaxed);
    if (failing_) {
      log::Info("audit.sink_recovered", {{"failed_batches", failed_batches_}});
      failing_ = false;
      failed_batches_ = 0;
    }
    return;
  }
  write_errors_.fetch_add(1, std::memory_order_relaxed);
  lost_.fetch_add(events, std::memory_order_relaxed);
  ++failed_batches_;
  if (!failing_) {
    failing_ = true;
    log::Error("audit.sink_write_failed", {{"error", status.ToString()}, {"events", events}});
  }
}

}  // namespace bulwark::audit

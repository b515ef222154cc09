#include "audit/audit_queue.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>

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
// frees it for position p + the ring's size. A cache line of its own keeps
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
  const size_t capacity = std::bit_ceil(std::max<size_t>(options.capacity, 2));
  const size_t hot = std::min(capacity, std::bit_ceil(std::max<size_t>(options.hot_capacity, 2)));
  std::unique_ptr<AuditQueue> queue(new AuditQueue(sink, capacity, hot, options.max_batch));
  try {
    queue->thread_ = std::thread([q = queue.get()] { q->Run(); });
  } catch (const std::system_error& e) {
    return Err(ResourceExhaustedError(std::string("audit writer thread: ") + e.what()));
  }
  return queue;
}

void AuditQueue::Ring::Allocate(uint64_t n) {
  size = n;
  mask = std::has_single_bit(n) ? n - 1 : 0;
  if (n == 0) return;
  slots.reset(new Slot[n]);
  for (uint64_t i = 0; i < n; ++i) slots[i].seq.store(i, std::memory_order_relaxed);
}

AuditQueue::Slot& AuditQueue::Ring::At(uint64_t pos) const {
  return slots[mask != 0 ? pos & mask : pos % size];
}

bool AuditQueue::Ring::HeadReady(std::memory_order order) const {
  return size != 0 && At(dequeue_pos).seq.load(order) == dequeue_pos + 1;
}

AuditQueue::AuditQueue(AuditSink& sink, size_t capacity, size_t hot_capacity, size_t max_batch)
    : sink_(sink), max_batch_(max_batch), nap_wake_mask_(hot_capacity / 2 - 1) {
  hot_.Allocate(hot_capacity);
  overflow_.Allocate(capacity - hot_capacity);
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

bool AuditQueue::EnqueueWith(void (*fill)(std::string& line, void* context), void* context) {
  return Enqueue([fill, context](std::string& line) { fill(line, context); });
}

template <typename Fill>
AuditQueue::Put AuditQueue::PutInto(Ring& ring, Fill& fill, uint64_t& pos) {
  pos = ring.enqueue_pos.load(std::memory_order_relaxed);
  for (;;) {
    if (pos & kClosed) return Put::kClosed;
    Slot& slot = ring.At(pos);
    const uint64_t seq = slot.seq.load(std::memory_order_acquire);
    const auto lag = static_cast<int64_t>(seq - pos);
    if (lag == 0) {
      if (ring.enqueue_pos.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
        fill(slot.line);
        // Sequentially consistent with the writer's going to rest (Rest):
        // either the writer sees this slot before it sleeps, or this thread
        // sees it sleeping and wakes it (on x86 the store is one xchg).
        slot.seq.store(pos + 1, std::memory_order_seq_cst);
        return Put::kDone;
      }
    } else if (lag < 0) {
      return Put::kFull;  // the slot still holds an event `size` positions back
    } else {
      pos = ring.enqueue_pos.load(std::memory_order_relaxed);  // another producer took it
    }
  }
}

template <typename Fill>
bool AuditQueue::Enqueue(Fill&& fill) {
  // A stale `false` is harmless: this thread's own spilled events, if any,
  // set it true in this thread's view, and only the writer clears it, once
  // it has taken them all.
  if (!spilling_.load(std::memory_order_relaxed)) {
    uint64_t pos;
    switch (PutInto(hot_, fill, pos)) {
      case Put::kDone: {
        const uint8_t state = writer_state_.load(std::memory_order_seq_cst);
        if (state == kSleeping || (state == kNapping && (pos & nap_wake_mask_) == nap_wake_mask_)) {
          WakeWriter();
        }
        return true;
      }
      case Put::kClosed:
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
      case Put::kFull:
        break;
    }
  }
  return Spill(fill);
}

template <typename Fill>
bool AuditQueue::Spill(Fill& fill) {
  Put put = Put::kFull;
  {
    std::lock_guard lock(spill_mu_);
    uint64_t pos;
    // The writer may have caught up (and stopped the spill) meanwhile.
    if (!spilling_.load(std::memory_order_relaxed)) put = PutInto(hot_, fill, pos);
    if (put == Put::kFull && overflow_.size != 0) {
      spilling_.store(true, std::memory_order_relaxed);
      put = PutInto(overflow_, fill, pos);
    }
  }
  if (put != Put::kDone) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  // The writer is behind: wake it from a nap as well as from sleep.
  if (writer_state_.load(std::memory_order_seq_cst) != kRunning) WakeWriter();
  return true;
}

void AuditQueue::Close() {
  {
    // No spill is half-way between the rings' positions as they close.
    std::lock_guard lock(spill_mu_);
    hot_.enqueue_pos.fetch_or(kClosed, std::memory_order_seq_cst);
    overflow_.enqueue_pos.fetch_or(kClosed, std::memory_order_seq_cst);
  }
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

// The writer waits on the epoch's own word (futex(2)).
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) &&
              std::atomic<uint32_t>::is_always_lock_free);

void AuditQueue::WakeWriter() {
  wake_epoch_.fetch_add(1, std::memory_order_seq_cst);
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&wake_epoch_), FUTEX_WAKE_PRIVATE, 1, nullptr,
          nullptr, 0);
}

bool AuditQueue::AnyReady(std::memory_order order) const {
  return hot_.HeadReady(order) || overflow_.HeadReady(order);
}

void AuditQueue::Take(Ring& ring, std::string& lines) {
  Slot& slot = ring.At(ring.dequeue_pos);
  lines += slot.line;
  if (slot.line.capacity() > kMaxKeptLine) std::string().swap(slot.line);
  slot.seq.store(ring.dequeue_pos + ring.size, std::memory_order_release);
  ++ring.dequeue_pos;
}

size_t AuditQueue::Drain(std::string& lines) {
  size_t events = 0;
  while (events < max_batch_) {
    if (hot_.HeadReady()) {
      Take(hot_, lines);
    } else if (overflow_.HeadReady()) {
      // The overflow head's producer may have put events into the hot ring
      // before it: every hot slot claimed by now (seen through the head's
      // acquire) goes first. One still being filled is a few instructions
      // from ready, unless its producer was preempted.
      if (hot_.Claimed() != hot_.dequeue_pos) {
        std::this_thread::yield();
        continue;
      }
      Take(overflow_, lines);
    } else {
      break;
    }
    ++events;
  }
  if (spilling_.load(std::memory_order_relaxed) && !overflow_.HeadReady()) {
    // Overflow slots are claimed and published only under spill_mu_, so an
    // overflow ring with nothing claimed beyond the writer is empty for good
    // until the next spill, which sets spilling_ again.
    std::lock_guard lock(spill_mu_);
    if (overflow_.Claimed() == overflow_.dequeue_pos) {
      spilling_.store(false, std::memory_order_relaxed);
    }
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

// The writer tells producers it naps or sleeps, then waits on the epoch. A
// producer reads the state after publishing its slot, and the writer looks
// at the rings after telling it (both sequentially consistent): either the
// writer sees the event here, or the producer sees the state and wakes it
// (a wake between the epoch's reading and the wait makes the wait return
// at once). A nap lasts at most kNap, cut short by a producer once half the
// hot ring has filled, and is not taken if half has filled already (during
// the write: the producer that crossed the half saw the writer running).
// A sleep lasts until a producer's event, and is not taken if one is ready.
// Close cuts either short.
void AuditQueue::Rest(WriterState state) {
  const uint32_t epoch = wake_epoch_.load(std::memory_order_seq_cst);
  writer_state_.store(state, std::memory_order_seq_cst);
  const bool wait =
      !Closed() && (state == kNapping ? hot_.Claimed() - hot_.dequeue_pos <= nap_wake_mask_
                                      : !AnyReady(std::memory_order_seq_cst));
  if (wait) {
    static_assert(kNap < std::chrono::seconds(1));
    timespec nap{.tv_sec = 0, .tv_nsec = std::chrono::nanoseconds(kNap).count()};
    // Returns on a wake, the timeout or a signal, or at once if the epoch
    // moved on since it was read: the caller looks again in every case.
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&wake_epoch_), FUTEX_WAIT_PRIVATE, epoch,
            state == kNapping ? &nap : nullptr, nullptr, 0);
  }
  writer_state_.store(kRunning, std::memory_order_relaxed);
}

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
      if (events < max_batch_ && !Closed()) {
        napped = true;
        Rest(kNapping);
      }
      continue;
    }
    if (Closed()) {
      if (hot_.Claimed() == hot_.dequeue_pos && overflow_.Claimed() == overflow_.dequeue_pos) {
        break;
      }
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
      Rest(kNapping);
      continue;
    }
    napped = false;
    Rest(kSleeping);
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

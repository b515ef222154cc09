// AuditQueue: hands audit events from the request path to a sink without
// ever making a request wait for the sink.
#ifndef BULWARK_AUDIT_AUDIT_QUEUE_H_
#define BULWARK_AUDIT_AUDIT_QUEUE_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "audit/audit_event.h"
#include "audit/audit_sink.h"
#include "core/status.h"

namespace bulwark::audit {

struct AuditQueueOptions {
  // Events that may wait for the writer in all; rounded up to a power of two,
  // at least 2. The slots are allocated up front (64 bytes each, plus the
  // line of the event each last held, kept for reuse up to 2 KiB).
  size_t capacity = 16384;
  // Of those, how many wait in the small ring that stays in the cache;
  // rounded up to a power of two, at least 2, at most `capacity`. The rest
  // are a second ring used only while the writer is behind (a slow disk).
  size_t hot_capacity = 1024;
  // Most events handed to one AuditSink::Write (one write(2) for a file).
  size_t max_batch = 512;
};

// A bounded multi-producer, single-consumer queue of AuditEvents drained by
// one background thread into an AuditSink.
//
// TryEnqueue is lock-free while the writer keeps up: a bounded ring of
// preallocated slots (Vyukov's MPMC ring specialized to one consumer). The
// producer serializes its event (AppendJsonLine) into the line its slot
// keeps from earlier events (up to 2 KiB), which allocates only when a slot
// meets a longer line; no event is copied, moved or freed. The writer gathers
// the slots' lines into one buffer for the sink.
//
// Two rings: a ring cycles through all its slots, so one big enough to
// absorb a stalled disk (thousands of events) would have every producer and
// the writer touch memory last used thousands of events ago, out of the
// cache. A small hot ring (hot_capacity) takes the events while the writer
// keeps up; when it is full, events spill into the larger overflow ring
// under a mutex, and keep going there (`spilling_`) until the writer has
// emptied it. The writer takes hot events before overflow ones, and before
// each overflow event every hot event claimed before it was published, so a
// thread's events still reach the sink in its order.
//
// A producer wakes the writer (a futex wake) when the writer is asleep, and
// when it is napping, every half hot ring of events (so the hot ring does
// not fill under high rates). After a batch that did not fill, the writer
// naps for 5 ms (not if half the hot ring filled during its write) and
// looks again before it sleeps, so under moderate load
// producers make almost no system call and events reach the sink in
// batches, one write per nap, at most about 5 ms late; the first event after
// a quiet spell is written at once. A producer preempted half-way through
// TryEnqueue delays only the writer (which drains in slot order), and while
// spilling the other spilling producers (which wait for the mutex).
//
// Overload never stalls a request: when both rings are full, TryEnqueue drops the
// event and counts it in dropped(). Drops are counted, never logged per event;
// the counters are meant to be exported as metrics (audit_events_dropped_total
// and friends) once the metrics module exists. A failing sink is logged once
// per burst of failures (core/log.h), counted in write_errors(), and the
// queue keeps going with the next batch; the events of a failed batch are
// counted in lost().
//
// Ordering: the events of one producer thread reach the sink in the order that
// thread enqueued them; events of different threads interleave in the order
// their slots were claimed within each ring, and a spill's after the hot
// events claimed before it.
//
// After Stop(): enqueued() == written() + lost(). Memory is bounded by
// the capacity's events and one batch of lines.
//
// Thread-safe: TryEnqueue, Stop and the counters may be called from any
// thread, concurrently.
class AuditQueue {
 public:
  // Starts the writer thread. `sink` must outlive the queue; only the writer
  // thread calls it. kInvalidArgument for capacity > 2^30 or max_batch == 0;
  // kResourceExhausted if the thread cannot be started.
  static Result<std::unique_ptr<AuditQueue>> Create(AuditSink& sink,
                                                    AuditQueueOptions options = {});

  // Stop().
  ~AuditQueue();
  AuditQueue(const AuditQueue&) = delete;
  AuditQueue& operator=(const AuditQueue&) = delete;

  // Queues `event` for the sink, serialized before this returns (so a view's
  // strings need live no longer), and returns true; or, if the queue is full
  // or stopped, counts a drop and returns false. Never waits for the sink;
  // makes no system call except to wake the writer; takes a mutex, held for
  // one event, only while spilling.
  bool TryEnqueue(const AuditEventView& event);
  bool TryEnqueue(const AuditEvent& event);

  // Refuses further events, waits until every accepted event has been handed
  // to the sink, calls the sink's Flush, and joins the writer thread. Blocks
  // for as long as the sink takes. Idempotent.
  void Stop();
  // The same, giving up once the sink has taken nothing for `timeout` (one
  // blocked for good: a pipe nobody reads, a hung network file system); a
  // slow sink that keeps taking batches is waited for. True if the writer
  // finished. False if not: the writer thread is left to itself, still
  // using this queue and its sink, so the caller must keep both alive (the
  // process is ending): destroying the queue would wait for the writer.
  bool StopWithin(std::chrono::milliseconds timeout);

  // Events accepted by TryEnqueue.
  uint64_t enqueued() const {
    return (hot_.enqueue_pos.load(std::memory_order_relaxed) & ~kClosed) +
           (overflow_.enqueue_pos.load(std::memory_order_relaxed) & ~kClosed);
  }
  // Events in batches the sink wrote successfully.
  uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  // Events refused by TryEnqueue because the queue was full or stopped.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // Failed AuditSink::Write and Flush calls.
  uint64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }
  // Accepted events in batches whose Write failed.
  uint64_t lost() const { return lost_.load(std::memory_order_relaxed); }

  size_t capacity() const { return static_cast<size_t>(hot_.size + overflow_.size); }
  size_t hot_capacity() const { return static_cast<size_t>(hot_.size); }

 private:
  struct Slot;
  // One bounded ring of slots; `size` need not be a power of two.
  struct Ring {
    // Producers' side: the next position to claim, kClosed once stopped.
    alignas(64) std::atomic<uint64_t> enqueue_pos{0};
    // Writer's side: the next position to take.
    alignas(64) uint64_t dequeue_pos = 0;
    uint64_t size = 0;
    uint64_t mask = 0;  // size - 1 if size is a power of two, else 0
    std::unique_ptr<Slot[]> slots;

    void Allocate(uint64_t n);
    Slot& At(uint64_t pos) const;
    uint64_t Claimed() const { return enqueue_pos.load(std::memory_order_acquire) & ~kClosed; }
    bool HeadReady(std::memory_order order = std::memory_order_acquire) const;
  };
  enum class Put { kDone, kFull, kClosed };
  enum WriterState : uint8_t { kRunning, kNapping, kSleeping };
  // Set in a ring's enqueue_pos by Stop: no slot can be claimed after it.
  static constexpr uint64_t kClosed = uint64_t{1} << 63;

  friend class AuditQueueTestPeer;  // EnqueueWith: a fill that pauses half-way

  AuditQueue(AuditSink& sink, size_t capacity, size_t hot_capacity, size_t max_batch);
  // Enqueue with a fill given at run time.
  bool EnqueueWith(void (*fill)(std::string& line, void* context), void* context);
  // Claims `ring`'s next slot, fills it with `fill(line)` and publishes it
  // (its position in `pos`).
  template <typename Fill>
  static Put PutInto(Ring& ring, Fill& fill, uint64_t& pos);
  // Queues into the hot ring, else Spill; false (a drop counted) if the
  // queue is full or stopped.
  template <typename Fill>
  bool Enqueue(Fill&& fill);
  // The hot ring is full or spilling_: the overflow ring, under spill_mu_.
  template <typename Fill>
  bool Spill(Fill& fill);
  void Run();
  // Appends the lines of up to max_batch_ ready events (hot first, see the
  // class comment) to `lines`, frees their slots, and returns how many.
  size_t Drain(std::string& lines);
  static void Take(Ring& ring, std::string& lines);
  bool AnyReady(std::memory_order order = std::memory_order_acquire) const;
  bool Closed() const { return hot_.enqueue_pos.load(std::memory_order_acquire) & kClosed; }
  // Naps (kNapping) or sleeps (kSleeping) until woken; see the .cc.
  void Rest(WriterState state);
  void WriteBatch(std::string_view lines, size_t events);
  void WakeWriter();
  // Refuses further events and wakes the writer to drain and end (Stop,
  // StopWithin; under stop_mu_).
  void Close();

  AuditSink& sink_;
  const size_t max_batch_;
  Ring hot_;
  Ring overflow_;  // size 0 when the hot ring holds the whole capacity
  // Half the hot ring, minus one: a producer whose position ends in these
  // bits wakes a napping writer.
  const uint64_t nap_wake_mask_;

  // Set (under spill_mu_) by a producer that spills; cleared by the writer
  // under spill_mu_ once the overflow ring is empty. Overflow slots are
  // claimed and published only under spill_mu_.
  alignas(64) std::atomic<bool> spilling_{false};
  std::mutex spill_mu_;
  alignas(64) std::atomic<uint64_t> dropped_{0};
  // Read by every producer, written when the writer naps, sleeps or wakes.
  alignas(64) std::atomic<uint8_t> writer_state_{kRunning};
  std::atomic<uint32_t> wake_epoch_{0};  // the writer waits on it
  // Writer's side: only the writer thread writes these.
  alignas(64) bool failing_ = false;  // inside a burst of sink failures
  uint64_t failed_batches_ = 0;       // in the current burst
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> write_errors_{0};
  std::atomic<uint64_t> lost_{0};

  std::mutex stop_mu_;  // serializes Stop; guards thread_
  std::thread thread_;
  std::atomic<bool> writer_done_{false};  // set as Run ends
  bool detached_ = false;                 // StopWithin gave up on the writer
};

}  // namespace bulwark::audit

#endif  // BULWARK_AUDIT_AUDIT_QUEUE_H_

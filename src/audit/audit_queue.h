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
  // Events that may wait for the writer; rounded up to a power of two, at
  // least 2. The slots are allocated up front (64 bytes each, plus the line
  // of the event each last held, kept for reuse up to 2 KiB).
  size_t capacity = 16384;
  // Most events handed to one AuditSink::Write (one write(2) for a file).
  size_t max_batch = 512;
};

// A bounded multi-producer, single-consumer queue of AuditEvents drained by
// one background thread into an AuditSink.
//
// TryEnqueue is lock-free: a bounded ring of preallocated slots (Vyukov's
// MPMC ring specialized to one consumer). The producer serializes its event
// (AppendJsonLine) into the line its slot keeps from earlier events (up to
// 2 KiB), which allocates only when a slot meets a longer line; no event is
// copied, moved or freed. The writer gathers the slots' lines into one
// buffer for the sink.
// A producer wakes the writer (a futex wake) only when the writer is asleep.
// After a batch that did not fill, the writer naps for 5 ms and looks again
// before it sleeps, so under load producers make no system call and events
// reach the sink in batches, one write per nap, at most about 5 ms late; the
// first event after a quiet spell is written at once. A producer preempted
// half-way through TryEnqueue delays only the writer (which drains in slot
// order), never another producer.
//
// Overload never stalls a request: when the ring is full, TryEnqueue drops the
// event and counts it in dropped(). Drops are counted, never logged per event;
// the counters are meant to be exported as metrics (audit_events_dropped_total
// and friends) once the metrics module exists. A failing sink is logged once
// per burst of failures (core/log.h), counted in write_errors(), and the
// queue keeps going with the next batch; the events of a failed batch are
// counted in lost().
//
// Ordering: the events of one producer thread reach the sink in the order that
// thread enqueued them; events of different threads interleave in the order
// their slots were claimed.
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
  // or stopped, counts a drop and returns false. Never blocks, never makes a
  // system call except to wake an idle writer.
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
  uint64_t enqueued() const { return enqueue_pos_.load(std::memory_order_relaxed) & ~kClosed; }
  // Events in batches the sink wrote successfully.
  uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  // Events refused by TryEnqueue because the queue was full or stopped.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // Failed AuditSink::Write and Flush calls.
  uint64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }
  // Accepted events in batches whose Write failed.
  uint64_t lost() const { return lost_.load(std::memory_order_relaxed); }

  size_t capacity() const { return static_cast<size_t>(mask_ + 1); }

 private:
  struct Slot;
  // Set in enqueue_pos_ by Stop: no slot can be claimed after it.
  static constexpr uint64_t kClosed = uint64_t{1} << 63;

  AuditQueue(AuditSink& sink, size_t capacity, size_t max_batch);
  // Claims the next slot, fills it with `fill(line)` and publishes it; false
  // (a drop counted) if the queue is full or stopped.
  template <typename Fill>
  bool Enqueue(Fill&& fill);
  void Run();
  // Appends the lines of up to max_batch_ ready events (in slot order) to
  // `lines`, frees their slots, and returns how many.
  size_t Drain(std::string& lines);
  bool HeadReady(std::memory_order order = std::memory_order_acquire) const;
  void WriteBatch(std::string_view lines, size_t events);
  void WakeWriter();
  // Refuses further events and wakes the writer to drain and end (Stop,
  // StopWithin; under stop_mu_).
  void Close();

  AuditSink& sink_;
  const size_t max_batch_;
  const uint64_t mask_;
  std::unique_ptr<Slot[]> slots_;

  // Producers' side: the next position to claim, kClosed once stopped.
  alignas(64) std::atomic<uint64_t> enqueue_pos_{0};
  alignas(64) std::atomic<uint64_t> dropped_{0};
  // Read by every producer, written when the writer goes to sleep or wakes.
  alignas(64) std::atomic<bool> writer_sleeping_{false};
  std::atomic<uint32_t> wake_epoch_{0};  // the writer waits on it
  // Writer's side: only the writer thread writes these.
  alignas(64) uint64_t dequeue_pos_ = 0;
  bool failing_ = false;         // inside a burst of sink failures
  uint64_t failed_batches_ = 0;  // in the current burst
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

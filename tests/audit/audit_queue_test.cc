#include "audit/audit_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <latch>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/file_audit_sink.h"
#include "audit_test_util.h"

namespace bulwark::audit {

class AuditQueueTestPeer {
 public:
  static bool EnqueueWith(AuditQueue& queue, void (*fill)(std::string&, void*), void* context) {
    return queue.EnqueueWith(fill, context);
  }
};

namespace {

using testing::PollUntil;
using testing::SampleEvent;

// Keeps what it is given; optionally fails or blocks.
class RecordingSink : public AuditSink {
 public:
  Status Write(std::string_view lines) override {
    if (block_) {
      if (!entered_flag_.exchange(true)) entered_.count_down();
      release_.wait();
    }
    std::lock_guard lock(mu_);
    ++writes_;
    if (fail_.load()) return UnavailableError("collector unreachable");
    for (const std::string& line : testing::SplitLines(lines)) {
      ids_.push_back(testing::Str(testing::ParseObject(line), "request_id"));
    }
    return OkStatus();
  }
  Status Flush() override {
    std::lock_guard lock(mu_);
    ++flushes_;
    return OkStatus();
  }

  std::vector<std::string> ids() {
    std::lock_guard lock(mu_);
    return ids_;
  }
  int flushes() {
    std::lock_guard lock(mu_);
    return flushes_;
  }

  // Blocking: the first Write counts down entered() and every Write waits for Release().
  void BlockWrites() { block_ = true; }
  void WaitUntilWriteEntered() { entered_.wait(); }
  void Release() { release_.count_down(); }
  void SetFailing(bool fail) { fail_.store(fail); }

 private:
  bool block_ = false;
  std::atomic<bool> entered_flag_{false};
  std::latch entered_{1};
  std::latch release_{1};
  std::atomic<bool> fail_{false};
  std::mutex mu_;
  std::vector<std::string> ids_;  // guarded by mu_
  int writes_ = 0;                // guarded by mu_
  int flushes_ = 0;               // guarded by mu_
};

// Counts the lines it is given, each write taking `write_time` (a disk's
// latency): for tests of the queue's pace, where nothing else of the sink's
// must weigh.
class CountingSink : public AuditSink {
 public:
  explicit CountingSink(std::chrono::microseconds write_time = {}) : write_time_(write_time) {}
  Status Write(std::string_view lines) override {
    if (write_time_.count() > 0) std::this_thread::sleep_for(write_time_);
    lines_.fetch_add(static_cast<uint64_t>(std::count(lines.begin(), lines.end(), '\n')));
    return OkStatus();
  }
  Status Flush() override { return OkStatus(); }
  uint64_t lines() const { return lines_.load(); }

 private:
  const std::chrono::microseconds write_time_;
  std::atomic<uint64_t> lines_{0};
};

std::unique_ptr<AuditQueue> MakeQueue(AuditSink& sink, AuditQueueOptions options = {}) {
  auto queue = AuditQueue::Create(sink, options);
  EXPECT_TRUE(queue.has_value()) << queue.error().ToString();
  return queue ? std::move(*queue) : nullptr;
}

TEST(AuditQueueTest, WritesEventsOfOneProducerInEnqueueOrder) {
  RecordingSink sink;
  auto queue = MakeQueue(sink, {.capacity = 4096, .max_batch = 7});
  std::vector<std::string> expected;
  for (int i = 0; i < 1000; ++i) {
    expected.push_back(std::to_string(i));
    ASSERT_TRUE(queue->TryEnqueue(SampleEvent(expected.back())));
  }
  queue->Stop();
  EXPECT_EQ(sink.ids(), expected);
  EXPECT_EQ(queue->written(), 1000u);
}

// `producers` threads each enqueue `per_producer` events into a queue with
// room for all of them: every event must be written once, each thread's in
// its order.
void ExpectEveryEventWrittenOnceInItsProducersOrder(AuditQueueOptions options, int producers,
                                                    int per_producer) {
  RecordingSink sink;
  auto queue = MakeQueue(sink, options);
  {
    std::vector<std::jthread> threads;
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&, p] {
        for (int i = 0; i < per_producer; ++i) {
          EXPECT_TRUE(queue->TryEnqueue(SampleEvent(std::to_string(p) + ":" + std::to_string(i))));
        }
      });
    }
  }
  queue->Stop();
  EXPECT_EQ(queue->enqueued(), uint64_t(producers) * per_producer);
  EXPECT_EQ(queue->written(), uint64_t(producers) * per_producer);
  EXPECT_EQ(queue->dropped(), 0u);
  std::vector<int> next(producers, 0);
  for (const std::string& id : sink.ids()) {
    int p = std::stoi(id.substr(0, id.find(':')));
    int i = std::stoi(id.substr(id.find(':') + 1));
    ASSERT_EQ(i, next[p]) << "producer " << p << " out of order or duplicated";
    ++next[p];
  }
  EXPECT_EQ(next, std::vector<int>(producers, per_producer));
}

TEST(AuditQueueTest, FourProducersHaveEveryEventWrittenExactlyOnceInTheirOrder) {
  ExpectEveryEventWrittenOnceInItsProducersOrder({.capacity = 1 << 16}, 4, 10'000);
}

TEST(AuditQueueTest, FullQueueDropsAndCountsWithoutBlocking) {
  RecordingSink sink;
  sink.BlockWrites();
  auto queue = MakeQueue(sink, {.capacity = 8});
  ASSERT_TRUE(queue->TryEnqueue(SampleEvent("taken")));
  sink.WaitUntilWriteEntered();  // the writer holds "taken" and is stuck in Write
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(queue->TryEnqueue(SampleEvent(std::to_string(i))));
  // Were TryEnqueue to wait for room, these would hang: the sink is blocked until Release.
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    AuditEvent refused = SampleEvent("refused");
    EXPECT_FALSE(queue->TryEnqueue(std::move(refused)));
    EXPECT_EQ(refused.request_id, "refused");  // left untouched
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(queue->dropped(), 100u);
  EXPECT_EQ(queue->enqueued(), 9u);
  sink.Release();
  queue->Stop();
  EXPECT_EQ(queue->written(), 9u);
  EXPECT_EQ(sink.ids(),
            (std::vector<std::string>{"taken", "0", "1", "2", "3", "4", "5", "6", "7"}));
}

// Events that find the hot ring full wait in the overflow ring; later ones
// follow them there until the writer has emptied it, so one producer's
// events reach the sink in its order; and only when both rings are full is
// an event dropped.
TEST(AuditQueueTest, SpilledEventsKeepTheirOrderAndDropOnlyWhenBothRingsAreFull) {
  RecordingSink sink;
  sink.BlockWrites();
  auto queue = MakeQueue(sink, {.capacity = 16, .hot_capacity = 2});
  ASSERT_EQ(queue->hot_capacity(), 2u);
  ASSERT_TRUE(queue->TryEnqueue(SampleEvent("taken")));
  sink.WaitUntilWriteEntered();  // the writer holds "taken" and is stuck in Write
  std::vector<std::string> expected{"taken"};
  for (int i = 0; i < 16; ++i) {  // 2 in the hot ring, 14 spilled
    expected.push_back(std::to_string(i));
    ASSERT_TRUE(queue->TryEnqueue(SampleEvent(expected.back()))) << i;
  }
  EXPECT_FALSE(queue->TryEnqueue(SampleEvent("refused")));
  EXPECT_EQ(queue->dropped(), 1u);
  sink.Release();
  ASSERT_TRUE(PollUntil([&] { return queue->written() == 17; }));
  // The writer has caught up: the next events go to the hot ring again,
  // still after every spilled one.
  for (int i = 0; i < 40; ++i) {
    expected.push_back("after-" + std::to_string(i));
    while (!queue->TryEnqueue(SampleEvent(expected.back()))) std::this_thread::yield();
  }
  queue->Stop();
  EXPECT_EQ(sink.ids(), expected);
  EXPECT_EQ(queue->written(), queue->enqueued());
}

// A producer held half-way through filling its hot slot keeps the writer
// from every later slot; meanwhile another thread puts one event into the
// hot ring and, the ring now full, spills the next. That thread's spilled
// event must wait for its hot one, and so for the held producer.
TEST(AuditQueueTest, ASpilledEventWaitsForTheHotOnesClaimedBeforeIt) {
  RecordingSink sink;
  auto queue = MakeQueue(sink, {.capacity = 16, .hot_capacity = 2});
  struct Held {
    std::latch claimed{1};
    std::latch release{1};
  } held;
  std::jthread producer([&] {
    EXPECT_TRUE(AuditQueueTestPeer::EnqueueWith(
        *queue,
        [](std::string& line, void* context) {
          auto* h = static_cast<Held*>(context);
          h->claimed.count_down();
          h->release.wait();
          line.clear();
          AppendJsonLine(ViewOf(SampleEvent("held")), line);
        },
        &held));
  });
  held.claimed.wait();
  ASSERT_TRUE(queue->TryEnqueue(SampleEvent("hot")));
  ASSERT_TRUE(queue->TryEnqueue(SampleEvent("spilled")));
  // The writer, woken by both, must take neither yet.
  EXPECT_FALSE(PollUntil([&] { return queue->written() > 0; }, std::chrono::milliseconds(200)));
  held.release.count_down();
  producer.join();
  queue->Stop();
  EXPECT_EQ(sink.ids(), (std::vector<std::string>{"held", "hot", "spilled"}));
}

// A hot ring of two spills all the time: every producer's events must still
// be written once each, in its order, whichever ring each went through.
TEST(AuditQueueTest, ProducersKeepTheirOrderThroughATinyHotRing) {
  ExpectEveryEventWrittenOnceInItsProducersOrder(
      {.capacity = 1 << 17, .hot_capacity = 2, .max_batch = 64}, 8, 12'500);
}

// How long `events` events take to reach `sink` through a queue of
// `options`, one enqueued every `pace` (at once, retried, when full).
std::chrono::steady_clock::duration TimeToWrite(CountingSink& sink, AuditQueueOptions options,
                                                int events, std::chrono::microseconds pace) {
  auto queue = MakeQueue(sink, options);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < events; ++i) {
    const auto paced = std::chrono::steady_clock::now() + pace;
    while (!queue->TryEnqueue(SampleEvent())) std::this_thread::yield();
    while (std::chrono::steady_clock::now() < paced) {
    }
  }
  queue->Stop();
  EXPECT_EQ(queue->written(), uint64_t(events));
  EXPECT_EQ(sink.lines(), uint64_t(events));
  return std::chrono::steady_clock::now() - start;
}

// The writer naps 5 ms after a batch that did not fill, unless half the hot
// ring filled while it wrote: a producer faster than the sink (each write
// takes 200 us here) would otherwise wait out a nap for every ring of
// events, 40,000 events through a ring of 64 at least 625 naps (over 3 s).
TEST(AuditQueueTest, WriterSkipsTheNapWhenHalfTheHotRingFilledDuringItsWrite) {
  CountingSink sink(std::chrono::microseconds(200));
  EXPECT_LT(TimeToWrite(sink, {.capacity = 64, .hot_capacity = 64}, 40'000, {}),
            std::chrono::milliseconds(1500));
}

// A producer that fills half the hot ring while the writer naps wakes it.
// Paced at one event per 20 us, 8,000 events take 0.16 s; through a ring of
// 16 with no wake they would wait out a nap every 16 events (over 2.5 s).
TEST(AuditQueueTest, NappingWriterIsWokenWhenHalfTheHotRingHasFilled) {
  CountingSink sink;
  EXPECT_LT(
      TimeToWrite(sink, {.capacity = 16, .hot_capacity = 16}, 8'000, std::chrono::microseconds(20)),
      std::chrono::milliseconds(1200));
}

TEST(AuditQueueTest, StopDrainsAcceptedEventsAndFlushesOnce) {
  RecordingSink sink;
  auto queue = MakeQueue(sink);
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(queue->TryEnqueue(SampleEvent()));
  queue->Stop();
  EXPECT_EQ(queue->written(), 5000u);
  EXPECT_EQ(sink.flushes(), 1);
  queue->Stop();  // idempotent
  EXPECT_EQ(sink.flushes(), 1);
}

TEST(AuditQueueTest, RefusesAndCountsEventsAfterStop) {
  RecordingSink sink;
  auto queue = MakeQueue(sink);
  queue->Stop();
  AuditEvent late = SampleEvent("late");
  EXPECT_FALSE(queue->TryEnqueue(std::move(late)));
  EXPECT_EQ(late.request_id, "late");
  EXPECT_EQ(queue->dropped(), 1u);
  EXPECT_EQ(queue->enqueued(), 0u);
}

TEST(AuditQueueTest, DestructorDrainsAndStops) {
  RecordingSink sink;
  {
    auto queue = MakeQueue(sink);
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(queue->TryEnqueue(SampleEvent()));
  }
  EXPECT_EQ(sink.ids().size(), 100u);
  EXPECT_EQ(sink.flushes(), 1);
}

// Each event finds the writer asleep: a lost wake-up would hang the poll.
TEST(AuditQueueTest, WakesIdleWriterForEveryEvent) {
  RecordingSink sink;
  auto queue = MakeQueue(sink);
  for (uint64_t i = 1; i <= 2000; ++i) {
    ASSERT_TRUE(queue->TryEnqueue(SampleEvent()));
    ASSERT_TRUE(PollUntil([&] { return queue->written() == i; })) << "event " << i;
  }
}

TEST(AuditQueueTest, EveryAcceptedEventIsWrittenWhenStopRacesProducers) {
  RecordingSink sink;
  auto queue = MakeQueue(sink, {.capacity = 256});
  std::atomic<int> running{0};
  std::vector<std::jthread> producers;
  for (int p = 0; p < 3; ++p) {
    producers.emplace_back([&](std::stop_token stop) {
      running.fetch_add(1);
      while (!stop.stop_requested()) (void)queue->TryEnqueue(SampleEvent());
    });
  }
  ASSERT_TRUE(PollUntil([&] { return running.load() == 3 && queue->written() > 1000; }));
  queue->Stop();
  for (auto& t : producers) t.request_stop();
  producers.clear();
  EXPECT_EQ(queue->written(), queue->enqueued());
  EXPECT_EQ(sink.ids().size(), queue->enqueued());
}

TEST(AuditQueueTest, SinkFailureIsCountedAndQueueKeepsGoing) {
  RecordingSink sink;
  sink.SetFailing(true);
  auto queue = MakeQueue(sink);
  ASSERT_TRUE(queue->TryEnqueue(SampleEvent("lost-1")));
  ASSERT_TRUE(PollUntil([&] { return queue->write_errors() == 1; }));
  ASSERT_TRUE(queue->TryEnqueue(SampleEvent("lost-2")));
  ASSERT_TRUE(PollUntil([&] { return queue->write_errors() == 2; }));
  sink.SetFailing(false);
  ASSERT_TRUE(queue->TryEnqueue(SampleEvent("kept")));
  queue->Stop();
  EXPECT_EQ(queue->write_errors(), 2u);
  EXPECT_EQ(queue->lost(), 2u);
  EXPECT_EQ(queue->written(), 1u);
  EXPECT_EQ(queue->enqueued(), queue->written() + queue->lost());
  EXPECT_EQ(sink.ids(), std::vector<std::string>{"kept"});
}

TEST(AuditQueueTest, WritesThroughFileSinkAsParseableJsonLines) {
  testing::TempDir dir;
  auto sink = FileAuditSink::Open({.path = dir.File("audit.log")});
  ASSERT_TRUE(sink.has_value());
  auto queue = MakeQueue(**sink, {.max_batch = 16});
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(queue->TryEnqueue(SampleEvent(std::to_string(i))));
  queue->Stop();
  std::vector<std::string> lines = testing::SplitLines(testing::ReadFile(dir.File("audit.log")));
  ASSERT_EQ(lines.size(), 500u);
  for (int i = 0; i < 500; ++i) {
    EXPECT_EQ(testing::Str(testing::ParseObject(lines[i]), "request_id"), std::to_string(i));
  }
}

TEST(AuditQueueTest, ABorrowedEventIsCopiedBeforeTryEnqueueReturns) {
  // Events from views go through slots that keep their strings for reuse:
  // each line must carry its own values, whatever a slot held before (a long
  // path, a longer subject) and whatever the caller does with its strings
  // once TryEnqueue returns.
  testing::TempDir dir;
  auto sink = FileAuditSink::Open({.path = dir.File("audit.log")});
  ASSERT_TRUE(sink.has_value());
  auto queue = MakeQueue(**sink, {.capacity = 4, .max_batch = 3});
  std::vector<std::string> want_subjects, want_resources, want_hosts;
  for (int i = 0; i < 200; ++i) {
    std::string id = std::to_string(i);
    std::string subject = i % 3 == 0 ? "user:" + std::string(40, 'a') + id : "u" + id;
    // Every seventh line is over the 2 KiB a slot keeps, its strings each
    // under the 1 KiB where they would be cut.
    std::string resource = i % 7 == 0 ? "/" + std::string(1000, 'p') + id : "/r/" + id;
    std::string host = i % 7 == 0 ? std::string(1000, 'h') + id : "h" + id;
    const AuditEventView view{.request_id = id,
                              .subject = subject,
                              .action = "GET",
                              .resource = resource,
                              .host = host,
                              .decision = AuditDecision::kAllow,
                              .status = 200};
    while (!queue->TryEnqueue(view)) std::this_thread::yield();  // a ring of 4 fills
    want_subjects.push_back(subject);
    want_resources.push_back(resource);
    want_hosts.push_back(host);
    std::fill(subject.begin(), subject.end(), 'X');  // the caller reuses its strings
    std::fill(resource.begin(), resource.end(), 'X');
    std::fill(host.begin(), host.end(), 'X');
    id.assign("X");
  }
  queue->Stop();
  std::vector<std::string> lines = testing::SplitLines(testing::ReadFile(dir.File("audit.log")));
  ASSERT_EQ(lines.size(), 200u);
  for (int i = 0; i < 200; ++i) {
    const boost::json::object o = testing::ParseObject(lines[i]);
    EXPECT_EQ(testing::Str(o, "request_id"), std::to_string(i));
    EXPECT_EQ(testing::Str(o, "subject"), want_subjects[i]);
    EXPECT_EQ(testing::Str(o, "resource"), want_resources[i]);
    EXPECT_EQ(testing::Str(o, "host"), want_hosts[i]);
    EXPECT_EQ(testing::Str(o, "issuer"), "");
  }
}

// A sink stuck for good (a pipe nobody reads) must not hold a stop
// forever: StopWithin gives up, and the writer, still in the sink, keeps
// the queue and the sink, which the caller leaves alive.
TEST(AuditQueueTest, StopWithinGivesUpOnASinkStuckForGood) {
  RecordingSink healthy;
  auto quick = MakeQueue(healthy);
  ASSERT_TRUE(quick->TryEnqueue(SampleEvent("kept")));
  EXPECT_TRUE(quick->StopWithin(std::chrono::seconds(5)));
  EXPECT_EQ(healthy.ids(), std::vector<std::string>{"kept"});

  // Left alive on purpose, as the server leaves them (reachable from here).
  static RecordingSink* const stuck = new RecordingSink;
  stuck->BlockWrites();
  static AuditQueue* const queue = MakeQueue(*stuck).release();
  ASSERT_TRUE(queue->TryEnqueue(SampleEvent("held")));
  stuck->WaitUntilWriteEntered();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(queue->StopWithin(std::chrono::milliseconds(50)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(queue->written(), 0u);
  stuck->Release();  // the writer ends on its own
  ASSERT_TRUE(PollUntil([&] { return queue->written() == 1; }));
}

TEST(AuditQueueTest, CreateValidatesOptionsAndRoundsCapacityUp) {
  RecordingSink sink;
  auto bad_batch = AuditQueue::Create(sink, {.max_batch = 0});
  ASSERT_FALSE(bad_batch.has_value());
  EXPECT_EQ(bad_batch.error().code(), StatusCode::kInvalidArgument);
  auto too_big = AuditQueue::Create(sink, {.capacity = (size_t{1} << 30) + 1});
  ASSERT_FALSE(too_big.has_value());
  EXPECT_EQ(too_big.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeQueue(sink, {.capacity = 3})->capacity(), 4u);
  EXPECT_EQ(MakeQueue(sink, {.capacity = 0})->capacity(), 2u);
  // The hot ring: a power of two, at least 2, at most the capacity.
  EXPECT_EQ(MakeQueue(sink)->hot_capacity(), 1024u);
  EXPECT_EQ(MakeQueue(sink)->capacity(), 16384u);
  auto three = MakeQueue(sink, {.capacity = 100, .hot_capacity = 3});
  EXPECT_EQ(three->hot_capacity(), 4u);
  EXPECT_EQ(three->capacity(), 128u);
  EXPECT_EQ(MakeQueue(sink, {.capacity = 8})->hot_capacity(), 8u);
  EXPECT_EQ(MakeQueue(sink, {.capacity = 8, .hot_capacity = 0})->hot_capacity(), 2u);
}

}  // namespace
}  // namespace bulwark::audit

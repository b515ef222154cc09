// Conformance: watches, compaction and leases, on every backend.
#include <gtest/gtest.h>

#include <latch>
#include <thread>

#include "conformance_fixture.h"

namespace bulwark::store::testing {
namespace {

using namespace std::chrono_literals;

TEST_P(StoreConformanceTest, WatchDeliversPutsAndDeletesInRevisionOrder) {
  WatchRecorder rec;
  auto watch = store_->StartWatch({.range = KeyRange::Prefix("w/")}, rec.Handler());
  ASSERT_TRUE(watch.has_value());
  MustPut("w/a", "1");
  MustPut("other", "x");
  MustPut("w/a", "2");
  ASSERT_TRUE(store_->Delete(KeyRange::Key("w/a")).has_value());
  ASSERT_TRUE(rec.WaitForEvents(3));
  auto events = rec.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, EventType::kPut);
  EXPECT_EQ(events[0].kv.value, "1");
  EXPECT_EQ(events[0].revision(), 2);
  EXPECT_EQ(events[1].kv.value, "2");
  EXPECT_EQ(events[1].kv.version, 2);
  EXPECT_EQ(events[1].revision(), 4);
  EXPECT_EQ(events[2].type, EventType::kDelete);
  EXPECT_EQ(events[2].kv.key, "w/a");
  EXPECT_EQ(events[2].revision(), 5);
}

TEST_P(StoreConformanceTest, WatchFromPastRevisionReplaysHistoryThenFollows) {
  MustPut("h", "1");
  MustPut("h", "2");
  WatchRecorder rec;
  auto watch =
      store_->StartWatch({.range = KeyRange::Key("h"), .start_revision = 2}, rec.Handler());
  ASSERT_TRUE(watch.has_value());
  MustPut("h", "3");
  ASSERT_TRUE(rec.WaitForEvents(3));
  auto events = rec.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kv.value, "1");
  EXPECT_EQ(events[2].kv.value, "3");
}

TEST_P(StoreConformanceTest, TransactionEventsArriveTogetherAtOneRevision) {
  WatchRecorder rec;
  auto watch = store_->StartWatch({.range = KeyRange::Prefix("")}, rec.Handler());
  ASSERT_TRUE(watch.has_value());
  ASSERT_TRUE(store_->Txn({.success = {TxnPut{"t1", "a"}, TxnPut{"t2", "b"}}}).has_value());
  ASSERT_TRUE(rec.WaitForEvents(2));
  auto batches = rec.batches();
  ASSERT_EQ(batches.size(), 1u);
  ASSERT_EQ(batches[0].size(), 2u);
  EXPECT_EQ(batches[0][0].revision(), batches[0][1].revision());
}

TEST_P(StoreConformanceTest, WatchSeesEveryRevisionOfConcurrentWritersWithoutGaps) {
  WatchRecorder rec;
  auto watch = store_->StartWatch({.range = KeyRange::Prefix("c/")}, rec.Handler());
  ASSERT_TRUE(watch.has_value());
  auto writer = [&](char id) {
    for (int i = 0; i < 100; ++i) MustPut(std::string("c/") + id + std::to_string(i % 7), "v");
  };
  std::thread a(writer, 'a'), b(writer, 'b');
  a.join();
  b.join();
  ASSERT_TRUE(rec.WaitForEvents(200));
  auto events = rec.events();
  ASSERT_EQ(events.size(), 200u);
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].revision(), 2 + int64_t(i));
}

TEST_P(StoreConformanceTest, CancelledWatchReceivesNothingMore) {
  WatchRecorder rec;
  auto watch = store_->StartWatch({.range = KeyRange::Key("k")}, rec.Handler());
  ASSERT_TRUE(watch.has_value());
  MustPut("k", "1");
  ASSERT_TRUE(rec.WaitForEvents(1));
  watch->reset();
  MustPut("k", "2");
  // A second watch sees the later write, so the first had every chance to.
  WatchRecorder later;
  auto probe =
      store_->StartWatch({.range = KeyRange::Key("k"), .start_revision = 3}, later.Handler());
  ASSERT_TRUE(probe.has_value());
  ASSERT_TRUE(later.WaitForEvents(1));
  EXPECT_EQ(rec.events().size(), 1u);
}

TEST_P(StoreConformanceTest, WatchMayCancelItselfFromItsCallback) {
  std::unique_ptr<Watch> watch;
  std::atomic<int> calls{0};
  std::latch first(1);
  auto started =
      store_->StartWatch({.range = KeyRange::Key("k")}, {.on_events = [&](std::span<const Event>) {
                           if (calls++ == 0) {
                             watch.reset();
                             first.count_down();
                           }
                         }});
  ASSERT_TRUE(started.has_value());
  watch = std::move(*started);
  MustPut("k", "1");
  first.wait();
  MustPut("k", "2");
  WatchRecorder later;
  auto probe =
      store_->StartWatch({.range = KeyRange::Key("k"), .start_revision = 3}, later.Handler());
  ASSERT_TRUE(probe.has_value() && later.WaitForEvents(1));
  EXPECT_EQ(calls.load(), 1);
}

TEST_P(StoreConformanceTest, WatchFromCompactedRevisionIsRefused) {
  for (int i = 0; i < 5; ++i) MustPut("k", std::to_string(i));
  auto compacted = store_->Compact(4);
  ASSERT_TRUE(compacted.has_value());
  EXPECT_EQ(*compacted, 4);
  EXPECT_EQ(store_->OldestWatchableRevision(), 4);
  WatchRecorder rec;
  auto watch =
      store_->StartWatch({.range = KeyRange::Key("k"), .start_revision = 3}, rec.Handler());
  ASSERT_FALSE(watch.has_value());
  EXPECT_EQ(watch.error().code(), StatusCode::kOutOfRange);
  auto ok = store_->StartWatch({.range = KeyRange::Key("k"), .start_revision = 4}, rec.Handler());
  ASSERT_TRUE(ok.has_value());
  ASSERT_TRUE(rec.WaitForEvents(3));
  EXPECT_EQ(rec.events().front().revision(), 4);
  // Compaction keeps the current keys.
  EXPECT_EQ((*store_->Get("k"))->value, "4");
}

TEST_P(StoreConformanceTest, CompactingTheFutureIsRefused) {
  auto compacted = store_->Compact(store_->Revision() + 1);
  ASSERT_FALSE(compacted.has_value());
  EXPECT_EQ(compacted.error().code(), StatusCode::kOutOfRange);
}

TEST_P(StoreConformanceTest, WatcherOvertakenByCompactionGetsOutOfRange) {
  std::latch in_callback(1);
  std::latch release(1);
  WatchRecorder rec;
  WatchHandler inner = rec.Handler();
  std::atomic<bool> blocked{false};
  auto watch =
      store_->StartWatch({.range = KeyRange::Key("k")}, {.on_events =
                                                             [&](std::span<const Event> e) {
                                                               inner.on_events(e);
                                                               if (!blocked.exchange(true)) {
                                                                 in_callback.count_down();
                                                                 release.wait();
                                                               }
                                                             },
                                                         .on_error = inner.on_error});
  ASSERT_TRUE(watch.has_value());
  MustPut("k", "1");
  in_callback.wait();
  for (int i = 0; i < 5; ++i) MustPut("k", "x");
  ASSERT_TRUE(store_->Compact(store_->Revision()).has_value());
  release.count_down();
  ASSERT_TRUE(rec.WaitForError());
  EXPECT_EQ(rec.error()->code(), StatusCode::kOutOfRange);
}

TEST_P(StoreConformanceTest, HistoryIsCompactedAutomaticallyToItsBound) {
  StoreOptions options = Options();
  options.history_revisions = 10;
  store_.reset();
  store_ = OpenWith(options);
  for (int i = 0; i < 50; ++i) MustPut("k", std::to_string(i));
  EXPECT_GT(store_->OldestWatchableRevision(), 30);
  EXPECT_LE(store_->OldestWatchableRevision(), store_->Revision() - 9);
}

TEST_P(StoreConformanceTest, ClosingTheStoreEndsWatchesWithCancelled) {
  WatchRecorder rec;
  auto watch = store_->StartWatch({.range = KeyRange::Key("k")}, rec.Handler());
  ASSERT_TRUE(watch.has_value());
  store_.reset();
  ASSERT_TRUE(rec.WaitForError());
  EXPECT_EQ(rec.error()->code(), StatusCode::kCancelled);
  watch->reset();  // outliving the store is safe
}

TEST_P(StoreConformanceTest, LeaseKeysVanishWhenTtlPasses) {
  auto lease = store_->GrantLease(10s);
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->ttl, 10s);
  MustPut("session/1", "alive", lease->id);
  MustPut("durable", "stays");
  WatchRecorder rec;
  auto watch = store_->StartWatch({.range = KeyRange::Prefix("session/")}, rec.Handler());
  ASSERT_TRUE(watch.has_value());

  clock_.Advance(9s);
  EXPECT_EQ(*store_->ExpireLeases(), 0);
  EXPECT_TRUE(store_->Get("session/1")->has_value());
  clock_.Advance(1s);
  EXPECT_EQ(*store_->ExpireLeases(), 1);
  EXPECT_FALSE(store_->Get("session/1")->has_value());
  EXPECT_TRUE(store_->Get("durable")->has_value());
  ASSERT_TRUE(rec.WaitForEvents(1));
  EXPECT_EQ(rec.events()[0].type, EventType::kDelete);
  EXPECT_EQ(store_->KeepAlive(lease->id).error().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, KeepAliveRestartsTheTtl) {
  auto lease = store_->GrantLease(10s);
  ASSERT_TRUE(lease.has_value());
  MustPut("s", "v", lease->id);
  clock_.Advance(8s);
  auto kept = store_->KeepAlive(lease->id);
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->remaining, 10s);
  clock_.Advance(8s);
  EXPECT_EQ(*store_->ExpireLeases(), 0);
  EXPECT_EQ(store_->LeaseTimeToLive(lease->id)->remaining, 2s);
  EXPECT_TRUE(store_->Get("s")->has_value());
}

TEST_P(StoreConformanceTest, ExpiredButNotYetReapedLeaseTakesNoKeys) {
  auto lease = store_->GrantLease(5s);
  ASSERT_TRUE(lease.has_value());
  clock_.Advance(5s);
  EXPECT_EQ(store_->Put("k", "v", {.lease = lease->id}).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->LeaseTimeToLive(lease->id).error().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, RevokeDeletesTheLeaseKeysInOneRevision) {
  auto lease = store_->GrantLease(60s);
  ASSERT_TRUE(lease.has_value());
  MustPut("a", "1", lease->id);
  MustPut("b", "1", lease->id);
  const int64_t before = store_->Revision();
  ASSERT_TRUE(store_->RevokeLease(lease->id).ok());
  EXPECT_EQ(store_->Revision(), before + 1);
  EXPECT_EQ(store_->Range(KeyRange::Prefix(""))->count, 0);
  EXPECT_EQ(store_->RevokeLease(lease->id).code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, PutWithoutLeaseDetachesKeyFromLease) {
  auto lease = store_->GrantLease(5s);
  ASSERT_TRUE(lease.has_value());
  MustPut("k", "leased", lease->id);
  MustPut("k", "kept");
  EXPECT_EQ((*store_->Get("k"))->lease, 0);
  clock_.Advance(6s);
  EXPECT_EQ(*store_->ExpireLeases(), 1);
  EXPECT_EQ((*store_->Get("k"))->value, "kept");
}

TEST_P(StoreConformanceTest, RefusesLeaseTtlOutsideBounds) {
  EXPECT_EQ(store_->GrantLease(0s).error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->GrantLease(std::chrono::hours(24 * 400)).error().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, StoreRevokesExpiredLeasesOnItsOwn) {
  StoreOptions options = Options();
  options.clock = nullptr;  // the real clock
  options.lease_check_interval = 20ms;
  store_.reset();
  store_ = OpenWith(options);
  auto lease = store_->GrantLease(1s);
  ASSERT_TRUE(lease.has_value());
  MustPut("ephemeral", "v", lease->id);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (store_->Get("ephemeral")->has_value() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_FALSE(store_->Get("ephemeral")->has_value());
}

// Only the durable backends promise to remember across a reopen.
class DurableStoreTest : public StoreConformanceTest {};

std::vector<BackendParam> DurableBackends() {
  std::vector<BackendParam> durable;
  for (const BackendParam& b : kBackends) {
    if (b.durable) durable.push_back(b);
  }
  return durable;
}

TEST_P(DurableStoreTest, KeepsEverythingAcrossReopen) {
  auto lease = store_->GrantLease(30s);
  ASSERT_TRUE(lease.has_value());
  MustPut("a", "1");
  MustPut("a", "2");
  MustPut("l", "v", lease->id);
  ASSERT_TRUE(store_->Delete(KeyRange::Key("gone")).has_value());
  MustPut("gone", "x");
  ASSERT_TRUE(store_->Delete(KeyRange::Key("gone")).has_value());
  const int64_t revision = store_->Revision();
  Reopen();
  EXPECT_EQ(store_->Revision(), revision);
  auto a = store_->Get("a");
  ASSERT_TRUE(a && *a);
  EXPECT_EQ(
      **a,
      (KeyValue{.key = "a", .value = "2", .create_revision = 2, .mod_revision = 3, .version = 2}));
  EXPECT_FALSE(store_->Get("gone")->has_value());
  EXPECT_EQ(store_->LeaseTimeToLive(lease->id)->ttl, 30s);
  // History survives: a watch from revision 2 replays every change.
  WatchRecorder rec;
  auto watch =
      store_->StartWatch({.range = KeyRange::Prefix(""), .start_revision = 2}, rec.Handler());
  ASSERT_TRUE(watch.has_value());
  ASSERT_TRUE(rec.WaitForEvents(5));
  EXPECT_EQ(rec.events().back().type, EventType::kDelete);
  // The lease still deletes its key after the restart.
  clock_.Advance(31s);
  EXPECT_EQ(*store_->ExpireLeases(), 1);
  EXPECT_FALSE(store_->Get("l")->has_value());
  // New lease ids never reuse old ones.
  auto next = store_->GrantLease(5s);
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(next->id, lease->id);
}

INSTANTIATE_TEST_SUITE_P(DurableBackends, DurableStoreTest, ::testing::ValuesIn(DurableBackends()),
                         BackendName);

}  // namespace
}  // namespace bulwark::store::testing

// Conformance: keys, revisions, ranges and transactions, on every backend.
#include <gtest/gtest.h>

#include "conformance_fixture.h"

namespace bulwark::store::testing {
namespace {

using Op = Compare::Op;

TEST_P(StoreConformanceTest, FreshStoreIsAtRevisionOneAndEmpty) {
  EXPECT_EQ(store_->Revision(), 1);
  auto all = store_->Range(KeyRange::Prefix(""));
  ASSERT_TRUE(all.has_value());
  EXPECT_TRUE(all->kvs.empty());
  EXPECT_EQ(all->count, 0);
  EXPECT_EQ(all->revision, 1);
}

TEST_P(StoreConformanceTest, PutThenGetReturnsValueAndRevisions) {
  EXPECT_EQ(MustPut("a", "1"), 2);
  auto got = store_->Get("a");
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(
      **got,
      (KeyValue{.key = "a", .value = "1", .create_revision = 2, .mod_revision = 2, .version = 1}));
}

TEST_P(StoreConformanceTest, EachPutBumpsStoreRevisionAndKeyVersion) {
  MustPut("a", "1");
  MustPut("b", "x");
  auto second = store_->Put("a", "2");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->revision, 4);
  ASSERT_TRUE(second->previous.has_value());
  EXPECT_EQ(second->previous->value, "1");
  auto got = store_->Get("a");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->create_revision, 2);
  EXPECT_EQ((*got)->mod_revision, 4);
  EXPECT_EQ((*got)->version, 2);
  EXPECT_EQ(store_->Revision(), 4);
}

TEST_P(StoreConformanceTest, GetOfMissingKeyIsEmptyNotError) {
  auto got = store_->Get("missing");
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->has_value());
}

TEST_P(StoreConformanceTest, BinaryKeysAndValuesRoundTrip) {
  const std::string key("k\0\xff\x01", 4);
  const std::string value("\0\0v\xfe", 4);
  MustPut(key, value);
  auto got = store_->Get(key);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->value, value);
  EXPECT_FALSE(store_->Get(std::string("k\0", 2))->has_value());
}

TEST_P(StoreConformanceTest, RefusesMalformedWritesAndChangesNothing) {
  MustPut("keep", "v");
  const int64_t before = store_->Revision();
  EXPECT_EQ(store_->Put("", "v").error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Put(std::string(5000, 'k'), "v").error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Put("big", std::string(2 * 1024 * 1024, 'v')).error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Put("k", "v", {.lease = 42}).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("").error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Range(KeyRange::Prefix("a"), {.limit = -1}).error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Revision(), before);
  EXPECT_EQ((*store_->Get("keep"))->value, "v");
}

TEST_P(StoreConformanceTest, DeleteRemovesKeyAndBumpsRevision) {
  MustPut("a", "1");
  auto deleted = store_->Delete(KeyRange::Key("a"));
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(deleted->deleted, 1);
  EXPECT_EQ(deleted->revision, 3);
  EXPECT_FALSE(store_->Get("a")->has_value());
}

TEST_P(StoreConformanceTest, DeletingNothingKeepsRevision) {
  MustPut("a", "1");
  auto deleted = store_->Delete(KeyRange::Key("b"));
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(deleted->deleted, 0);
  EXPECT_EQ(deleted->revision, 2);
  EXPECT_EQ(store_->Revision(), 2);
}

TEST_P(StoreConformanceTest, RecreatedKeyStartsNewVersionHistory) {
  MustPut("a", "1");
  MustPut("a", "2");
  ASSERT_TRUE(store_->Delete(KeyRange::Key("a")).has_value());
  MustPut("a", "3");
  auto got = store_->Get("a");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->version, 1);
  EXPECT_EQ((*got)->create_revision, 5);
}

TEST_P(StoreConformanceTest, PrefixRangeReturnsOnlyThatPrefixInKeyOrder) {
  for (const char* k : {"app/b", "app/a", "app0", "ap", "app/c/d", "apq"}) MustPut(k, k);
  auto range = store_->Range(KeyRange::Prefix("app/"));
  ASSERT_TRUE(range.has_value());
  std::vector<std::string> keys;
  for (const auto& kv : range->kvs) keys.push_back(kv.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"app/a", "app/b", "app/c/d"}));
  EXPECT_EQ(range->count, 3);
  EXPECT_FALSE(range->more);
}

TEST_P(StoreConformanceTest, RangeLimitReportsMoreAndFullCount) {
  for (int i = 0; i < 5; ++i) MustPut("k" + std::to_string(i), "v");
  auto range = store_->Range(KeyRange::Prefix("k"), {.limit = 2});
  ASSERT_TRUE(range.has_value());
  ASSERT_EQ(range->kvs.size(), 2u);
  EXPECT_EQ(range->kvs[1].key, "k1");
  EXPECT_TRUE(range->more);
  EXPECT_EQ(range->count, 5);
  // Paging: continue after the last key seen.
  auto next = store_->Range(KeyRange::Between(range->kvs[1].key + '\0', PrefixEnd("k")));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->kvs.size(), 3u);
}

TEST_P(StoreConformanceTest, KeysOnlyAndCountOnly) {
  MustPut("p/1", "secret-ish");
  MustPut("p/2", "v");
  auto keys = store_->Range(KeyRange::Prefix("p/"), {.keys_only = true});
  ASSERT_TRUE(keys.has_value());
  ASSERT_EQ(keys->kvs.size(), 2u);
  EXPECT_TRUE(keys->kvs[0].value.empty());
  auto count = store_->Range(KeyRange::Prefix("p/"), {.count_only = true});
  ASSERT_TRUE(count.has_value());
  EXPECT_TRUE(count->kvs.empty());
  EXPECT_EQ(count->count, 2);
}

TEST_P(StoreConformanceTest, PrefixOfAllFfBytesReachesEndOfKeyspace) {
  const std::string ff("\xff\xff", 2);
  MustPut(ff + "x", "v");
  MustPut("a", "v");
  EXPECT_EQ(PrefixEnd(ff), std::string(1, '\0'));
  EXPECT_EQ(PrefixEnd("a\xff"), "b");
  auto range = store_->Range(KeyRange::Prefix(ff));
  ASSERT_TRUE(range.has_value());
  ASSERT_EQ(range->kvs.size(), 1u);
  EXPECT_EQ(store_->Range(KeyRange::Prefix(""))->count, 2);
}

TEST_P(StoreConformanceTest, DeleteRangeIsOneRevision) {
  for (const char* k : {"d/1", "d/2", "d/3", "e"}) MustPut(k, "v");
  auto deleted = store_->Delete(KeyRange::Prefix("d/"));
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(deleted->deleted, 3);
  EXPECT_EQ(deleted->revision, 6);
  EXPECT_EQ(store_->Range(KeyRange::Prefix(""))->count, 1);
}

TEST_P(StoreConformanceTest, CompareAndSwapSucceedsOnMatchingModRevision) {
  int64_t rev = MustPut("cfg", "v1");
  auto txn = store_->Txn({.compares = {Compare::ModRevision("cfg", Op::kEqual, rev)},
                          .success = {TxnPut{"cfg", "v2"}}});
  ASSERT_TRUE(txn.has_value());
  EXPECT_TRUE(txn->succeeded);
  EXPECT_EQ(txn->revision, rev + 1);
  EXPECT_EQ((*store_->Get("cfg"))->value, "v2");
}

TEST_P(StoreConformanceTest, CompareAndSwapLosesToConcurrentWriteAndRunsFailureBranch) {
  int64_t rev = MustPut("cfg", "v1");
  MustPut("cfg", "someone-else");
  auto txn = store_->Txn({.compares = {Compare::ModRevision("cfg", Op::kEqual, rev)},
                          .success = {TxnPut{"cfg", "mine"}},
                          .failure = {TxnGet{KeyRange::Key("cfg")}}});
  ASSERT_TRUE(txn.has_value());
  EXPECT_FALSE(txn->succeeded);
  ASSERT_EQ(txn->results.size(), 1u);
  const auto& get = std::get<RangeResult>(txn->results[0]);
  ASSERT_EQ(get.kvs.size(), 1u);
  EXPECT_EQ(get.kvs[0].value, "someone-else");
  EXPECT_EQ(txn->revision, store_->Revision());
  EXPECT_EQ((*store_->Get("cfg"))->value, "someone-else");
}

TEST_P(StoreConformanceTest, CreateIfMissingCreatesOnce) {
  TxnRequest create{.compares = {Compare::Missing("lock")}, .success = {TxnPut{"lock", "me"}}};
  auto first = store_->Txn(create);
  auto second = store_->Txn(create);
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(first->succeeded);
  EXPECT_FALSE(second->succeeded);
}

TEST_P(StoreConformanceTest, TransactionOverSeveralKeysWritesOneRevision) {
  MustPut("acct/a", "100");
  MustPut("acct/b", "0");
  auto txn = store_->Txn({.compares = {Compare::Value("acct/a", Op::kEqual, "100"),
                                       Compare::Version("acct/b", Op::kGreater, 0)},
                          .success = {TxnPut{"acct/a", "50"}, TxnPut{"acct/b", "50"},
                                      TxnDelete{KeyRange::Key("acct/none")}}});
  ASSERT_TRUE(txn.has_value());
  ASSERT_TRUE(txn->succeeded);
  EXPECT_EQ(txn->revision, 4);
  EXPECT_EQ((*store_->Get("acct/a"))->mod_revision, 4);
  EXPECT_EQ((*store_->Get("acct/b"))->mod_revision, 4);
  EXPECT_EQ(store_->Revision(), 4);
}

TEST_P(StoreConformanceTest, FailedCompareOnAnyKeyWritesNothing) {
  MustPut("x", "1");
  auto txn = store_->Txn(
      {.compares = {Compare::Value("x", Op::kEqual, "1"), Compare::Value("y", Op::kEqual, "1")},
       .success = {TxnPut{"x", "2"}, TxnPut{"y", "2"}}});
  ASSERT_TRUE(txn.has_value());
  EXPECT_FALSE(txn->succeeded);
  EXPECT_EQ((*store_->Get("x"))->value, "1");
  EXPECT_FALSE(store_->Get("y")->has_value());
  EXPECT_EQ(store_->Revision(), 2);
}

TEST_P(StoreConformanceTest, GetInsideTransactionSeesEarlierPut) {
  auto txn = store_->Txn({.success = {TxnPut{"n", "1"}, TxnGet{KeyRange::Prefix("n")}}});
  ASSERT_TRUE(txn.has_value());
  const auto& get = std::get<RangeResult>(txn->results[1]);
  ASSERT_EQ(get.kvs.size(), 1u);
  EXPECT_EQ(get.kvs[0].value, "1");
  EXPECT_EQ(get.revision, txn->revision);
}

TEST_P(StoreConformanceTest, ReadOnlyTransactionKeepsRevision) {
  MustPut("a", "1");
  auto txn = store_->Txn({.success = {TxnGet{KeyRange::Key("a")}}});
  ASSERT_TRUE(txn.has_value());
  EXPECT_EQ(txn->revision, 2);
  EXPECT_EQ(store_->Revision(), 2);
}

TEST_P(StoreConformanceTest, CompareOperatorsOnVersionAndValue) {
  MustPut("v", "b");
  MustPut("v", "b");
  auto holds = [&](Compare c) { return store_->Txn({.compares = {std::move(c)}})->succeeded; };
  EXPECT_TRUE(holds(Compare::Version("v", Op::kEqual, 2)));
  EXPECT_TRUE(holds(Compare::Version("v", Op::kGreater, 1)));
  EXPECT_TRUE(holds(Compare::Version("v", Op::kLess, 3)));
  EXPECT_TRUE(holds(Compare::Version("v", Op::kNotEqual, 1)));
  EXPECT_TRUE(holds(Compare::Value("v", Op::kGreater, "a")));
  EXPECT_TRUE(holds(Compare::Value("v", Op::kLess, "c")));
  EXPECT_TRUE(holds(Compare::CreateRevision("v", Op::kEqual, 2)));
  EXPECT_TRUE(holds(Compare::Lease("v", Op::kEqual, 0)));
  EXPECT_FALSE(holds(Compare::Value("absent", Op::kNotEqual, "x")));
  EXPECT_TRUE(holds(Compare::ModRevision("absent", Op::kEqual, 0)));
}

TEST_P(StoreConformanceTest, RefusesMalformedTransactionsAndChangesNothing) {
  MustPut("a", "1");
  auto expect_invalid = [&](TxnRequest r) {
    auto txn = store_->Txn(r);
    ASSERT_FALSE(txn.has_value());
    EXPECT_EQ(txn.error().code(), StatusCode::kInvalidArgument);
  };
  expect_invalid({.success = {TxnPut{"a", "2"}, TxnPut{"a", "3"}}});
  expect_invalid({.success = {TxnPut{"a/1", "2"}, TxnDelete{KeyRange::Prefix("a")}}});
  expect_invalid({.compares = {{"a", Compare::Target::kValue, Op::kEqual, int64_t{1}}}});
  expect_invalid({.compares = {{"a", Compare::Target::kVersion, Op::kEqual, std::string("1")}}});
  expect_invalid({.success = {TxnPut{"", "v"}}});
  expect_invalid({.success = std::vector<TxnOp>(129, TxnGet{KeyRange::Key("a")})});
  // A bad failure branch is refused even when the success branch would run.
  expect_invalid({.success = {TxnPut{"b", "1"}}, .failure = {TxnPut{"", "v"}}});
  EXPECT_EQ(store_->Revision(), 2);
  EXPECT_FALSE(store_->Get("b")->has_value());
}

TEST_P(StoreConformanceTest, ConcurrentIncrementsWithCasLoseNoUpdate) {
  MustPut("counter", "0");
  auto worker = [&] {
    for (int done = 0; done < 50;) {
      auto cur = store_->Get("counter");
      ASSERT_TRUE(cur && *cur);
      int next = std::stoi((*cur)->value) + 1;
      auto txn = store_->Txn(
          {.compares = {Compare::ModRevision("counter", Op::kEqual, (*cur)->mod_revision)},
           .success = {TxnPut{"counter", std::to_string(next)}}});
      ASSERT_TRUE(txn.has_value());
      if (txn->succeeded) ++done;
    }
  };
  std::thread a(worker), b(worker);
  a.join();
  b.join();
  EXPECT_EQ((*store_->Get("counter"))->value, "100");
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformanceTest, ::testing::ValuesIn(kBackends),
                         BackendName);

}  // namespace
}  // namespace bulwark::store::testing

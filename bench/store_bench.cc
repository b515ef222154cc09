// Store benchmarks: reads, durable writes and transactions on both backends,
// beside raw SQLite doing the same durable upsert (WAL, synchronous=FULL, one
// transaction per write) in the same run, so the store's own overhead shows.
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "store/open_store.h"

namespace {

using bulwark::store::Compare;
using bulwark::store::KeyRange;
using bulwark::store::OpenStore;
using bulwark::store::Store;
using bulwark::store::StoreOptions;
using bulwark::store::TxnPut;

std::string TempPath(const char* name) {
  std::string dir = (std::filesystem::temp_directory_path() / "bulwark-bench-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) abort();
  return dir + "/" + name;
}

std::unique_ptr<Store> Open(bool sqlite, std::string* path) {
  StoreOptions options;
  options.backend = sqlite ? StoreOptions::Backend::kSqlite : StoreOptions::Backend::kMemory;
  if (sqlite) options.path = *path = TempPath("store.db");
  auto store = OpenStore(options);
  if (!store) abort();
  return std::move(*store);
}

void Cleanup(const std::string& path) {
  if (!path.empty()) std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

std::string Key(int64_t i) { return "policies/tenant-" + std::to_string(i % 1000); }

void BM_StorePut(benchmark::State& state) {
  std::string path;
  auto store = Open(state.range(0) == 1, &path);
  const std::string value(256, 'v');
  int64_t i = 0;
  for (auto _ : state) {
    if (!store->Put(Key(i++), value)) state.SkipWithError("put failed");
  }
  state.SetItemsProcessed(state.iterations());
  store.reset();
  Cleanup(path);
}
BENCHMARK(BM_StorePut)->ArgName("sqlite")->Arg(0)->Arg(1)->UseRealTime();

void BM_RawSqliteDurableUpsert(benchmark::State& state) {
  std::string path = TempPath("raw.db");
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
               "CREATE TABLE kv (key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID;",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* put = nullptr;
  sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO kv VALUES (?1, ?2)", -1, &put, nullptr);
  const std::string value(256, 'v');
  int64_t i = 0;
  for (auto _ : state) {
    std::string key = Key(i++);
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    sqlite3_bind_blob(put, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
    sqlite3_bind_blob(put, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    if (sqlite3_step(put) != SQLITE_DONE) state.SkipWithError("raw upsert failed");
    sqlite3_reset(put);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  state.SetItemsProcessed(state.iterations());
  sqlite3_finalize(put);
  sqlite3_close(db);
  Cleanup(path);
}
BENCHMARK(BM_RawSqliteDurableUpsert)->UseRealTime();

void BM_StoreGet(benchmark::State& state) {
  std::string path;
  auto store = Open(state.range(0) == 1, &path);
  for (int i = 0; i < 1000; ++i) (void)store->Put(Key(i), std::string(256, 'v'));
  int64_t i = 0;
  for (auto _ : state) {
    auto got = store->Get(Key(i++));
    benchmark::DoNotOptimize(got);
  }
  state.SetItemsProcessed(state.iterations());
  store.reset();
  Cleanup(path);
}
BENCHMARK(BM_StoreGet)->ArgName("sqlite")->Arg(0)->Arg(1);

void BM_StoreRangePrefix100(benchmark::State& state) {
  std::string path;
  auto store = Open(false, &path);
  for (int t = 0; t < 100; ++t) {
    for (int k = 0; k < 100; ++k) {
      (void)store->Put("tuples/" + std::to_string(t) + "/" + std::to_string(k), "x");
    }
  }
  int64_t i = 0;
  for (auto _ : state) {
    auto range = store->Range(KeyRange::Prefix("tuples/" + std::to_string(i++ % 100) + "/"));
    benchmark::DoNotOptimize(range);
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_StoreRangePrefix100);

void BM_StoreCompareAndSwap(benchmark::State& state) {
  std::string path;
  auto store = Open(state.range(0) == 1, &path);
  int64_t rev = store->Put("counter", "0")->revision;
  for (auto _ : state) {
    auto txn = store->Txn({.compares = {Compare::ModRevision("counter", Compare::Op::kEqual, rev)},
                           .success = {TxnPut{"counter", std::to_string(rev)}}});
    if (!txn || !txn->succeeded) state.SkipWithError("cas failed");
    rev = txn->revision;
  }
  state.SetItemsProcessed(state.iterations());
  store.reset();
  Cleanup(path);
}
BENCHMARK(BM_StoreCompareAndSwap)->ArgName("sqlite")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

// Rate limiter benchmarks, for both algorithms on one and two threads; items/s
// is Checks per second, on the real clock.
//   HotKey       every thread on one key, so on one shard lock.
//   LiveKeys     100k distinct keys, all holding state, checked in a random
//                order other than the one they came in, as clients' requests
//                interleave (a hash-table hit on a table too big for L2).
//   ExpiredKeys  100k distinct keys cycled under a 1 ms window, so each has
//                recovered by its next visit: the insert and lazy-sweep path.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "core/clock.h"
#include "guard/rate_limiter.h"

namespace {

using bulwark::SystemClock;
using bulwark::guard::RateLimiter;
using bulwark::guard::RateLimitPolicy;

constexpr int kDistinctKeys = 100'000;

// Shared by the threads of one run; built by thread 0 before the timed loop
// (the loop's start is a barrier for all threads).
std::unique_ptr<RateLimiter> limiter;

const std::vector<std::string>& ClientIps() {
  static const auto* ips = [] {
    auto* v = new std::vector<std::string>;
    for (int i = 0; i < kDistinctKeys; ++i) {
      v->push_back("10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 0xff) + "." +
                   std::to_string(i & 0xff));
    }
    return v;
  }();
  return *ips;
}

RateLimitPolicy::Algorithm AlgorithmOf(const benchmark::State& state) {
  return state.range(0) == 0 ? RateLimitPolicy::Algorithm::kTokenBucket
                             : RateLimitPolicy::Algorithm::kSlidingWindow;
}

// Limits high enough that (almost) every Check is allowed and writes state.
void SetUp(benchmark::State& state, uint64_t limit, std::chrono::milliseconds window) {
  if (state.thread_index() != 0) return;
  auto created = RateLimiter::Create(
      {.algorithm = AlgorithmOf(state), .limit = limit, .window = window, .name = "bench"},
      SystemClock::Default());
  if (!created) std::abort();
  limiter = std::make_unique<RateLimiter>(std::move(*created));
  state.SetLabel(state.range(0) == 0 ? "token_bucket" : "sliding_window");
}

void TearDown(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) limiter.reset();
}

void CycleKeys(benchmark::State& state) {
  const std::vector<std::string>& ips = ClientIps();
  size_t i = static_cast<size_t>(state.thread_index()) * (kDistinctKeys / 2);
  for (auto _ : state) {
    benchmark::DoNotOptimize(limiter->Check(ips[i]));
    if (++i == ips.size()) i = 0;
  }
}

// The keys' indexes in a fixed random order.
const std::vector<uint32_t>& Shuffled() {
  static const auto* order = [] {
    auto* v = new std::vector<uint32_t>(kDistinctKeys);
    std::iota(v->begin(), v->end(), 0);
    std::shuffle(v->begin(), v->end(), std::mt19937(20261206));
    return v;
  }();
  return *order;
}

void BM_CheckHotKey(benchmark::State& state) {
  SetUp(state, 1'000'000'000, std::chrono::seconds(1));
  for (auto _ : state) {
    benchmark::DoNotOptimize(limiter->Check("203.0.113.7"));
  }
  TearDown(state);
}

void BM_CheckLiveKeys(benchmark::State& state) {
  // A token per 86 ms outlasts a pass over the keys, so no key recovers fully.
  SetUp(state, 1'000'000, std::chrono::days(1));
  const std::vector<std::string>& ips = ClientIps();
  if (state.thread_index() == 0) {
    for (const std::string& ip : ips) limiter->Check(ip);
  }
  const std::vector<uint32_t>& order = Shuffled();
  size_t i = static_cast<size_t>(state.thread_index()) * (kDistinctKeys / 2);
  for (auto _ : state) {
    benchmark::DoNotOptimize(limiter->Check(ips[order[i]]));
    if (++i == order.size()) i = 0;
  }
  TearDown(state);
}

void BM_CheckExpiredKeys(benchmark::State& state) {
  SetUp(state, 1'000'000'000, std::chrono::milliseconds(1));
  CycleKeys(state);
  TearDown(state);
}

#define RATE_LIMIT_BENCHMARK(fn) \
  BENCHMARK(fn)->ArgName("sliding")->Arg(0)->Arg(1)->Threads(1)->Threads(2)->UseRealTime()
RATE_LIMIT_BENCHMARK(BM_CheckHotKey);
RATE_LIMIT_BENCHMARK(BM_CheckLiveKeys);
RATE_LIMIT_BENCHMARK(BM_CheckExpiredKeys);

}  // namespace

BENCHMARK_MAIN();

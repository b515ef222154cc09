// Metrics benchmarks: the request-path cost of a counter increment and a
// histogram observation, from one thread and from two threads on the same
// series, beside one shared std::atomic (an unsharded counter, whose cache line
// bounces between cores) in the same run; and rendering a registry of 50
// families for a scrape.
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <string>

#include "core/metrics.h"

namespace {

using bulwark::metrics::Counter;
using bulwark::metrics::CounterFamily;
using bulwark::metrics::Histogram;
using bulwark::metrics::HistogramFamily;
using bulwark::metrics::MetricsRegistry;

// Shared by the threads of a multi-threaded run; never destroyed.
MetricsRegistry& SharedRegistry() {
  static MetricsRegistry* registry = new MetricsRegistry();
  return *registry;
}

void BM_CounterIncrement(benchmark::State& state) {
  Counter& counter = SharedRegistry().AddCounter("bench_requests_total", "Requests.");
  for (auto _ : state) counter.Increment();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterIncrement)->Threads(1)->Threads(2)->UseRealTime();

std::atomic<uint64_t> unsharded_counter{0};

void BM_UnshardedAtomicIncrement(benchmark::State& state) {
  for (auto _ : state) unsharded_counter.fetch_add(1, std::memory_order_relaxed);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UnshardedAtomicIncrement)->Threads(1)->Threads(2)->UseRealTime();

// Latencies spread log-uniformly from 50 µs to 2 s, so every bucket is hit.
std::array<double, 1024> Latencies() {
  std::array<double, 1024> values;
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = 5e-5 * std::pow(4e4, static_cast<double>((i * 389) % 1024) / 1024.0);
  }
  return values;
}

void BM_HistogramObserve(benchmark::State& state) {
  Histogram& histogram =
      SharedRegistry().AddHistogram("bench_request_duration_seconds", "Latency.");
  static const std::array<double, 1024> kLatencies = Latencies();
  size_t i = 0;
  for (auto _ : state) histogram.Observe(kLatencies[i++ & 1023]);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramObserve)->Threads(1)->Threads(2)->UseRealTime();

void BM_CounterWithLabelsLookup(benchmark::State& state) {
  CounterFamily& family = SharedRegistry().AddCounterFamily(
      "bench_http_requests_total", "Requests by method and code.", {"method", "code"});
  for (auto _ : state) family.WithLabels({"GET", "200"}).Increment();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterWithLabelsLookup)->Threads(1)->Threads(2)->UseRealTime();

// 50 families as a gateway would have: 20 labelled counters (6 series each),
// 10 unlabelled counters, 10 gauges, 10 histograms (3 series of 17 buckets).
void BM_Render50Families(benchmark::State& state) {
  MetricsRegistry registry;
  for (int f = 0; f < 20; ++f) {
    CounterFamily& family = registry.AddCounterFamily(
        "bench_labelled_" + std::to_string(f) + "_total", "Labelled.", {"method", "code"});
    for (const char* method : {"GET", "POST"}) {
      for (const char* code : {"200", "403", "429"}) family.WithLabels({method, code}).Increment(7);
    }
  }
  for (int f = 0; f < 10; ++f) {
    registry.AddCounter("bench_plain_" + std::to_string(f) + "_total", "Plain.").Increment(f);
    registry.AddGauge("bench_gauge_" + std::to_string(f), "Gauge.").Set(f * 0.5);
    HistogramFamily& histogram = registry.AddHistogramFamily(
        "bench_latency_" + std::to_string(f) + "_seconds", "Latency.", {"route"});
    for (const char* route : {"api", "admin", "oauth"}) {
      for (double v : Latencies()) histogram.WithLabels({route}).Observe(v);
    }
  }
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = registry.RenderPrometheusText();
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["text_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Render50Families);

}  // namespace

BENCHMARK_MAIN();

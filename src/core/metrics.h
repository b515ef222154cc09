// Metrics: the Prometheus registry every layer records into.
//
//   MetricsRegistry registry;  // built once by server/, passed down by reference
//   CounterFamily& requests = registry.AddCounterFamily(
//       "bulwark_http_requests_total", "HTTP requests answered.", {"method", "code"});
//   Counter& get_ok = requests.WithLabels({"GET", "200"});  // look up once, cache
//   get_ok.Increment();                                      // request path: no lock
//   Histogram& latency = registry.AddHistogram("bulwark_request_duration_seconds",
//                                              "Time from first byte to response.");
//   latency.Observe(0.0042);
//   std::string body = registry.RenderPrometheusText();    // GET /metrics
//
// Request path. Counter::Increment/Add and Histogram::Observe take no lock: each
// is one or two relaxed atomic read-modify-writes on one of kMetricShards
// cache-line-aligned shards, chosen by a thread-local index that threads receive
// round-robin on first use. With one io_context per core, two cores never write
// the same line. Reads (Value, Snapshot, RenderPrometheusText) sum the shards;
// they see every shard's latest value but not one instant across shards, which
// is what Prometheus expects of a scrape. A Gauge is one atomic on its own line.
//
// Errors. Metric and label names are constants written in the code, so a bad
// one is a programming error and registration aborts with a message on stderr:
// an invalid name (see IsValidMetricName, IsValidLabelName), a counter whose
// name does not end in `_total`, a histogram label named `le`, a name that
// clashes with a histogram's `_bucket`/`_sum`/`_count` series, or a name
// registered again with another type, help, label names or buckets
// (registering the same definition again returns the existing family).
// WithLabels with the wrong number of values aborts too.
//
// Label values may come from the network: any bytes are accepted. Invalid
// UTF-8 is replaced by U+FFFD when the series is created (Prometheus rejects a
// whole scrape that carries invalid UTF-8), and backslash, double quote and
// newline are escaped on output. Every distinct tuple of values is a series kept
// for the life of the registry unless removed, so values must come from bounded sets
// (methods, status codes, route names), never from raw paths or user ids.
//
// Everything here is thread-safe. References returned by the registry and by
// WithLabels stay valid, at the same address, for the life of the registry.
// A series that describes something that may go for good (an upstream
// endpoint whose address went away) is taken with Shared instead, and ended
// with Remove, so that what churns does not leave series behind.
#ifndef BULWARK_CORE_METRICS_H_
#define BULWARK_CORE_METRICS_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bulwark::metrics {

// Shards per counter and histogram series: enough for one io_context per core
// on a 16-core machine without two cores sharing a cache line.
inline constexpr size_t kMetricShards = 16;
inline constexpr size_t kCacheLineSize = 64;

// Histogram bucket upper bounds, in seconds, for request latency through a
// gateway: 100 µs (a cached authz decision) to 10 s (a slow upstream).
inline constexpr std::array<double, 16> kDefaultLatencyBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};

// The Content-Type of RenderPrometheusText's output (exposition format 0.0.4).
inline constexpr std::string_view kPrometheusTextContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// True if `name` matches [a-zA-Z_:][a-zA-Z0-9_:]*.
bool IsValidMetricName(std::string_view name);
// True if `name` matches [a-zA-Z_][a-zA-Z0-9_]* and does not start with "__"
// (reserved by Prometheus).
bool IsValidLabelName(std::string_view name);

namespace internal {
// Returns the next shard index, round-robin over kMetricShards.
size_t NextShard();
// The calling thread's shard, fixed at its first call.
inline size_t ThisThreadShard() {
  thread_local const size_t shard = NextShard();
  return shard;
}
}  // namespace internal

template <typename M>
class MetricFamily;

// A monotonic counter. Obtained from a registry, never constructed directly.
class Counter {
 public:
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Adds `n`. Lock-free and wait-free.
  void Increment(uint64_t n = 1) {
    cells_[internal::ThisThreadShard()].count.fetch_add(n, std::memory_order_relaxed);
  }
  // Adds a fractional amount (e.g. seconds of CPU). Amounts that are negative,
  // NaN or infinite are dropped so the counter stays monotonic and finite.
  // Lock-free (a compare-and-swap loop on this thread's shard).
  void Add(double amount) {
    if (!(amount > 0) || std::isinf(amount)) return;
    cells_[internal::ThisThreadShard()].fraction.fetch_add(amount, std::memory_order_relaxed);
  }
  // The sum of every Increment and Add so far.
  double Value() const;

 private:
  friend class MetricFamily<Counter>;
  Counter() = default;
  // Integer total and fractional total, rendered as an exact integer when the
  // fractional part was never used.
  void Read(uint64_t* count, double* fraction) const;

  struct alignas(kCacheLineSize) Cell {
    std::atomic<uint64_t> count{0};
    std::atomic<double> fraction{0};
  };
  std::array<Cell, kMetricShards> cells_;
};

// A value that goes up and down (connections open, cache size). One atomic on
// its own cache line: Set is last-writer-wins, Add is a compare-and-swap loop.
class Gauge {
 public:
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  void Increment() { Add(1); }
  void Decrement() { Add(-1); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  friend class MetricFamily<Gauge>;
  Gauge() = default;
  alignas(kCacheLineSize) std::atomic<double> value_{0};
};

// A consistent-enough read of a histogram: counts are cumulative, as rendered.
struct HistogramSnapshot {
  std::vector<double> upper_bounds;         // finite bounds; +Inf is implied
  std::vector<uint64_t> cumulative_counts;  // upper_bounds.size() + 1; last is +Inf
  double sum = 0;
  uint64_t count = 0;
};

// Counts observations into buckets with fixed upper bounds (inclusive, as the
// Prometheus `le` label says). Obtained from a registry.
class Histogram {
 public:
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Records `value`. Lock-free: one relaxed increment of its bucket and a
  // compare-and-swap add to the sum, both on this thread's shard. A NaN counts
  // in the +Inf bucket and makes the sum NaN, as in the Go client.
  void Observe(double value) {
    const size_t bucket = std::isnan(value)
                              ? upper_bounds_.size()
                              : static_cast<size_t>(std::lower_bound(upper_bounds_.begin(),
                                                                     upper_bounds_.end(), value) -
                                                    upper_bounds_.begin());
    const size_t shard = internal::ThisThreadShard();
    Word(shard, 1 + bucket).fetch_add(1, std::memory_order_relaxed);
    std::atomic<uint64_t>& sum = Word(shard, 0);
    uint64_t old = sum.load(std::memory_order_relaxed);
    while (!sum.compare_exchange_weak(old,
                                      std::bit_cast<uint64_t>(std::bit_cast<double>(old) + value),
                                      std::memory_order_relaxed)) {
    }
  }
  // Records a duration in seconds, the Prometheus base unit.
  void ObserveDuration(std::chrono::nanoseconds d) {
    Observe(std::chrono::duration<double>(d).count());
  }
  HistogramSnapshot Snapshot() const;

 private:
  friend class MetricFamily<Histogram>;
  // `upper_bounds` is owned by the family and outlives the histogram.
  explicit Histogram(std::span<const double> upper_bounds);

  static constexpr size_t kWordsPerLine = kCacheLineSize / sizeof(std::atomic<uint64_t>);
  struct alignas(kCacheLineSize) Line {
    std::atomic<uint64_t> words[kWordsPerLine];
  };
  // A shard is whole lines: word 0 holds the sum (bits of a double), words
  // 1..n+1 the non-cumulative bucket counts (n finite bounds, then +Inf).
  std::atomic<uint64_t>& Word(size_t shard, size_t i) const {
    return lines_[shard * lines_per_shard_ + i / kWordsPerLine].words[i % kWordsPerLine];
  }

  std::span<const double> upper_bounds_;
  size_t lines_per_shard_;
  std::unique_ptr<Line[]> lines_;
};

// Series of one metric, told apart by label values. Obtained from a registry.
template <typename M>
class MetricFamily {
 public:
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  // Returns the series with these label values (one per label name, in the
  // order the family was registered with), created at zero on first use. Takes a
  // shared lock (exclusive the first time): call it once and keep the reference,
  // not on every request. Aborts if the count of values is wrong.
  M& WithLabels(std::initializer_list<std::string_view> label_values) {
    return WithLabels(std::span<const std::string_view>(label_values.begin(), label_values.size()));
  }
  M& WithLabels(std::span<const std::string_view> label_values);

  // The same series, shared: it stays valid for as long as the pointer is
  // held, Remove or not, but not past the registry (a histogram reads its
  // family's bounds). For series that may go away with what they describe
  // (an upstream endpoint whose address is gone), which take it this way
  // only. Takes the locks WithLabels takes.
  std::shared_ptr<M> Shared(std::initializer_list<std::string_view> label_values) {
    return Shared(std::span<const std::string_view>(label_values.begin(), label_values.size()));
  }
  std::shared_ptr<M> Shared(std::span<const std::string_view> label_values);
  // Ends the series with these label values, if there is one: it is no
  // longer rendered, and taking it again starts it afresh at zero (a reset
  // that Prometheus's rate() reads as such). Its holders keep their pointer.
  // Aborts if it was ever taken with WithLabels, whose references must stay
  // valid for the registry's life.
  void Remove(std::initializer_list<std::string_view> label_values) {
    Remove(std::span<const std::string_view>(label_values.begin(), label_values.size()));
  }
  void Remove(std::span<const std::string_view> label_values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

 private:
  friend class MetricsRegistry;
  struct LabelsLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return std::lexicographical_compare(
          a.begin(), a.end(), b.begin(), b.end(),
          [](std::string_view x, std::string_view y) { return x < y; });
    }
  };

  MetricFamily(std::string name, std::string help, std::vector<std::string> label_names,
               std::vector<double> upper_bounds);
  struct Series {
    std::shared_ptr<M> metric;
    bool by_reference = false;  // taken with WithLabels: never removed
  };
  // Calls `f` with `label_values` checked for count and made valid UTF-8.
  template <typename F>
  auto WithCleanLabels(std::span<const std::string_view> label_values, F f);
  // The series with these (clean) values, created at zero if there is none;
  // marked as taken by reference if `by_reference`.
  std::shared_ptr<M> FindOrCreate(std::span<const std::string_view> label_values,
                                  bool by_reference);
  // Appends this family's exposition text; nothing if it has no series.
  void Render(std::string* out) const;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> upper_bounds_;  // histograms only
  mutable std::shared_mutex mu_;
  std::map<std::vector<std::string>, Series, LabelsLess> series_;  // guarded by mu_
};

using CounterFamily = MetricFamily<Counter>;
using GaugeFamily = MetricFamily<Gauge>;
using HistogramFamily = MetricFamily<Histogram>;

// Owns every family and renders them for a scrape. Thread-safe; neither
// copyable nor movable, since families and series are handed out by reference.
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registers (or returns the identical existing) family. Aborts on the
  // programming errors listed at the top of this file.
  CounterFamily& AddCounterFamily(std::string_view name, std::string_view help,
                                  std::vector<std::string> label_names);
  GaugeFamily& AddGaugeFamily(std::string_view name, std::string_view help,
                              std::vector<std::string> label_names);
  // `upper_bounds` must be finite and strictly increasing; a trailing +Inf is
  // accepted and dropped (the +Inf bucket always exists).
  HistogramFamily& AddHistogramFamily(
      std::string_view name, std::string_view help, std::vector<std::string> label_names,
      std::span<const double> upper_bounds = kDefaultLatencyBuckets);

  // The single series of an unlabelled family.
  Counter& AddCounter(std::string_view name, std::string_view help) {
    return AddCounterFamily(name, help, {}).WithLabels({});
  }
  Gauge& AddGauge(std::string_view name, std::string_view help) {
    return AddGaugeFamily(name, help, {}).WithLabels({});
  }
  Histogram& AddHistogram(std::string_view name, std::string_view help,
                          std::span<const double> upper_bounds = kDefaultLatencyBuckets) {
    return AddHistogramFamily(name, help, {}, upper_bounds).WithLabels({});
  }

  // Every family with at least one series, sorted by name, in the Prometheus
  // text exposition format 0.0.4 (serve with kPrometheusTextContentType).
  std::string RenderPrometheusText() const;

 private:
  using Family = std::variant<std::unique_ptr<CounterFamily>, std::unique_ptr<GaugeFamily>,
                              std::unique_ptr<HistogramFamily>>;
  template <typename M>
  MetricFamily<M>& Add(std::string_view name, std::string_view help,
                       std::vector<std::string> label_names, std::vector<double> upper_bounds);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;  // guarded by mu_
};

}  // namespace bulwark::metrics

#endif  // BULWARK_CORE_METRICS_H_

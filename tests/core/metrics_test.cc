#include "core/metrics.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace bulwark::metrics {
namespace {

TEST(MetricsTest, RendersUnlabelledCounter) {
  MetricsRegistry registry;
  Counter& requests = registry.AddCounter("bulwark_requests_total", "Requests handled.");
  requests.Increment();
  requests.Increment(41);
  EXPECT_EQ(requests.Value(), 42);
  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP bulwark_requests_total Requests handled.\n"
            "# TYPE bulwark_requests_total counter\n"
            "bulwark_requests_total 42\n");
}

TEST(MetricsTest, RendersLabelledCounterSeriesSortedByLabelValues) {
  MetricsRegistry registry;
  CounterFamily& requests = registry.AddCounterFamily("bulwark_http_requests_total",
                                                      "HTTP requests.", {"method", "code"});
  requests.WithLabels({"POST", "201"}).Increment(2);
  requests.WithLabels({"GET", "200"}).Increment(5);
  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP bulwark_http_requests_total HTTP requests.\n"
            "# TYPE bulwark_http_requests_total counter\n"
            "bulwark_http_requests_total{method=\"GET\",code=\"200\"} 5\n"
            "bulwark_http_requests_total{method=\"POST\",code=\"201\"} 2\n");
}

TEST(MetricsTest, CounterAddsFractionsAndDropsNegativeNanAndInfinity) {
  MetricsRegistry registry;
  Counter& cpu = registry.AddCounter("bulwark_cpu_seconds_total", "CPU time.");
  cpu.Add(0.5);
  cpu.Add(0.25);
  cpu.Increment();
  cpu.Add(-1);
  cpu.Add(std::nan(""));
  cpu.Add(std::numeric_limits<double>::infinity());
  EXPECT_EQ(cpu.Value(), 1.75);
  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP bulwark_cpu_seconds_total CPU time.\n"
            "# TYPE bulwark_cpu_seconds_total counter\n"
            "bulwark_cpu_seconds_total 1.75\n");
}

TEST(MetricsTest, RendersGauges) {
  MetricsRegistry registry;
  Gauge& size = registry.AddGauge("bulwark_cache_entries", "Entries cached.");
  size.Set(10);
  size.Add(-2.5);
  Gauge& open = registry.AddGaugeFamily("bulwark_upstream_connections", "Open.", {"upstream"})
                    .WithLabels({"a"});
  open.Increment();
  open.Increment();
  open.Decrement();
  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP bulwark_cache_entries Entries cached.\n"
            "# TYPE bulwark_cache_entries gauge\n"
            "bulwark_cache_entries 7.5\n"
            "# HELP bulwark_upstream_connections Open.\n"
            "# TYPE bulwark_upstream_connections gauge\n"
            "bulwark_upstream_connections{upstream=\"a\"} 1\n");
}

TEST(MetricsTest, RendersHistogramWithCumulativeBucketsSumAndCount) {
  MetricsRegistry registry;
  constexpr std::array<double, 3> kBounds = {0.125, 0.5, 1};
  Histogram& latency = registry
                           .AddHistogramFamily("bulwark_authz_duration_seconds", "Decision time.",
                                               {"route"}, kBounds)
                           .WithLabels({"api"});
  for (double v : {0.0625, 0.125, 0.375, 2.0}) latency.Observe(v);
  const HistogramSnapshot s = latency.Snapshot();
  EXPECT_EQ(s.cumulative_counts, (std::vector<uint64_t>{2, 3, 3, 4}));
  EXPECT_EQ(s.count, 4u);
  EXPECT_EQ(s.sum, 2.5625);
  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP bulwark_authz_duration_seconds Decision time.\n"
            "# TYPE bulwark_authz_duration_seconds histogram\n"
            "bulwark_authz_duration_seconds_bucket{route=\"api\",le=\"0.125\"} 2\n"
            "bulwark_authz_duration_seconds_bucket{route=\"api\",le=\"0.5\"} 3\n"
            "bulwark_authz_duration_seconds_bucket{route=\"api\",le=\"1\"} 3\n"
            "bulwark_authz_duration_seconds_bucket{route=\"api\",le=\"+Inf\"} 4\n"
            "bulwark_authz_duration_seconds_sum{route=\"api\"} 2.5625\n"
            "bulwark_authz_duration_seconds_count{route=\"api\"} 4\n");
}

TEST(MetricsTest, DefaultBucketsSpanATenthOfAMillisecondToTenSeconds) {
  MetricsRegistry registry;
  Histogram& h = registry.AddHistogram("bulwark_request_duration_seconds", "Latency.");
  h.ObserveDuration(std::chrono::milliseconds(3));
  const HistogramSnapshot s = h.Snapshot();
  EXPECT_EQ(s.upper_bounds.front(), 0.0001);
  EXPECT_EQ(s.upper_bounds.back(), 10);
  EXPECT_EQ(s.count, 1u);
  const std::string text = registry.RenderPrometheusText();
  EXPECT_NE(text.find("bulwark_request_duration_seconds_bucket{le=\"0.0025\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("bulwark_request_duration_seconds_bucket{le=\"0.005\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("{le=\"0.0001\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("{le=\"10\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("{le=\"+Inf\"} 1\n"), std::string::npos);
}

TEST(MetricsTest, EscapesHostileLabelValuesAndHelp) {
  MetricsRegistry registry;
  CounterFamily& denied = registry.AddCounterFamily("bulwark_denied_total",
                                                    "Denied by \\ policy\nsee \"docs\".", {"path"});
  denied.WithLabels({"a\"b\\c\nd\xff"}).Increment();
  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP bulwark_denied_total Denied by \\\\ policy\\nsee \"docs\".\n"
            "# TYPE bulwark_denied_total counter\n"
            "bulwark_denied_total{path=\"a\\\"b\\\\c\\nd\xEF\xBF\xBD"
            "\"} 1\n");
}

TEST(MetricsTest, InvalidUtf8LabelValuesShareTheSanitizedSeries) {
  MetricsRegistry registry;
  CounterFamily& f = registry.AddCounterFamily("bulwark_hostile_total", "Hostile.", {"v"});
  Counter& replaced = f.WithLabels({"\xEF\xBF\xBD"});
  EXPECT_EQ(&f.WithLabels({"\xff"}), &replaced);
  EXPECT_EQ(&f.WithLabels({"\xC0\xAF"}), &f.WithLabels({"\xEF\xBF\xBD\xEF\xBF\xBD"}));
  EXPECT_NE(&f.WithLabels({"caf\xC3\xA9"}), &replaced);  // valid UTF-8 kept as is
}

TEST(MetricsTest, WithLabelsReturnsTheSameSeriesEveryTime) {
  MetricsRegistry registry;
  CounterFamily& f = registry.AddCounterFamily("bulwark_x_total", "X.", {"a"});
  Counter& first = f.WithLabels({"1"});
  const std::vector<std::string_view> values = {"1"};
  EXPECT_EQ(&f.WithLabels(values), &first);
  EXPECT_NE(&f.WithLabels({"2"}), &first);
}

TEST(MetricsTest, ARemovedSeriesIsNoLongerRenderedAndStartsAfreshWhenTakenAgain) {
  MetricsRegistry registry;
  GaugeFamily& f = registry.AddGaugeFamily("bulwark_endpoint_up", "Up.", {"endpoint"});
  std::shared_ptr<Gauge> a = f.Shared({"10.0.0.1:80"});
  std::shared_ptr<Gauge> b = f.Shared({"10.0.0.2:80"});
  EXPECT_EQ(f.Shared({"10.0.0.1:80"}), a) << "taken again, the same series";
  EXPECT_EQ(&f.WithLabels({"10.0.0.3:80"}), f.Shared({"10.0.0.3:80"}).get());
  a->Set(1);
  b->Set(1);
  f.Remove({"10.0.0.1:80"});
  f.Remove({"10.0.0.9:80"});  // none: nothing happens
  const std::string text = registry.RenderPrometheusText();
  EXPECT_EQ(text.find("10.0.0.1:80"), std::string::npos) << text;
  EXPECT_NE(text.find("bulwark_endpoint_up{endpoint=\"10.0.0.2:80\"} 1\n"), std::string::npos);
  a->Set(2);  // its holder may still write it, unseen
  EXPECT_EQ(registry.RenderPrometheusText(), text);
  std::shared_ptr<Gauge> again = f.Shared({"10.0.0.1:80"});
  EXPECT_NE(again, a);
  EXPECT_EQ(again->Value(), 0);
  EXPECT_NE(
      registry.RenderPrometheusText().find("bulwark_endpoint_up{endpoint=\"10.0.0.1:80\"} 0\n"),
      std::string::npos);
  f.Remove({"10.0.0.1:80"});
  f.Remove({"10.0.0.2:80"});
  EXPECT_EQ(registry.RenderPrometheusText().find("bulwark_endpoint_up{endpoint=\"10.0.0.2"),
            std::string::npos);
  // Invalid UTF-8 names the series its sanitized values name.
  CounterFamily& c = registry.AddCounterFamily("bulwark_opened_total", "Opened.", {"endpoint"});
  c.Shared({"\xff"})->Increment();
  c.Remove({"\xEF\xBF\xBD"});
  EXPECT_EQ(registry.RenderPrometheusText().find("bulwark_opened_total{"), std::string::npos);
}

TEST(MetricsTest, RegisteringTheSameDefinitionAgainReturnsTheFamily) {
  MetricsRegistry registry;
  CounterFamily& a = registry.AddCounterFamily("bulwark_x_total", "X.", {"a"});
  EXPECT_EQ(&registry.AddCounterFamily("bulwark_x_total", "X.", {"a"}), &a);
  EXPECT_EQ(&registry.AddHistogram("bulwark_h_seconds", "H."),
            &registry.AddHistogram("bulwark_h_seconds", "H."));
}

TEST(MetricsTest, RendersFamiliesSortedByNameAndSkipsEmptyFamilies) {
  MetricsRegistry registry;
  registry.AddCounter("bulwark_b_total", "B.");
  registry.AddCounterFamily("bulwark_empty_total", "No series yet.", {"k"});
  registry.AddGauge("bulwark_a", "A.");
  const std::string text = registry.RenderPrometheusText();
  EXPECT_EQ(text,
            "# HELP bulwark_a A.\n# TYPE bulwark_a gauge\nbulwark_a 0\n"
            "# HELP bulwark_b_total B.\n# TYPE bulwark_b_total counter\nbulwark_b_total 0\n");
}

TEST(MetricsTest, ValidatesNames) {
  EXPECT_TRUE(IsValidMetricName("bulwark:http_requests_total"));
  EXPECT_TRUE(IsValidMetricName("_x9"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("9x"));
  EXPECT_FALSE(IsValidMetricName("http-requests"));
  EXPECT_FALSE(IsValidMetricName("caf\xC3\xA9"));
  EXPECT_TRUE(IsValidLabelName("method"));
  EXPECT_TRUE(IsValidLabelName("_m1"));
  EXPECT_FALSE(IsValidLabelName("__name__"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("1a"));
  EXPECT_FALSE(IsValidLabelName(""));
}

TEST(MetricsTest, ConcurrentIncrementsFromFourThreadsSumExactly) {
  MetricsRegistry registry;
  CounterFamily& family = registry.AddCounterFamily("bulwark_c_total", "C.", {"k"});
  Histogram& histogram = registry.AddHistogram("bulwark_h_seconds", "H.");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 250'000;
  std::vector<Counter*> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Counter& c = family.WithLabels({"shared"});
      seen[t] = &c;
      for (int i = 0; i < kPerThread; ++i) {
        c.Increment();
        histogram.Observe(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (Counter* c : seen) EXPECT_EQ(c, seen[0]);
  EXPECT_EQ(seen[0]->Value(), kThreads * kPerThread);
  const HistogramSnapshot s = histogram.Snapshot();
  EXPECT_EQ(s.count, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(s.sum, kThreads * kPerThread);
  EXPECT_NE(registry.RenderPrometheusText().find("bulwark_c_total{k=\"shared\"} 1000000\n"),
            std::string::npos);
}

TEST(MetricsDeathTest, AbortsOnProgrammingErrors) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  MetricsRegistry registry;
  EXPECT_DEATH(registry.AddGauge("bad-name", "X."), "invalid metric name");
  EXPECT_DEATH(registry.AddCounter("bulwark_requests", "X."), "does not end in _total");
  EXPECT_DEATH(registry.AddGaugeFamily("bulwark_g", "X.", {"__reserved"}), "invalid label name");
  EXPECT_DEATH(registry.AddHistogramFamily("bulwark_h", "X.", {"le"}), "invalid label name");
  EXPECT_DEATH(registry.AddGaugeFamily("bulwark_g", "X.", {"a", "a"}), "duplicate label name");
  constexpr std::array<double, 2> kUnordered = {1, 0.5};
  EXPECT_DEATH(registry.AddHistogram("bulwark_h", "X.", kUnordered), "strictly increasing");
  registry.AddGauge("bulwark_g", "G.");
  EXPECT_DEATH(registry.AddGauge("bulwark_g", "Other help."), "different definition");
  EXPECT_DEATH(registry.AddHistogram("bulwark_g", "G."), "different definition");
  registry.AddHistogram("bulwark_h_seconds", "H.");
  EXPECT_DEATH(registry.AddGauge("bulwark_h_seconds_count", "X."), "clashes");
  registry.AddGauge("bulwark_lat_sum", "S.");
  EXPECT_DEATH(registry.AddHistogram("bulwark_lat", "X."), "clashes");
  CounterFamily& f = registry.AddCounterFamily("bulwark_f_total", "F.", {"a", "b"});
  EXPECT_DEATH(f.WithLabels({"only-one"}), "1 label values given for 2 label names");
  EXPECT_DEATH(f.Shared({"only-one"}), "1 label values given for 2 label names");
  f.WithLabels({"held", "by reference"});
  EXPECT_DEATH(f.Remove({"held", "by reference"}), "taken with WithLabels cannot be removed");
  f.Shared({"shared", "first"});
  f.WithLabels({"shared", "first"});
  EXPECT_DEATH(f.Remove({"shared", "first"}), "taken with WithLabels cannot be removed");
}

std::string FindInPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    const size_t colon = dirs.find(':');
    const std::string candidate = fmt::format("{}/{}", dirs.substr(0, colon), program);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    dirs = colon == std::string_view::npos ? "" : dirs.substr(colon + 1);
  }
  return "";
}

// Runs `promtool check metrics < file` on `text`; returns the exit code and
// sets `output` to what promtool printed.
int PromtoolCheck(const std::string& promtool, const std::string& text, std::string* output) {
  std::string path = (std::filesystem::temp_directory_path() / "bulwark-metrics-XXXXXX").string();
  const int fd = mkstemp(path.data());
  if (fd < 0) return -1;
  const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  FILE* pipe =
      written ? popen(fmt::format("'{}' check metrics < '{}' 2>&1", promtool, path).c_str(), "r")
              : nullptr;
  int status = -1;
  if (pipe != nullptr) {
    std::array<char, 4096> buf;
    for (size_t n; (n = fread(buf.data(), 1, buf.size(), pipe)) > 0;) output->append(buf.data(), n);
    status = pclose(pipe);
  }
  std::filesystem::remove(path);
  return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(MetricsPromtoolTest, PromtoolCheckMetricsAcceptsRenderedText) {
  const std::string promtool = FindInPath("promtool");
  if (promtool.empty()) {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string_view(ci) == "true") {
      FAIL() << "promtool not found in PATH (Debian package prometheus)";
    }
    GTEST_SKIP() << "promtool not found in PATH; install the Debian package prometheus";
  }
  std::string output;
  ASSERT_NE(PromtoolCheck(promtool, "# TYPE x counter\nx 1\n", &output), 0)
      << "promtool should flag a counter without _total and help";

  MetricsRegistry registry;
  registry.AddCounter("bulwark_requests_total", "Requests handled.").Increment(3);
  CounterFamily& denied = registry.AddCounterFamily(
      "bulwark_denied_total", "Denied \\ requests\nby \"reason\".", {"reason", "route"});
  denied.WithLabels({"a\"b\\c\nd\xff", "caf\xC3\xA9"}).Increment();
  denied.WithLabels({"", "/"}).Increment();
  registry.AddCounter("bulwark_cpu_seconds_total", "CPU time.").Add(0.1);
  registry.AddGauge("bulwark_cache_entries", "Entries cached.").Set(-1.5);
  registry.AddGaugeFamily("bulwark_upstream_up", "Upstream health.", {"upstream"})
      .WithLabels({"auth"})
      .Set(std::numeric_limits<double>::infinity());
  HistogramFamily& latency = registry.AddHistogramFamily("bulwark_request_duration_seconds",
                                                         "Request latency.", {"method"});
  latency.WithLabels({"GET"}).Observe(0.003);
  latency.WithLabels({"POST"}).Observe(42);
  registry.AddHistogram("bulwark_authz_duration_seconds", "Decision time.").Observe(0.00005);
  const std::string text = registry.RenderPrometheusText();

  output.clear();
  EXPECT_EQ(PromtoolCheck(promtool, text, &output), 0) << output << "\n" << text;
  EXPECT_EQ(output, "") << text;
}

}  // namespace
}  // namespace bulwark::metrics

#include "core/metrics.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <numeric>
#include <type_traits>

namespace bulwark::metrics {
namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "bulwark metrics: %s\n", message.c_str());
  std::abort();
}

bool IsNameChar(char c, bool first, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (allow_colon && c == ':') || (!first && c >= '0' && c <= '9');
}

bool IsValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0, allow_colon)) return false;
  }
  return true;
}

// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or 0.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = byte(0);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() - i < n || byte(1) < lo || byte(1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(k) < 0x80 || byte(k) > 0xBF) return 0;
  }
  return n;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// Replaces each byte that does not start a well-formed sequence with U+FFFD.
std::string SanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out.append("\xEF\xBF\xBD");
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

// HELP text escapes backslash and newline; label values also double quote.
void AppendEscaped(std::string* out, std::string_view s, bool escape_quote) {
  for (char c : s) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '"' && escape_quote) {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

// Shortest text that parses back to `v`; Inf and NaN spelled as Prometheus does.
std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

// One sample line: name+suffix, `{labels[,le="..."]}`, a space, value.
void AppendSample(std::string* out, std::string_view name, std::string_view suffix,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values, std::string_view le,
                  std::string_view value) {
  out->append(name).append(suffix);
  if (!label_names.empty() || !le.empty()) {
    out->push_back('{');
    for (size_t i = 0; i < label_names.size(); ++i) {
      if (i > 0) out->push_back(',');
      out->append(label_names[i]).append("=\"");
      AppendEscaped(out, label_values[i], /*escape_quote=*/true);
      out->push_back('"');
    }
    if (!le.empty()) {
      if (!label_names.empty()) out->push_back(',');
      out->append("le=\"").append(le).push_back('"');
    }
    out->push_back('}');
  }
  out->push_back(' ');
  out->append(value).push_back('\n');
}

template <typename M>
constexpr std::string_view TypeName() {
  if constexpr (std::is_same_v<M, Counter>) {
    return "counter";
  } else if constexpr (std::is_same_v<M, Gauge>) {
    return "gauge";
  } else {
    return "histogram";
  }
}

}  // namespace

bool IsValidMetricName(std::string_view name) { return IsValidName(name, /*allow_colon=*/true); }

bool IsValidLabelName(std::string_view name) {
  return IsValidName(name, /*allow_colon=*/false) && !name.starts_with("__");
}

size_t internal::NextShard() {
  static std::atomic<size_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed) % kMetricShards;
}

void Counter::Read(uint64_t* count, double* fraction) const {
  *count = 0;
  *fraction = 0;
  for (const Cell& cell : cells_) {
    *count += cell.count.load(std::memory_order_relaxed);
    *fraction += cell.fraction.load(std::memory_order_relaxed);
  }
}

double Counter::Value() const {
  uint64_t count;
  double fraction;
  Read(&count, &fraction);
  return static_cast<double>(count) + fraction;
}

Histogram::Histogram(std::span<const double> upper_bounds)
    : upper_bounds_(upper_bounds),
      lines_per_shard_((upper_bounds.size() + 2 + kWordsPerLine - 1) / kWordsPerLine),
      lines_(std::make_unique<Line[]>(lines_per_shard_ * kMetricShards)) {}

HistogramSnapshot Histogram::Snapshot() const {
  HistogramSnapshot s;
  s.upper_bounds.assign(upper_bounds_.begin(), upper_bounds_.end());
  s.cumulative_counts.assign(upper_bounds_.size() + 1, 0);
  for (size_t shard = 0; shard < kMetricShards; ++shard) {
    s.sum += std::bit_cast<double>(Word(shard, 0).load(std::memory_order_relaxed));
    for (size_t b = 0; b < s.cumulative_counts.size(); ++b) {
      s.cumulative_counts[b] += Word(shard, 1 + b).load(std::memory_order_relaxed);
    }
  }
  std::partial_sum(s.cumulative_counts.begin(), s.cumulative_counts.end(),
                   s.cumulative_counts.begin());
  s.count = s.cumulative_counts.back();
  return s;
}

template <typename M>
MetricFamily<M>::MetricFamily(std::string name, std::string help,
                              std::vector<std::string> label_names,
                              std::vector<double> upper_bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      upper_bounds_(std::move(upper_bounds)) {}

template <typename M>
template <typename F>
auto MetricFamily<M>::WithCleanLabels(std::span<const std::string_view> label_values, F f) {
  if (label_values.size() != label_names_.size()) {
    Die(fmt::format("{}: {} label values given for {} label names", name_, label_values.size(),
                    label_names_.size()));
  }
  if (std::all_of(label_values.begin(), label_values.end(), IsValidUtf8)) return f(label_values);
  std::vector<std::string> clean;
  for (std::string_view v : label_values) clean.push_back(SanitizeUtf8(v));
  const std::vector<std::string_view> views(clean.begin(), clean.end());
  return f(std::span<const std::string_view>(views));
}

template <typename M>
M& MetricFamily<M>::WithLabels(std::span<const std::string_view> label_values) {
  return *WithCleanLabels(label_values, [this](std::span<const std::string_view> clean) {
    return FindOrCreate(clean, /*by_reference=*/true);
  });
}

template <typename M>
std::shared_ptr<M> MetricFamily<M>::Shared(std::span<const std::string_view> label_values) {
  return WithCleanLabels(label_values, [this](std::span<const std::string_view> clean) {
    return FindOrCreate(clean, /*by_reference=*/false);
  });
}

template <typename M>
void MetricFamily<M>::Remove(std::span<const std::string_view> label_values) {
  WithCleanLabels(label_values, [this](std::span<const std::string_view> clean) {
    std::unique_lock lock(mu_);
    const auto it = series_.find(clean);
    if (it == series_.end()) return;
    if (it->second.by_reference) {
      Die(fmt::format("{}: a series taken with WithLabels cannot be removed", name_));
    }
    series_.erase(it);
  });
}

template <typename M>
std::shared_ptr<M> MetricFamily<M>::FindOrCreate(std::span<const std::string_view> label_values,
                                                 bool by_reference) {
  {
    std::shared_lock lock(mu_);
    if (auto it = series_.find(label_values);
        it != series_.end() && (it->second.by_reference || !by_reference)) {
      return it->second.metric;
    }
  }
  std::unique_lock lock(mu_);
  auto it = series_.find(label_values);
  if (it == series_.end()) {
    std::shared_ptr<M> metric;
    if constexpr (std::is_same_v<M, Histogram>) {
      metric.reset(new Histogram(upper_bounds_));
    } else {
      metric.reset(new M());
    }
    it = series_
             .emplace(std::vector<std::string>(label_values.begin(), label_values.end()),
                      Series{.metric = std::move(metric)})
             .first;
  }
  if (by_reference) it->second.by_reference = true;
  return it->second.metric;
}

template <typename M>
void MetricFamily<M>::Render(std::string* out) const {
  std::shared_lock lock(mu_);
  if (series_.empty()) return;
  out->append("# HELP ").append(name_).push_back(' ');
  AppendEscaped(out, help_, /*escape_quote=*/false);
  out->append("\n# TYPE ").append(name_).push_back(' ');
  out->append(TypeName<M>()).push_back('\n');
  std::vector<std::string> le;
  if constexpr (std::is_same_v<M, Histogram>) {
    for (double bound : upper_bounds_) le.push_back(FormatDouble(bound));
    le.push_back("+Inf");
  }
  for (const auto& [values, entry] : series_) {
    const M* series = entry.metric.get();
    if constexpr (std::is_same_v<M, Counter>) {
      uint64_t count;
      double fraction;
      series->Read(&count, &fraction);
      AppendSample(out, name_, "", label_names_, values, "",
                   fraction == 0 ? fmt::format("{}", count)
                                 : FormatDouble(static_cast<double>(count) + fraction));
    } else if constexpr (std::is_same_v<M, Gauge>) {
      AppendSample(out, name_, "", label_names_, values, "", FormatDouble(series->Value()));
    } else {
      const HistogramSnapshot s = series->Snapshot();
      for (size_t b = 0; b < le.size(); ++b) {
        AppendSample(out, name_, "_bucket", label_names_, values, le[b],
                     fmt::format("{}", s.cumulative_counts[b]));
      }
      AppendSample(out, name_, "_sum", label_names_, values, "", FormatDouble(s.sum));
      AppendSample(out, name_, "_count", label_names_, values, "", fmt::format("{}", s.count));
    }
  }
}

template class MetricFamily<Counter>;
template class MetricFamily<Gauge>;
template class MetricFamily<Histogram>;

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

template <typename M>
MetricFamily<M>& MetricsRegistry::Add(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names,
                                      std::vector<double> upper_bounds) {
  constexpr bool kIsHistogram = std::is_same_v<M, Histogram>;
  if (!IsValidMetricName(name)) Die(fmt::format("invalid metric name \"{}\"", name));
  if (std::is_same_v<M, Counter> && !name.ends_with("_total")) {
    Die(fmt::format("counter name \"{}\" does not end in _total", name));
  }
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (!IsValidLabelName(label) || (kIsHistogram && label == "le")) {
      Die(fmt::format("{}: invalid label name \"{}\"", name, label));
    }
    if (std::find(label_names.begin(), label_names.begin() + i, label) != label_names.begin() + i) {
      Die(fmt::format("{}: duplicate label name \"{}\"", name, label));
    }
  }
  std::string clean_help = SanitizeUtf8(help);

  std::lock_guard lock(mu_);
  if (auto it = families_.find(name); it != families_.end()) {
    auto* existing = std::get_if<std::unique_ptr<MetricFamily<M>>>(&it->second);
    if (existing == nullptr || (*existing)->help_ != clean_help ||
        (*existing)->label_names_ != label_names || (*existing)->upper_bounds_ != upper_bounds) {
      Die(fmt::format("metric \"{}\" registered again with a different definition", name));
    }
    return **existing;
  }
  for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    bool clash = false;
    if (name.ends_with(suffix)) {
      auto it = families_.find(name.substr(0, name.size() - suffix.size()));
      clash = it != families_.end() &&
              std::holds_alternative<std::unique_ptr<HistogramFamily>>(it->second);
    }
    if (kIsHistogram) clash = clash || families_.contains(fmt::format("{}{}", name, suffix));
    if (clash) Die(fmt::format("metric \"{}\" clashes with a histogram's series", name));
  }
  std::unique_ptr<MetricFamily<M>> family(new MetricFamily<M>(
      std::string(name), std::move(clean_help), std::move(label_names), std::move(upper_bounds)));
  MetricFamily<M>& ref = *family;
  families_.emplace(std::string(name), std::move(family));
  return ref;
}

CounterFamily& MetricsRegistry::AddCounterFamily(std::string_view name, std::string_view help,
                                                 std::vector<std::string> label_names) {
  return Add<Counter>(name, help, std::move(label_names), {});
}

GaugeFamily& MetricsRegistry::AddGaugeFamily(std::string_view name, std::string_view help,
                                             std::vector<std::string> label_names) {
  return Add<Gauge>(name, help, std::move(label_names), {});
}

HistogramFamily& MetricsRegistry::AddHistogramFamily(std::string_view name, std::string_view help,
                                                     std::vector<std::string> label_names,
                                                     std::span<const double> upper_bounds) {
  std::vector<double> bounds(upper_bounds.begin(), upper_bounds.end());
  if (!bounds.empty() && bounds.back() == std::numeric_limits<double>::infinity()) {
    bounds.pop_back();
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
      Die(fmt::format("{}: bucket bounds must be finite and strictly increasing", name));
    }
  }
  return Add<Histogram>(name, help, std::move(label_names), std::move(bounds));
}

std::string MetricsRegistry::RenderPrometheusText() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, family] : families_) {
    std::visit([&out](const auto& f) { f->Render(&out); }, family);
  }
  return out;
}

}  // namespace bulwark::metrics

#include "guard/retry_budget.h"

#include <algorithm>
#include <array>
#include <cstddef>

namespace bulwark::guard {

RetryBudget::Retry RetryBudget::TryRetry() {
  const int64_t requests = requests_.load(std::memory_order_relaxed);
  const int64_t share = requests * std::clamp(options_.percent, 1, 100) / 100;
  const int64_t allowed = std::max<int64_t>(share, std::max(options_.min_concurrent, 0));
  int current = retries_.load(std::memory_order_relaxed);
  do {
    if (current >= allowed) return Retry();
  } while (!retries_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
  return Retry(this);
}

std::chrono::milliseconds RetryBackoff(std::chrono::milliseconds base,
                                       std::chrono::milliseconds max, int n, uint64_t draw) {
  if (base.count() <= 0 || max.count() <= 0) return std::chrono::milliseconds(0);
  // Doubling stops at max (and well before the count could overflow).
  int64_t ceiling = base.count();
  for (int i = 1; i < n && ceiling < max.count(); ++i) ceiling *= 2;
  ceiling = std::min(ceiling, static_cast<int64_t>(max.count()));
  return std::chrono::milliseconds(static_cast<int64_t>(draw % static_cast<uint64_t>(ceiling + 1)));
}

namespace {

constexpr std::chrono::seconds kLongestRetryAfter(86400);

// Reads `width` digits at the front of `s` into `out`; false if they are not.
bool TakeDigits(std::string_view& s, size_t width, int& out) {
  if (s.size() < width) return false;
  int value = 0;
  for (size_t i = 0; i < width; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    value = value * 10 + (s[i] - '0');
  }
  out = value;
  s.remove_prefix(width);
  return true;
}

bool Take(std::string_view& s, std::string_view literal) {
  if (!s.starts_with(literal)) return false;
  s.remove_prefix(literal.size());
  return true;
}

// A three-letter month name (case-sensitive, as HTTP-date's grammar), 1-12.
bool TakeMonth(std::string_view& s, unsigned& month) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (Take(s, kMonths[i])) {
      month = static_cast<unsigned>(i + 1);
      return true;
    }
  }
  return false;
}

bool TakeDayName(std::string_view& s, bool long_form) {
  static constexpr std::array<std::string_view, 7> kDays = {
      "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
  for (std::string_view day : kDays) {
    if (Take(s, long_form ? day : day.substr(0, 3))) return true;
  }
  return false;
}

// `HH:MM:SS`.
bool TakeTime(std::string_view& s, std::chrono::seconds& time) {
  int h = 0;
  int m = 0;
  int sec = 0;
  if (!TakeDigits(s, 2, h) || !Take(s, ":") || !TakeDigits(s, 2, m) || !Take(s, ":") ||
      !TakeDigits(s, 2, sec) || h > 23 || m > 59 || sec > 60) {
    return false;
  }
  time = std::chrono::hours(h) + std::chrono::minutes(m) + std::chrono::seconds(sec);
  return true;
}

// An HTTP-date (RFC 9110 section 5.6.7) in any of its three forms.
std::optional<std::chrono::sys_seconds> ParseHttpDate(std::string_view s,
                                                      std::chrono::system_clock::time_point now) {
  int day = 0;
  int year = 0;
  unsigned month = 0;
  std::chrono::seconds time{0};
  std::string_view rest = s;
  if (TakeDayName(rest, false) && Take(rest, ", ")) {
    // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    if (!TakeDigits(rest, 2, day) || !Take(rest, " ") || !TakeMonth(rest, month) ||
        !Take(rest, " ") || !TakeDigits(rest, 4, year) || !Take(rest, " ") ||
        !TakeTime(rest, time) || rest != " GMT") {
      return std::nullopt;
    }
  } else if (rest = s; TakeDayName(rest, true) && Take(rest, ", ")) {
    // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT. A two-digit year more than
    // 50 years ahead is the previous century's.
    if (!TakeDigits(rest, 2, day) || !Take(rest, "-") || !TakeMonth(rest, month) ||
        !Take(rest, "-") || !TakeDigits(rest, 2, year) || !Take(rest, " ") ||
        !TakeTime(rest, time) || rest != " GMT") {
      return std::nullopt;
    }
    const int now_year = static_cast<int>(
        std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(now)).year());
    year += now_year / 100 * 100;
    if (year > now_year + 50) year -= 100;
  } else if (rest = s; TakeDayName(rest, false) && Take(rest, " ")) {
    // asctime: Sun Nov  6 08:49:37 1994
    if (!TakeMonth(rest, month) || !Take(rest, " ")) return std::nullopt;
    if (Take(rest, " ")) {
      if (!TakeDigits(rest, 1, day)) return std::nullopt;
    } else if (!TakeDigits(rest, 2, day)) {
      return std::nullopt;
    }
    if (!Take(rest, " ") || !TakeTime(rest, time) || !Take(rest, " ") ||
        !TakeDigits(rest, 4, year) || !rest.empty()) {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(month),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days(date) + time;
}

}  // namespace

std::optional<std::chrono::seconds> RetryAfterDelay(std::string_view value,
                                                    std::chrono::system_clock::time_point now) {
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    // delta-seconds: any number of digits, held to a day.
    int64_t seconds = 0;
    for (const char c : value) {
      seconds = std::min<int64_t>(seconds * 10 + (c - '0'), kLongestRetryAfter.count());
    }
    return std::chrono::seconds(seconds);
  }
  const std::optional<std::chrono::sys_seconds> date = ParseHttpDate(value, now);
  if (!date) return std::nullopt;
  // In seconds (a date of year 9999 less now fits; in the clock's
  // nanoseconds it would not), rounded up as the date is whole.
  const std::chrono::seconds ahead = *date - std::chrono::floor<std::chrono::seconds>(now);
  return std::clamp(ahead, std::chrono::seconds(0), kLongestRetryAfter);
}

}  // namespace bulwark::guard

#include "guard/retry_budget.h"

#include <algorithm>

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

}  // namespace bulwark::guard

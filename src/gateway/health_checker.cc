#include "gateway/health_checker.h"

#include <algorithm>
#include <optional>

#include "core/log.h"

namespace bulwark::gateway {

HealthChecker::HealthChecker(std::vector<Target> targets, metrics::MetricsRegistry* registry)
    : targets_(std::move(targets)) {
  metrics::GaugeFamily* family =
      registry != nullptr
          ? &registry->AddGaugeFamily("bulwark_gateway_upstream_healthy",
                                      "1 while the endpoint passes its active health checks",
                                      {"upstream", "endpoint"})
          : nullptr;
  for (const Target& target : targets_) {
    auto state = std::make_unique<State>();
    state->next_check = std::chrono::steady_clock::now();
    if (family != nullptr) {
      state->gauge = &family->WithLabels({target.name, target.endpoint});
      state->gauge->Set(1);
    }
    states_.push_back(std::move(state));
  }
  const size_t threads = std::min(targets_.size(), kMaxCheckThreads);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

HealthChecker::~HealthChecker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

void HealthChecker::Check(size_t index) {
  const Target& target = targets_[index];
  State& state = *states_[index];
  Result<net::FetchedResponse> response = net::FetchUrl(target.url, target.fetch);
  const bool passed = response && response->status >= 200 && response->status < 400;
  if (passed) {
    state.failures = 0;
    ++state.successes;
  } else {
    state.successes = 0;
    ++state.failures;
  }
  // The gauge moves before the state it shows: whoever sees the endpoint
  // taken out (or back) finds the gauge saying so already.
  const auto become = [&state](bool healthy) {
    if (state.gauge != nullptr) state.gauge->Set(healthy ? 1 : 0);
    state.healthy.store(healthy);
  };
  const bool healthy = state.healthy.load();
  if (healthy && state.failures >= target.options.unhealthy_threshold) {
    become(false);
    log::Warn("gateway.upstream_unhealthy",
              {{"upstream", target.name},
               {"endpoint", target.endpoint},
               {"error", response ? "HTTP status " + std::to_string(response->status)
                                  : response.error().message()}});
  } else if (!healthy && state.successes >= target.options.healthy_threshold) {
    become(true);
    log::Info("gateway.upstream_healthy",
              {{"upstream", target.name}, {"endpoint", target.endpoint}});
  }
}

void HealthChecker::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    // The endpoint due longest that no other thread is checking, else
    // sleep until the next one not being checked is due (a thread that
    // finishes a check comes back here, so the one it checked is never
    // forgotten).
    const auto now = std::chrono::steady_clock::now();
    auto wake_at = std::chrono::steady_clock::time_point::max();
    std::optional<size_t> due;
    for (size_t i = 0; i < targets_.size(); ++i) {
      const State& state = *states_[i];
      if (state.checking) continue;
      if (now < state.next_check) {
        wake_at = std::min(wake_at, state.next_check);
      } else if (!due || state.next_check < states_[*due]->next_check) {
        due = i;
      }
    }
    if (!due) {
      wake_.wait_until(lock, wake_at, [this] { return stop_; });
      continue;
    }
    State& state = *states_[*due];
    state.checking = true;
    lock.unlock();
    Check(*due);
    lock.lock();
    state.checking = false;
    state.next_check = std::chrono::steady_clock::now() + targets_[*due].options.interval;
  }
}

}  // namespace bulwark::gateway

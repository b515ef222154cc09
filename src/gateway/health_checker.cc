#include "gateway/health_checker.h"

#include <algorithm>

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
  if (!targets_.empty()) thread_ = std::thread([this] { Run(); });
}

HealthChecker::~HealthChecker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
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
  const bool healthy = state.healthy.load();
  if (healthy && state.failures >= target.options.unhealthy_threshold) {
    state.healthy.store(false);
    log::Warn("gateway.upstream_unhealthy",
              {{"upstream", target.name},
               {"endpoint", target.endpoint},
               {"error", response ? "HTTP status " + std::to_string(response->status)
                                  : response.error().message()}});
  } else if (!healthy && state.successes >= target.options.healthy_threshold) {
    state.healthy.store(true);
    log::Info("gateway.upstream_healthy",
              {{"upstream", target.name}, {"endpoint", target.endpoint}});
  }
  if (state.gauge != nullptr) state.gauge->Set(state.healthy.load() ? 1 : 0);
}

void HealthChecker::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    auto wake_at = std::chrono::steady_clock::time_point::max();
    for (size_t i = 0; i < targets_.size(); ++i) {
      if (std::chrono::steady_clock::now() >= states_[i]->next_check) {
        lock.unlock();
        Check(i);
        lock.lock();
        if (stop_) return;
        states_[i]->next_check = std::chrono::steady_clock::now() + targets_[i].options.interval;
      }
      wake_at = std::min(wake_at, states_[i]->next_check);
    }
    wake_.wait_until(lock, wake_at, [this] { return stop_; });
  }
}

}  // namespace bulwark::gateway

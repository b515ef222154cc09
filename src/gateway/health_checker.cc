#include "gateway/health_checker.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "core/log.h"
#include "net/upstream_pool.h"

namespace bulwark::gateway {

std::string HealthCheckUrl(bool tls, std::string_view host, uint16_t port, std::string_view path) {
  const bool v6 = host.find(':') != std::string_view::npos;
  return fmt::format("{}://{}{}{}:{}{}", tls ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "",
                     port, path);
}

HealthChecker::HealthChecker(std::vector<Target> targets, metrics::MetricsRegistry* registry)
    : gauges_(registry != nullptr ? &registry->AddGaugeFamily(
                                        "bulwark_gateway_upstream_healthy",
                                        "1 while the endpoint passes its active health checks",
                                        {"upstream", "endpoint"})
                                  : nullptr) {
  for (Target& target : targets) {
    initial_.push_back(std::const_pointer_cast<Check>(Add(std::move(target))));
  }
}

HealthChecker::~HealthChecker() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    threads = std::move(threads_);
  }
  wake_.notify_all();
  for (std::thread& thread : threads) thread.join();
}

std::shared_ptr<const HealthChecker::Check> HealthChecker::Add(Target target) {
  auto check = std::make_shared<Check>(std::move(target));
  {
    // The gauge is taken under the lock, so that a Remove of another
    // endpoint of the same labels either sees this one or ends the series
    // before it is taken again.
    std::lock_guard<std::mutex> lock(mu_);
    if (gauges_ != nullptr) {
      check->gauge_ = gauges_->Shared({check->target_.name, check->target_.endpoint});
      check->gauge_->Set(1);
    }
    check->next_check_ = std::chrono::steady_clock::now();
    checks_.push_back(check);
    // A thread per endpoint, up to the cap: they are started as endpoints
    // come, and stay.
    if (threads_.size() < std::min(checks_.size(), kMaxCheckThreads)) {
      threads_.emplace_back([this] { Run(); });
    }
  }
  wake_.notify_one();
  return check;
}

void HealthChecker::Remove(const Check* check) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it =
      std::find_if(checks_.begin(), checks_.end(),
                   [check](const std::shared_ptr<Check>& c) { return c.get() == check; });
  if (it == checks_.end()) return;
  const std::shared_ptr<Check> removed = std::move(*it);  // alive while its labels are read
  checks_.erase(it);
  removed->removed_ = true;
  const Target& gone = removed->target_;
  if (gauges_ != nullptr &&
      std::none_of(checks_.begin(), checks_.end(), [&](const std::shared_ptr<Check>& c) {
        return c->target_.name == gone.name && c->target_.endpoint == gone.endpoint;
      })) {
    gauges_->Remove({gone.name, gone.endpoint});
  }
}

void HealthChecker::Probe(Check& check) {
  const Target& target = check.target_;
  Result<net::FetchedResponse> response = net::FetchUrl(target.url, target.fetch);
  // A check this process lacked the descriptors (or memory) to make says
  // nothing of the service: it moves nothing.
  if (!response && net::IsLocalShortage(response.error())) return;
  const bool passed = response && response->status >= 200 && response->status < 400;
  // Under the lock, so that once Remove returns no check of it moves its
  // state or gauge.
  std::lock_guard<std::mutex> lock(mu_);
  if (check.removed_) return;
  if (passed) {
    check.failures_ = 0;
    ++check.successes_;
  } else {
    check.successes_ = 0;
    ++check.failures_;
  }
  // The gauge moves before the state it shows: whoever sees the endpoint
  // taken out (or back) finds the gauge saying so already.
  const auto become = [&check](bool healthy) {
    if (check.gauge_ != nullptr) check.gauge_->Set(healthy ? 1 : 0);
    check.healthy_.store(healthy);
  };
  const bool healthy = check.healthy_.load();
  if (healthy && check.failures_ >= target.options.unhealthy_threshold) {
    become(false);
    log::Warn("gateway.upstream_unhealthy",
              {{"upstream", target.name},
               {"endpoint", target.endpoint},
               {"error", response ? "HTTP status " + std::to_string(response->status)
                                  : response.error().message()}});
  } else if (!healthy && check.successes_ >= target.options.healthy_threshold) {
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
    // forgotten; one added wakes a thread).
    const auto now = std::chrono::steady_clock::now();
    auto wake_at = std::chrono::steady_clock::time_point::max();
    std::shared_ptr<Check> due;
    for (const std::shared_ptr<Check>& check : checks_) {
      if (check->checking_) continue;
      if (now < check->next_check_) {
        wake_at = std::min(wake_at, check->next_check_);
      } else if (!due || check->next_check_ < due->next_check_) {
        due = check;
      }
    }
    if (!due) {
      wake_.wait_until(lock, wake_at);
      continue;
    }
    due->checking_ = true;
    lock.unlock();
    Probe(*due);
    lock.lock();
    due->checking_ = false;
    due->next_check_ = std::chrono::steady_clock::now() + due->target_.options.interval;
  }
}

}  // namespace bulwark::gateway

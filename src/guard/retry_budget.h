// RetryBudget: how many of an upstream's requests may be retries at once,
// so that retrying cannot multiply the load on a service that is failing
// because it is overloaded (a retry storm). As Envoy's retry budgets: the
// retries in flight stay within a share of the requests in flight, and a
// few are always allowed so that a quiet upstream can still retry.
//
// Lock-free (two atomic counters), shared by every io thread.
#ifndef BULWARK_GUARD_RETRY_BUDGET_H_
#define BULWARK_GUARD_RETRY_BUDGET_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace bulwark::guard {

struct RetryBudgetOptions {
  // Retries in flight at most this percentage of the requests in flight
  // (1 to 100)...
  int percent = 20;
  // ...or this many, whichever is more.
  int min_concurrent = 3;
};

class RetryBudget {
 public:
  explicit RetryBudget(RetryBudgetOptions options) : options_(options) {}
  RetryBudget(const RetryBudget&) = delete;
  RetryBudget& operator=(const RetryBudget&) = delete;

  // A request to the upstream, in flight from construction to destruction.
  class Request {
   public:
    explicit Request(RetryBudget& budget) : budget_(budget) {
      budget_.requests_.fetch_add(1, std::memory_order_relaxed);
    }
    ~Request() { budget_.requests_.fetch_sub(1, std::memory_order_relaxed); }
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;

   private:
    RetryBudget& budget_;
  };

  // A retry in flight, if the budget admitted it (see admitted()).
  class Retry {
   public:
    Retry() = default;
    explicit Retry(RetryBudget* budget) : budget_(budget) {}
    ~Retry() { Release(); }
    Retry(Retry&& other) noexcept : budget_(other.budget_) { other.budget_ = nullptr; }
    Retry& operator=(Retry&& other) noexcept {
      if (this != &other) {
        Release();
        budget_ = other.budget_;
        other.budget_ = nullptr;
      }
      return *this;
    }
    bool admitted() const { return budget_ != nullptr; }

   private:
    void Release() {
      if (budget_ != nullptr) budget_->retries_.fetch_sub(1, std::memory_order_relaxed);
      budget_ = nullptr;
    }
    RetryBudget* budget_ = nullptr;
  };

  // Counts one more retry in flight if that stays within the budget (an
  // admitted Retry), else an unadmitted one. Call from within a Request.
  Retry TryRetry();

  int requests_in_flight() const { return requests_.load(std::memory_order_relaxed); }
  int retries_in_flight() const { return retries_.load(std::memory_order_relaxed); }

 private:
  const RetryBudgetOptions options_;
  std::atomic<int> requests_{0};
  std::atomic<int> retries_{0};
};

// The wait before the `n`th try (from 1) of a request at an endpoint it was
// already sent to: full jitter over an exponential ceiling, as Envoy and
// gRPC back off: uniform in [0, min(max, base * 2^(n - 1))]. `draw` is a
// uniform 64-bit random value.
std::chrono::milliseconds RetryBackoff(std::chrono::milliseconds base,
                                       std::chrono::milliseconds max, int n, uint64_t draw);

// The wait a Retry-After field value (without the whitespace around it,
// as net::FieldLineValue gives it) asks for (RFC 9110 section 10.2.3):
// delta-seconds, or an HTTP-date (IMF-fixdate, or the obsolete RFC 850 and
// asctime forms a recipient must accept) less `now`, none if that is past.
// Nullopt for a value of neither form. Whole seconds, at most a day.
std::optional<std::chrono::seconds> RetryAfterDelay(std::string_view value,
                                                    std::chrono::system_clock::time_point now);

}  // namespace bulwark::guard

#endif  // BULWARK_GUARD_RETRY_BUDGET_H_

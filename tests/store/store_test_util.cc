#include "store_test_util.h"

#include <stdlib.h>

#include <stdexcept>

namespace bulwark::store::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "bulwark-store-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

WatchHandler WatchRecorder::Handler() {
  return {
      .on_events =
          [this](std::span<const Event> events) {
            std::lock_guard lock(mu_);
            batches_.emplace_back(events.begin(), events.end());
            cv_.notify_all();
          },
      .on_error =
          [this](const Status& status) {
            std::lock_guard lock(mu_);
            error_ = status;
            cv_.notify_all();
          },
  };
}

bool WatchRecorder::WaitForEvents(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    size_t total = 0;
    for (const auto& b : batches_) total += b.size();
    return total >= n || error_.has_value();
  });
}

bool WatchRecorder::WaitForError(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return error_.has_value(); });
}

std::vector<Event> WatchRecorder::events() const {
  std::lock_guard lock(mu_);
  std::vector<Event> all;
  for (const auto& b : batches_) all.insert(all.end(), b.begin(), b.end());
  return all;
}

std::vector<std::vector<Event>> WatchRecorder::batches() const {
  std::lock_guard lock(mu_);
  return batches_;
}

std::optional<Status> WatchRecorder::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

}  // namespace bulwark::store::testing

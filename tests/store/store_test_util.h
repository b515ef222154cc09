// Shared fixtures of the store tests: a temporary directory per test, every
// backend by name, and a watch recorder that waits with a deadline.
#ifndef BULWARK_TESTS_STORE_STORE_TEST_UTIL_H_
#define BULWARK_TESTS_STORE_STORE_TEST_UTIL_H_

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "store/open_store.h"
#include "store/store.h"

namespace bulwark::store::testing {

// A fresh directory, removed with everything in it at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Collects what a watch delivers; thread-safe.
class WatchRecorder {
 public:
  WatchHandler Handler();
  // Waits until at least `n` events arrived (or an error); false on timeout.
  bool WaitForEvents(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool WaitForError(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::vector<Event> events() const;
  std::vector<std::vector<Event>> batches() const;
  std::optional<Status> error() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<Event>> batches_;
  std::optional<Status> error_;
};

}  // namespace bulwark::store::testing

#endif  // BULWARK_TESTS_STORE_STORE_TEST_UTIL_H_

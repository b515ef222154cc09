// WatchNotifier: delivers store changes to watchers on one thread, in
// revision order, with no gaps, reading from the store's retained history.
// Internal to store/.
#ifndef BULWARK_STORE_WATCH_NOTIFIER_H_
#define BULWARK_STORE_WATCH_NOTIFIER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/status.h"
#include "store/store.h"

namespace bulwark::store {

// Reads retained events with revision >= from: whole revisions only, about
// `max_events` at most. kOutOfRange if `from` is compacted away.
using HistoryReader = std::function<Result<std::vector<Event>>(int64_t from, size_t max_events)>;

class WatchNotifier {
 public:
  // `history` must stay callable until the notifier is destroyed.
  WatchNotifier(HistoryReader history, int64_t current_revision);
  // Ends every remaining watch with kCancelled and joins the thread.
  ~WatchNotifier();
  WatchNotifier(const WatchNotifier&) = delete;
  WatchNotifier& operator=(const WatchNotifier&) = delete;

  // Registers a watcher starting at `start_revision` (>= 1). Thread-safe.
  std::unique_ptr<Watch> Add(KeyRange range, int64_t start_revision, WatchHandler handler);
  // Tells the notifier the store has reached `revision`. Thread-safe, cheap.
  void Publish(int64_t revision);

 private:
  struct Watcher;
  class Handle;
  struct Shared;

  void Run();
  // Delivers what `w` has not seen up to `latest`; false when it has ended.
  bool Deliver(Watcher& w, int64_t latest);

  HistoryReader history_;
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

}  // namespace bulwark::store

#endif  // BULWARK_STORE_WATCH_NOTIFIER_H_

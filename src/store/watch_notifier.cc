#include "store/watch_notifier.h"

#include <algorithm>
#include <atomic>
#include <utility>

namespace bulwark::store {

namespace {
constexpr size_t kBatchEvents = 1024;
}  // namespace

struct WatchNotifier::Watcher {
  KeyRange range;
  WatchHandler handler;
  int64_t next_revision = 0;  // touched only by the notifier thread
  std::atomic<bool> cancelled{false};
  std::mutex delivering;  // held while a callback runs
};

struct WatchNotifier::Shared {
  std::mutex mu;
  std::condition_variable wake;
  std::vector<std::shared_ptr<Watcher>> watchers;  // guarded by mu
  int64_t latest = 0;                              // guarded by mu
  uint64_t generation = 0;                         // guarded by mu; bumps on any change
  bool stopping = false;                           // guarded by mu
  std::thread::id thread_id;
};

class WatchNotifier::Handle final : public Watch {
 public:
  Handle(std::shared_ptr<Shared> shared, std::shared_ptr<Watcher> watcher)
      : shared_(std::move(shared)), watcher_(std::move(watcher)) {}
  ~Handle() override {
    watcher_->cancelled = true;
    {
      std::lock_guard lock(shared_->mu);
      std::erase(shared_->watchers, watcher_);
    }
    // Wait out a callback in flight, unless we are that callback.
    if (std::this_thread::get_id() != shared_->thread_id) {
      std::lock_guard wait(watcher_->delivering);
    }
  }

 private:
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<Watcher> watcher_;
};

WatchNotifier::WatchNotifier(HistoryReader history, int64_t current_revision)
    : history_(std::move(history)), shared_(std::make_shared<Shared>()) {
  shared_->latest = current_revision;
  thread_ = std::thread([this] { Run(); });
  std::lock_guard lock(shared_->mu);
  shared_->thread_id = thread_.get_id();
}

WatchNotifier::~WatchNotifier() {
  {
    std::lock_guard lock(shared_->mu);
    shared_->stopping = true;
  }
  shared_->wake.notify_all();
  thread_.join();
}

std::unique_ptr<Watch> WatchNotifier::Add(KeyRange range, int64_t start_revision,
                                          WatchHandler handler) {
  auto watcher = std::make_shared<Watcher>();
  watcher->range = std::move(range);
  watcher->handler = std::move(handler);
  watcher->next_revision = start_revision;
  {
    std::lock_guard lock(shared_->mu);
    shared_->watchers.push_back(watcher);
    ++shared_->generation;
  }
  shared_->wake.notify_all();
  return std::make_unique<Handle>(shared_, std::move(watcher));
}

void WatchNotifier::Publish(int64_t revision) {
  {
    std::lock_guard lock(shared_->mu);
    if (revision <= shared_->latest) return;
    shared_->latest = revision;
    ++shared_->generation;
  }
  shared_->wake.notify_all();
}

void WatchNotifier::Run() {
  uint64_t seen_generation = 0;
  for (;;) {
    std::vector<std::shared_ptr<Watcher>> watchers;
    int64_t latest = 0;
    {
      std::unique_lock lock(shared_->mu);
      shared_->wake.wait(
          lock, [&] { return shared_->stopping || shared_->generation != seen_generation; });
      if (shared_->stopping) {
        watchers.swap(shared_->watchers);
        lock.unlock();
        for (auto& w : watchers) {
          std::lock_guard deliver(w->delivering);
          if (!w->cancelled && w->handler.on_error) {
            w->handler.on_error(Status(StatusCode::kCancelled, "store: closed"));
          }
        }
        return;
      }
      seen_generation = shared_->generation;
      watchers = shared_->watchers;
      latest = shared_->latest;
    }
    for (auto& w : watchers) {
      if (w->cancelled || Deliver(*w, latest)) continue;
      std::lock_guard lock(shared_->mu);
      std::erase(shared_->watchers, w);
    }
  }
}

bool WatchNotifier::Deliver(Watcher& w, int64_t latest) {
  while (w.next_revision <= latest && !w.cancelled) {
    Result<std::vector<Event>> events = history_(w.next_revision, kBatchEvents);
    if (!events) {
      std::lock_guard deliver(w.delivering);
      if (!w.cancelled && w.handler.on_error) w.handler.on_error(events.error());
      w.cancelled = true;
      return false;
    }
    if (events->empty()) {
      w.next_revision = latest + 1;
      break;
    }
    w.next_revision = events->back().revision() + 1;
    std::erase_if(*events, [&](const Event& e) { return !w.range.Contains(e.kv.key); });
    if (events->empty()) continue;
    std::lock_guard deliver(w.delivering);
    if (w.cancelled) return false;
    // Hand over one revision at a time so each callback sees whole revisions.
    std::span<const Event> all(*events);
    while (!all.empty()) {
      size_t n = 1;
      while (n < all.size() && all[n].revision() == all[0].revision()) ++n;
      if (w.handler.on_events) w.handler.on_events(all.first(n));
      all = all.subspan(n);
      if (w.cancelled) return false;
    }
  }
  return true;
}

}  // namespace bulwark::store

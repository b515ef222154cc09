#include "store/mvcc_store.h"

#include <fmt/format.h>
#include <algorithm>
#include <utility>

#include "core/log.h"
#include "store/mvcc_step.h"

namespace bulwark::store {

namespace {
constexpr std::chrono::seconds kMaxLeaseTtl = std::chrono::hours(24 * 365);

Status StatusOf(const Result<int64_t>& r) { return r ? OkStatus() : r.error(); }
}  // namespace

MvccStore::MvccStore(std::unique_ptr<Persistence> persistence, const StoreOptions& options)
    : options_(options),
      clock_(options.clock ? *options.clock : SystemClock::Default()),
      persistence_(std::move(persistence)) {}

Result<std::unique_ptr<MvccStore>> MvccStore::Open(std::unique_ptr<Persistence> persistence,
                                                   const StoreOptions& options) {
  std::unique_ptr<MvccStore> store(new MvccStore(std::move(persistence), options));
  if (store->persistence_) {
    BULWARK_ASSIGN_OR_RETURN(PersistedState state, store->persistence_->Load());
    store->revision_ = state.revision;
    store->compact_revision_ = state.compact_revision;
    store->next_lease_id_ = state.next_lease_id;
    for (const LeaseRecord& l : state.leases) {
      store->leases_[l.id] = {.ttl_seconds = l.ttl_seconds, .expires_unix_ms = l.expires_unix_ms};
    }
    for (KeyValue& kv : state.kvs) {
      if (kv.lease != 0) {
        auto lease = store->leases_.find(kv.lease);
        if (lease == store->leases_.end()) {
          return Err(DataLossError("store: a key refers to a lease that does not exist"));
        }
        lease->second.keys.insert(kv.key);
      }
      std::string key = kv.key;
      store->kvs_.emplace_hint(store->kvs_.end(), std::move(key), std::move(kv));
    }
    store->history_.assign(std::make_move_iterator(state.events.begin()),
                           std::make_move_iterator(state.events.end()));
  }
  MvccStore* self = store.get();
  store->notifier_ = std::make_unique<WatchNotifier>(
      [self](int64_t from, size_t max) { return self->ReadHistory(from, max); }, store->revision_);
  if (options.lease_check_interval.count() > 0) {
    store->expiry_thread_ = std::thread([self] { self->ExpiryLoop(); });
  }
  return store;
}

MvccStore::~MvccStore() {
  {
    std::lock_guard lock(expiry_mu_);
    stopping_ = true;
  }
  expiry_wake_.notify_all();
  if (expiry_thread_.joinable()) expiry_thread_.join();
  notifier_.reset();
}

void MvccStore::ExpiryLoop() {
  std::unique_lock lock(expiry_mu_);
  while (
      !expiry_wake_.wait_for(lock, options_.lease_check_interval, [this] { return stopping_; })) {
    lock.unlock();
    if (Result<int64_t> expired = ExpireLeases(); !expired) {
      log::Warn("store.lease_expiry_failed", {{"error", expired.error().ToString()}});
    }
    lock.lock();
  }
}

int64_t MvccStore::NowUnixMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch())
      .count();
}

bool MvccStore::LeaseLive(int64_t id) const {
  auto it = leases_.find(id);
  return it != leases_.end() && it->second.expires_unix_ms > NowUnixMs();
}

Status MvccStore::ValidateKey(std::string_view key) const {
  if (key.empty()) return InvalidArgumentError("store: key is empty");
  if (key.size() > options_.max_key_bytes) {
    return InvalidArgumentError(
        fmt::format("store: key longer than {} bytes", options_.max_key_bytes));
  }
  return OkStatus();
}

Status MvccStore::ValidateRange(const KeyRange& range) const {
  if (range.single_key()) return ValidateKey(range.begin);
  if (range.begin.size() > options_.max_key_bytes || range.end.size() > options_.max_key_bytes) {
    return InvalidArgumentError(
        fmt::format("store: key longer than {} bytes", options_.max_key_bytes));
  }
  return OkStatus();
}

Status MvccStore::ValidatePut(std::string_view key, std::string_view value, int64_t lease) const {
  BULWARK_RETURN_IF_ERROR(ValidateKey(key));
  if (value.size() > options_.max_value_bytes) {
    return InvalidArgumentError(
        fmt::format("store: value longer than {} bytes", options_.max_value_bytes));
  }
  if (lease < 0) return InvalidArgumentError("store: negative lease id");
  return OkStatus();
}

int64_t MvccStore::Revision() const {
  std::shared_lock lock(mu_);
  return revision_;
}

Result<std::optional<KeyValue>> MvccStore::Get(std::string_view key) {
  BULWARK_RETURN_IF_ERROR(ValidateKey(key));
  std::shared_lock lock(mu_);
  auto it = kvs_.find(key);
  if (it == kvs_.end()) return std::optional<KeyValue>();
  return std::optional<KeyValue>(it->second);
}

Result<RangeResult> MvccStore::Range(const KeyRange& range, const RangeOptions& options) {
  BULWARK_RETURN_IF_ERROR(ValidateRange(range));
  if (options.limit < 0) return Err(InvalidArgumentError("store: negative limit"));
  std::shared_lock lock(mu_);
  return ReadRange(range, options);
}

RangeResult MvccStore::ReadRange(const KeyRange& range, const RangeOptions& options) const {
  RangeResult result{.revision = revision_};
  for (auto it = kvs_.lower_bound(range.begin); it != kvs_.end() && range.Contains(it->first);
       ++it) {
    ++result.count;
    if (options.count_only) continue;
    if (options.limit > 0 && static_cast<int64_t>(result.kvs.size()) >= options.limit) {
      result.more = true;
      continue;
    }
    KeyValue& kv = result.kvs.emplace_back(it->second);
    if (options.keys_only) kv.value.clear();
  }
  if (options.count_only) result.more = false;
  return result;
}

Result<PutResult> MvccStore::Put(std::string_view key, std::string_view value,
                                 const PutOptions& options) {
  BULWARK_RETURN_IF_ERROR(ValidatePut(key, value, options.lease));
  std::unique_lock lock(mu_);
  if (options.lease != 0 && !LeaseLive(options.lease)) {
    return Err(NotFoundError("store: lease not found or expired"));
  }
  Step step(*this);
  PutResult result = step.Put(key, value, options.lease);
  BULWARK_ASSIGN_OR_RETURN(result.revision, step.Commit());
  return result;
}

Result<DeleteResult> MvccStore::Delete(const KeyRange& range) {
  BULWARK_RETURN_IF_ERROR(ValidateRange(range));
  std::unique_lock lock(mu_);
  Step step(*this);
  DeleteResult result = step.Delete(range);
  BULWARK_ASSIGN_OR_RETURN(result.revision, step.Commit());
  return result;
}

Result<std::unique_ptr<Watch>> MvccStore::StartWatch(const WatchOptions& options,
                                                     WatchHandler handler) {
  BULWARK_RETURN_IF_ERROR(ValidateRange(options.range));
  if (options.start_revision < 0) return Err(InvalidArgumentError("store: negative revision"));
  std::shared_lock lock(mu_);
  int64_t start = options.start_revision == 0 ? revision_ + 1 : options.start_revision;
  if (start < std::max<int64_t>(compact_revision_, 1)) {
    return Err(OutOfRangeError(fmt::format("store: revision {} has been compacted (oldest is {})",
                                           start, compact_revision_)));
  }
  return notifier_->Add(options.range, start, std::move(handler));
}

Result<std::vector<Event>> MvccStore::ReadHistory(int64_t from, size_t max_events) const {
  std::shared_lock lock(mu_);
  if (from < compact_revision_) {
    return Err(OutOfRangeError(fmt::format("store: revision {} has been compacted (oldest is {})",
                                           from, compact_revision_)));
  }
  auto it = std::partition_point(history_.begin(), history_.end(),
                                 [from](const Event& e) { return e.revision() < from; });
  std::vector<Event> events;
  for (; it != history_.end(); ++it) {
    if (events.size() >= max_events && it->revision() != events.back().revision()) break;
    events.push_back(*it);
  }
  return events;
}

Result<int64_t> MvccStore::Compact(int64_t revision) {
  std::unique_lock lock(mu_);
  if (revision > revision_) {
    return Err(OutOfRangeError(fmt::format(
        "store: cannot compact to future revision {} (current {})", revision, revision_)));
  }
  if (revision <= compact_revision_) return compact_revision_;
  Step step(*this);
  step.Compact(revision);
  BULWARK_RETURN_IF_ERROR(StatusOf(step.Commit()));
  return compact_revision_;
}

int64_t MvccStore::OldestWatchableRevision() const {
  std::shared_lock lock(mu_);
  return std::max<int64_t>(compact_revision_, 1);
}

LeaseInfo MvccStore::InfoFor(int64_t id, const LeaseState& lease) const {
  return {.id = id,
          .ttl = std::chrono::seconds(lease.ttl_seconds),
          .remaining =
              std::chrono::milliseconds(std::max<int64_t>(lease.expires_unix_ms - NowUnixMs(), 0))};
}

Result<LeaseInfo> MvccStore::GrantLease(std::chrono::seconds ttl) {
  if (ttl < std::chrono::seconds(1) || ttl > kMaxLeaseTtl) {
    return Err(InvalidArgumentError("store: lease TTL must be between 1 second and 1 year"));
  }
  std::unique_lock lock(mu_);
  Step step(*this);
  int64_t id = step.NewLeaseId();
  step.SetLease(id, ttl.count(), NowUnixMs() + ttl.count() * 1000);
  BULWARK_RETURN_IF_ERROR(StatusOf(step.Commit()));
  return InfoFor(id, leases_.at(id));
}

Result<LeaseInfo> MvccStore::KeepAlive(int64_t id) {
  std::unique_lock lock(mu_);
  if (!LeaseLive(id)) return Err(NotFoundError("store: lease not found or expired"));
  Step step(*this);
  const LeaseState& lease = leases_.at(id);
  step.SetLease(id, lease.ttl_seconds, NowUnixMs() + lease.ttl_seconds * 1000);
  BULWARK_RETURN_IF_ERROR(StatusOf(step.Commit()));
  return InfoFor(id, leases_.at(id));
}

Status MvccStore::RevokeLease(int64_t id) {
  std::unique_lock lock(mu_);
  auto it = leases_.find(id);
  if (it == leases_.end()) return NotFoundError("store: lease not found");
  Step step(*this);
  for (const std::string& key :
       std::vector<std::string>(it->second.keys.begin(), it->second.keys.end())) {
    (void)step.Delete(KeyRange::Key(key));
  }
  step.DeleteLease(id);
  return StatusOf(step.Commit());
}

Result<LeaseInfo> MvccStore::LeaseTimeToLive(int64_t id) {
  std::shared_lock lock(mu_);
  if (!LeaseLive(id)) return Err(NotFoundError("store: lease not found or expired"));
  return InfoFor(id, leases_.at(id));
}

Result<int64_t> MvccStore::ExpireLeases() {
  std::unique_lock lock(mu_);
  const int64_t now = NowUnixMs();
  std::vector<int64_t> expired;
  for (const auto& [id, lease] : leases_) {
    if (lease.expires_unix_ms <= now) expired.push_back(id);
  }
  if (expired.empty()) return 0;
  Step step(*this);
  for (int64_t id : expired) {
    const LeaseState& lease = leases_.at(id);
    for (const std::string& key : std::vector<std::string>(lease.keys.begin(), lease.keys.end())) {
      (void)step.Delete(KeyRange::Key(key));
    }
    step.DeleteLease(id);
  }
  BULWARK_RETURN_IF_ERROR(StatusOf(step.Commit()));
  return static_cast<int64_t>(expired.size());
}

}  // namespace bulwark::store

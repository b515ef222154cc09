// MvccStore: the semantics of Store (revisions, transactions, leases, watch
// history) implemented once over an in-memory index, with an optional
// Persistence that makes each step durable before it is acknowledged.
// Internal to store/; use OpenStore.
#ifndef BULWARK_STORE_MVCC_STORE_H_
#define BULWARK_STORE_MVCC_STORE_H_

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>

#include "store/open_store.h"
#include "store/persistence.h"
#include "store/store.h"
#include "store/watch_notifier.h"

namespace bulwark::store {

class MvccStore final : public Store {
 public:
  // `persistence` may be null (the memory backend).
  static Result<std::unique_ptr<MvccStore>> Open(std::unique_ptr<Persistence> persistence,
                                                 const StoreOptions& options);
  ~MvccStore() override;

  int64_t Revision() const override;
  Result<std::optional<KeyValue>> Get(std::string_view key) override;
  Result<RangeResult> Range(const KeyRange& range, const RangeOptions& options) override;
  Result<PutResult> Put(std::string_view key, std::string_view value,
                        const PutOptions& options) override;
  Result<DeleteResult> Delete(const KeyRange& range) override;
  Result<TxnResult> Txn(const TxnRequest& request) override;
  Result<std::unique_ptr<Watch>> StartWatch(const WatchOptions& options,
                                            WatchHandler handler) override;
  Result<int64_t> Compact(int64_t revision) override;
  int64_t OldestWatchableRevision() const override;
  Result<LeaseInfo> GrantLease(std::chrono::seconds ttl) override;
  Result<LeaseInfo> KeepAlive(int64_t lease) override;
  Status RevokeLease(int64_t lease) override;
  Result<LeaseInfo> LeaseTimeToLive(int64_t lease) override;
  Result<int64_t> ExpireLeases() override;

 private:
  struct LeaseState {
    int64_t ttl_seconds = 0;
    int64_t expires_unix_ms = 0;
    std::set<std::string, std::less<>> keys;
  };
  class Step;
  using KvMap = std::map<std::string, KeyValue, std::less<>>;

  MvccStore(std::unique_ptr<Persistence> persistence, const StoreOptions& options);

  int64_t NowUnixMs() const;
  bool LeaseLive(int64_t id) const;  // requires mu_
  Status ValidateKey(std::string_view key) const;
  Status ValidateRange(const KeyRange& range) const;
  Status ValidatePut(std::string_view key, std::string_view value, int64_t lease) const;
  Status ValidateTxnBranch(const std::vector<TxnOp>& ops) const;                    // requires mu_
  bool CompareHolds(const Compare& c) const;                                        // requires mu_
  RangeResult ReadRange(const KeyRange& range, const RangeOptions& options) const;  // mu_
  Result<std::vector<Event>> ReadHistory(int64_t from, size_t max_events) const;
  LeaseInfo InfoFor(int64_t id, const LeaseState& lease) const;
  void ExpiryLoop();

  const StoreOptions options_;
  const Clock& clock_;
  std::unique_ptr<Persistence> persistence_;

  mutable std::shared_mutex mu_;
  KvMap kvs_;                             // guarded by mu_
  std::deque<Event> history_;             // guarded by mu_; revisions >= compact_revision_
  std::map<int64_t, LeaseState> leases_;  // guarded by mu_
  int64_t revision_ = 1;                  // guarded by mu_
  int64_t compact_revision_ = 0;          // guarded by mu_
  int64_t next_lease_id_ = 1;             // guarded by mu_

  std::unique_ptr<WatchNotifier> notifier_;

  std::mutex expiry_mu_;
  std::condition_variable expiry_wake_;
  bool stopping_ = false;  // guarded by expiry_mu_
  std::thread expiry_thread_;
};

}  // namespace bulwark::store

#endif  // BULWARK_STORE_MVCC_STORE_H_

// MvccStore::Step: one atomic step of the store (a put, a delete, a
// transaction, a lease change, a compaction). It applies changes to the
// in-memory index as it goes, so later ops of a transaction see earlier ones,
// and either commits them durably as one revision or rolls them all back.
// Internal to store/. The caller holds MvccStore::mu_ exclusively.
#ifndef BULWARK_STORE_MVCC_STEP_H_
#define BULWARK_STORE_MVCC_STEP_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/mvcc_store.h"

namespace bulwark::store {

class MvccStore::Step {
 public:
  explicit Step(MvccStore& store);
  Step(const Step&) = delete;
  Step& operator=(const Step&) = delete;

  // Writes; the caller has validated them. Results carry the step's revision.
  PutResult Put(std::string_view key, std::string_view value, int64_t lease);
  DeleteResult Delete(const KeyRange& range);
  int64_t NewLeaseId();
  void SetLease(int64_t id, int64_t ttl_seconds, int64_t expires_unix_ms);
  void DeleteLease(int64_t id);
  void Compact(int64_t revision);

  // Makes the step durable and visible; returns the store revision after it.
  // On failure every change of the step is undone and the error returned.
  Result<int64_t> Commit();

 private:
  void Remember(const std::string& key);
  void RememberLease(int64_t id);
  void Rollback();
  void Publish(const ::bulwark::store::Commit& commit);

  MvccStore& s_;
  const int64_t revision_;  // the revision this step writes at, if it writes keys
  const int64_t next_lease_id_before_;
  std::map<std::string, std::optional<KeyValue>, std::less<>> kv_before_;
  std::map<int64_t, std::optional<LeaseState>> lease_before_;
  std::vector<Event> events_;
  std::optional<int64_t> compact_;
};

}  // namespace bulwark::store

#endif  // BULWARK_STORE_MVCC_STEP_H_

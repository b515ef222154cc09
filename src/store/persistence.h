// Persistence: what a durable backend must do for MvccStore, which holds the
// semantics (revisions, transactions, leases, watch history) once for every
// embedded backend. Internal to store/.
#ifndef BULWARK_STORE_PERSISTENCE_H_
#define BULWARK_STORE_PERSISTENCE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/store.h"

namespace bulwark::store {

struct LeaseRecord {
  int64_t id = 0;
  int64_t ttl_seconds = 0;
  int64_t expires_unix_ms = 0;  // wall clock, so a lease survives a restart
};

// Everything a store holds, as loaded at open.
struct PersistedState {
  int64_t revision = 1;
  int64_t compact_revision = 0;
  int64_t next_lease_id = 1;
  std::vector<KeyValue> kvs;
  std::vector<Event> events;  // revision > compact_revision, in order
  std::vector<LeaseRecord> leases;
};

// One atomic step: applied entirely or not at all.
struct Commit {
  int64_t revision = 0;  // the store revision after the step
  std::vector<KeyValue> puts;
  std::vector<std::string> deletes;
  std::vector<Event> events;
  std::vector<LeaseRecord> lease_upserts;
  std::vector<int64_t> lease_deletes;
  std::optional<int64_t> compact_revision;  // drop events below it
  int64_t next_lease_id = 0;
};

class Persistence {
 public:
  virtual ~Persistence() = default;
  virtual Result<PersistedState> Load() = 0;
  // Returns once the commit is durable. On error nothing of it is applied.
  virtual Status Write(const Commit& commit) = 0;
};

}  // namespace bulwark::store

#endif  // BULWARK_STORE_PERSISTENCE_H_

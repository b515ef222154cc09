// Opening a store: the one place that turns configuration into a backend.
#ifndef BULWARK_STORE_OPEN_STORE_H_
#define BULWARK_STORE_OPEN_STORE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "store/store.h"

namespace bulwark::store {

struct StoreOptions {
  enum class Backend { kSqlite, kMemory };

  Backend backend = Backend::kSqlite;
  std::string path;  // the SQLite file (kSqlite)
  // Time for lease expiry; SystemClock::Default() when null. Not owned; must
  // outlive the store.
  const Clock* clock = nullptr;
  // Revisions of history kept for watches; older ones are compacted away.
  int64_t history_revisions = 10'000;
  // How often the store revokes expired leases on its own; 0 = never (call
  // Store::ExpireLeases()).
  std::chrono::milliseconds lease_check_interval{1000};
  // Request limits, as etcd's defaults: larger requests get kInvalidArgument.
  size_t max_key_bytes = 4096;
  size_t max_value_bytes = 1536 * 1024;
  size_t max_txn_ops = 128;
};

// Opens the backend named in `options`. For kSqlite: kUnavailable if the file
// cannot be opened or another process holds it, kDataLoss if it is corrupt or
// not a store. The memory backend starts empty and forgets everything at close.
Result<std::unique_ptr<Store>> OpenStore(const StoreOptions& options);

}  // namespace bulwark::store

#endif  // BULWARK_STORE_OPEN_STORE_H_

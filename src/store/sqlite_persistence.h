// The durable half of the `sqlite` backend: one SQLite file in WAL mode with
// synchronous=FULL, opened with an exclusive lock so no second process can
// write behind the store's back. Internal to store/.
#ifndef BULWARK_STORE_SQLITE_PERSISTENCE_H_
#define BULWARK_STORE_SQLITE_PERSISTENCE_H_

#include <memory>
#include <string>

#include "core/status.h"
#include "store/persistence.h"

namespace bulwark::store {

// Opens (creating with mode 0600 if missing) the database at `path`.
// kUnavailable if another process holds it or it cannot be opened;
// kDataLoss if it is not a Bulwark store or is corrupt.
Result<std::unique_ptr<Persistence>> OpenSqlitePersistence(const std::string& path);

}  // namespace bulwark::store

#endif  // BULWARK_STORE_SQLITE_PERSISTENCE_H_

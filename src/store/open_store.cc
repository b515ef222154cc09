#include "store/open_store.h"

#include "store/mvcc_store.h"
#include "store/sqlite_persistence.h"

namespace bulwark::store {

Result<std::unique_ptr<Store>> OpenStore(const StoreOptions& options) {
  std::unique_ptr<Persistence> persistence;
  if (options.backend == StoreOptions::Backend::kSqlite) {
    BULWARK_ASSIGN_OR_RETURN(persistence, OpenSqlitePersistence(options.path));
  }
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<MvccStore> store,
                           MvccStore::Open(std::move(persistence), options));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace bulwark::store

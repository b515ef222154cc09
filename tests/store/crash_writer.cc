// Writes keys to a sqlite store forever, printing "ack N" once Put N has
// returned. The crash test kills it with SIGKILL and checks every
// acknowledged write is in the file.
#include <cstdio>
#include <string>

#include "store/open_store.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: store_crash_writer PATH\n");
    return 2;
  }
  bulwark::store::StoreOptions options{.path = argv[1]};
  auto store = bulwark::store::OpenStore(options);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().ToString().c_str());
    return 1;
  }
  for (long i = 0;; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "k/%08ld", i);
    // Every tenth write is a two-key transaction, so atomicity is checked too.
    if (i % 10 == 9) {
      auto txn = (*store)->Txn(
          {.success = {bulwark::store::TxnPut{key, std::to_string(i)},
                       bulwark::store::TxnPut{std::string("pair/") + key, std::to_string(i)}}});
      if (!txn) return 1;
    } else if (!(*store)->Put(key, std::to_string(i))) {
      return 1;
    }
    std::printf("ack %ld\n", i);
    std::fflush(stdout);
  }
}

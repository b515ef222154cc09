#include "core/release_memory.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

// gperftools' C entry point, defined only when tcmalloc is linked in (the
// server binary links it; libraries and tests need not): a weak reference
// is null without it.
extern "C" void MallocExtension_MarkThreadTemporarilyIdle() __attribute__((weak));
extern "C" void MallocExtension_ReleaseFreeMemory() __attribute__((weak));

namespace bulwark {

void ReleaseFreeMemory() {
  if (MallocExtension_ReleaseFreeMemory != nullptr) {
    // What this thread freed sits in its cache first: to the central lists
    // with it, then every whole free span to the system.
    if (MallocExtension_MarkThreadTemporarilyIdle != nullptr) {
      MallocExtension_MarkThreadTemporarilyIdle();
    }
    MallocExtension_ReleaseFreeMemory();
    return;
  }
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

}  // namespace bulwark

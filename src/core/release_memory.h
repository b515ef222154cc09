// Hands memory the allocator holds free back to the system, after a burst
// (a flood of rate-limit keys) has been freed: tcmalloc's free pages where
// the program runs on tcmalloc (the server binary), glibc's malloc_trim
// elsewhere (tests, sanitizer builds). It walks the allocator's free lists
// under their locks, so other threads' allocations may wait some
// milliseconds on a heap of gigabytes: call it after bursts, not per request.
#ifndef BULWARK_CORE_RELEASE_MEMORY_H_
#define BULWARK_CORE_RELEASE_MEMORY_H_

namespace bulwark {

void ReleaseFreeMemory();

}  // namespace bulwark

#endif  // BULWARK_CORE_RELEASE_MEMORY_H_

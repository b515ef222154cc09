#include "core/huge_pages.h"

#include <sys/mman.h>

#include <cstdlib>

namespace bulwark {

void* AllocateHugePageBacked(size_t bytes) {
  void* p = std::aligned_alloc(kHugePageSize, bytes);
  if (p == nullptr) throw std::bad_alloc();
  (void)madvise(p, bytes, MADV_HUGEPAGE);  // advice only: without it, ordinary pages
  return p;
}

void FreeHugePageBacked(void* p) { std::free(p); }

}  // namespace bulwark

// An allocator for large, randomly probed arrays (hash tables and records of
// in-memory indexes): blocks of 2 MiB and more are aligned and marked for
// transparent huge pages, so a lookup in a gigabyte-sized table costs one
// TLB entry per 2 MiB instead of per 4 KiB. Smaller blocks come from the
// ordinary allocator. Stateless; usable from any thread.
#ifndef BULWARK_CORE_HUGE_PAGES_H_
#define BULWARK_CORE_HUGE_PAGES_H_

#include <cstddef>
#include <memory>
#include <new>

namespace bulwark {

inline constexpr size_t kHugePageSize = size_t{2} << 20;

// `bytes` (a multiple of kHugePageSize) aligned to kHugePageSize, advised
// for huge pages; throws std::bad_alloc when memory runs out.
void* AllocateHugePageBacked(size_t bytes);
void FreeHugePageBacked(void* p);

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: converting, as allocators must

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePageSize) return std::allocator<T>().allocate(n);
    return static_cast<T*>(
        AllocateHugePageBacked((bytes + kHugePageSize - 1) / kHugePageSize * kHugePageSize));
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHugePageSize) {
      std::allocator<T>().deallocate(p, n);
    } else {
      FreeHugePageBacked(p);
    }
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

}  // namespace bulwark

#endif  // BULWARK_CORE_HUGE_PAGES_H_

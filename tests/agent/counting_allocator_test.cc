// The global allocation functions of the agent tests' binary, counted on the
// thread that asks (tests/agent/counting_allocator.h), and a check that the
// count counts.
#include "tests/agent/counting_allocator.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <string>

namespace horde::testing {
thread_local bool counting = false;
thread_local size_t allocations = 0;
}  // namespace horde::testing

// Every form is replaced together so new and delete stay a pair (also under ASan).
// Not inlined: GCC would otherwise see free() on new's pointer at every call site.
__attribute__((noinline)) void* operator new(std::size_t n) {
  if (horde::testing::counting) ++horde::testing::allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void* operator new[](std::size_t n) { return ::operator new(n); }
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete[](void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace horde {
namespace counting_allocator_test {

using testing::allocations;
using testing::counting;

TEST(CountingAllocator, CountsThisThreadsAllocationsWhileCounting) {
  allocations = 0;
  counting = true;
  std::string grow(1000, 'x');  // outgrows the short-string buffer
  counting = false;
  EXPECT_GE(allocations, 1u);
  const size_t counted = allocations;
  std::string uncounted(1000, 'y');
  EXPECT_EQ(allocations, counted);
}

}  // namespace counting_allocator_test
}  // namespace horde

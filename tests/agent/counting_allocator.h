// Counts the allocations a thread makes: the agent tests' binary replaces the
// global operator new (counting_allocator_test.cc) so a test can check that
// a piece of the request path allocates nothing once it is warm:
//   allocations = 0; counting = true; ...; counting = false; EXPECT_EQ(allocations, 0u);
#pragma once

#include <cstddef>

namespace horde::testing {

// Allocations made by this thread while `counting` is set.
extern thread_local bool counting;
extern thread_local size_t allocations;

}  // namespace horde::testing

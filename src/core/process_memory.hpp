// This process's peak resident memory, as benchmarks and --json summaries
// report it (Linux VmHWM), and the memory the machine can still give.
#pragma once
#include <cstdint>

namespace c2s {

// Bytes; 0 where the kernel does not say.
std::uint64_t peak_resident_bytes();
// Linux MemAvailable: what new allocations can take without swapping; 0
// where the kernel does not say.
std::uint64_t available_memory_bytes();

}  // namespace c2s

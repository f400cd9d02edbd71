// This process's peak resident memory, as benchmarks and --json summaries
// report it (Linux VmHWM).
#pragma once
#include <cstdint>

namespace c2s {

// Bytes; 0 where the kernel does not say.
std::uint64_t peak_resident_bytes();

}  // namespace c2s

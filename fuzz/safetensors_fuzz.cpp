// libFuzzer target for the safetensors header parser (the whole file image
// checked in memory); the body is shared with the GoogleTest mutation loop
// (tests/model/safetensors_fuzz.hpp). Torch-free: built with c2s_io only.
#include <cstddef>
#include <cstdint>

#include "model/safetensors_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  c2s::fuzzing::fuzz_safetensors(data, size);
  return 0;
}

// libFuzzer target for the tokenizer.json engine; the body is shared with
// the GoogleTest mutation loop (tests/text/hf_tokenizer_fuzz.hpp). Build with
// clang -fsanitize=fuzzer,address and the include paths src/ and tests/.
#include <cstddef>
#include <cstdint>

#include "text/hf_tokenizer_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  c2s::fuzzing::fuzz_hf_tokenizer(data, size);
  return 0;
}

// The matrix-vector product that decoding one token in bfloat16 is bound
// by: one activation row against a [out, in] weight matrix, both bfloat16,
// float32 sums. libtorch 1.13 runs it through oneDNN as a general matrix
// product; this kernel streams each weight row once with AVX-512 BF16 dot
// products, which reads the weights faster (figures in docs/ARCHITECTURE.md,
// "Models"). Torch-free: raw bfloat16 bit patterns in, float32 out.
#pragma once
#include <cstdint>

namespace c2s {

// Whether this CPU has the AVX-512 BF16 instructions the kernel needs
// (callers fall back to libtorch otherwise).
bool bf16_gemv_supported();

// y[o] = sum_i w[o * in + i] * x[i] for o in [begin, end): `w` row-major
// [out, in] and `x` [in] as bfloat16 bits, `y` indexed by o. Only call when
// bf16_gemv_supported().
void bf16_gemv_rows(const std::uint16_t* w, const std::uint16_t* x, float* y, std::int64_t in, std::int64_t begin,
                    std::int64_t end);

}  // namespace c2s

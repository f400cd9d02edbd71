// The matrix-vector products that decoding one token in bfloat16 is bound
// by: one activation row against a [out, in] weight matrix (and a query
// against the cached keys), and attention weights against the cached values
// (the transposed product). libtorch 1.13 runs them through oneDNN as general
// matrix products, copying strided cache views first; these kernels stream
// each bfloat16 row once with AVX-512 (BF16 dot products), float32 sums
// (figures in docs/ARCHITECTURE.md, "Models"). Torch-free: raw bfloat16 bit
// patterns in, float32 out.
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

// y[c] = sum_r p[r] * a[r * cols + c] for c in [0, cols): `a` row-major
// [rows, cols] as bfloat16 bits, `p` [rows] and `y` [cols] float32. Only
// call when bf16_gemv_supported().
void bf16_gemv_transposed(const std::uint16_t* a, const float* p, float* y, std::int64_t rows, std::int64_t cols);

}  // namespace c2s

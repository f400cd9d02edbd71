#include "model/bf16_gemv.hpp"

#include <immintrin.h>

namespace c2s {

bool bf16_gemv_supported() {
  static const bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512bf16");
  return supported;
}

namespace {

#define C2S_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

// 32 bfloat16 values at `p`, the first `n` of them when `n` < 32 (zeros after).
C2S_BF16_TARGET inline __m512bh load32(const std::uint16_t* p, __mmask32 mask, bool partial) {
  return partial ? (__m512bh)_mm512_maskz_loadu_epi16(mask, p) : (__m512bh)_mm512_loadu_si512(p);
}

// R rows at a time share each load of x.
template <int R>
C2S_BF16_TARGET void rows(const std::uint16_t* w, const std::uint16_t* x, float* y, std::int64_t in, std::int64_t o) {
  const std::int64_t full = in / 32 * 32;
  const auto tail = __mmask32((1ull << (in - full)) - 1);
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  const std::uint16_t* row = w + o * in;
  for (std::int64_t i = 0; i < full; i += 32) {
    const __m512bh xv = load32(x + i, 0, false);
    for (int r = 0; r < R; ++r) acc[r] = _mm512_dpbf16_ps(acc[r], load32(row + r * in + i, 0, false), xv);
  }
  if (tail) {
    const __m512bh xv = load32(x + full, tail, true);
    for (int r = 0; r < R; ++r) acc[r] = _mm512_dpbf16_ps(acc[r], load32(row + r * in + full, tail, true), xv);
  }
  // (Summed through memory: GCC 12's _mm512_reduce_add_ps warns of an
  // uninitialised value inside its own header.)
  alignas(64) float lanes[16];
  for (int r = 0; r < R; ++r) {
    _mm512_store_ps(lanes, acc[r]);
    float sum = 0;
    for (float v : lanes) sum += v;
    y[o + r] = sum;
  }
}

}  // namespace

C2S_BF16_TARGET void bf16_gemv_rows(const std::uint16_t* w, const std::uint16_t* x, float* y, std::int64_t in,
                                    std::int64_t begin, std::int64_t end) {
  std::int64_t o = begin;
  for (; o + 4 <= end; o += 4) rows<4>(w, x, y, in, o);
  for (; o < end; ++o) rows<1>(w, x, y, in, o);
}

}  // namespace c2s

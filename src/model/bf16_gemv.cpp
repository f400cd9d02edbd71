#include "model/bf16_gemv.hpp"

#include <immintrin.h>

#include <algorithm>

namespace c2s {

bool bf16_gemv_supported() {
  static const bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
  return supported;
}

namespace {

#define C2S_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

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

C2S_BF16_TARGET void bf16_gemv_transposed(const std::uint16_t* a, const float* p, float* y, std::int64_t rows,
                                          std::int64_t cols) {
  // Columns in blocks of up to 4 x 16 floats held in registers while the
  // rows stream past; bfloat16 -> float32 is a 16-bit shift.
  for (std::int64_t c0 = 0; c0 < cols; c0 += 64) {
    const std::int64_t width = std::min<std::int64_t>(64, cols - c0);
    const int vectors = int((width + 15) / 16);
    __mmask16 masks[4];
    for (int v = 0; v < 4; ++v) {
      const std::int64_t n = std::clamp<std::int64_t>(width - 16 * v, 0, 16);
      masks[v] = __mmask16((1u << n) - 1);
    }
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (std::int64_t r = 0; r < rows; ++r) {
      const __m512 weight = _mm512_set1_ps(p[r]);
      const std::uint16_t* row = a + r * cols + c0;
      for (int v = 0; v < vectors; ++v) {
        const __m256i bits = _mm256_maskz_loadu_epi16(masks[v], row + 16 * v);
        // (The maskz forms: GCC 12's plain ones warn of an uninitialised value in its own header.)
        const __m512i widened = _mm512_maskz_cvtepu16_epi32(__mmask16(0xFFFF), bits);
        const __m512 values = _mm512_castsi512_ps(_mm512_maskz_slli_epi32(__mmask16(0xFFFF), widened, 16));
        acc[v] = _mm512_fmadd_ps(weight, values, acc[v]);
      }
    }
    for (int v = 0; v < vectors; ++v) _mm512_mask_storeu_ps(y + c0 + 16 * v, masks[v], acc[v]);
  }
}

}  // namespace c2s

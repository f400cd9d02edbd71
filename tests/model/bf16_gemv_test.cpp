// The bf16 matrix-vector kernels: the GEMV that single-row bfloat16 products
// take (Linear in layers.cpp) against a float64 product of the same bfloat16
// values and against libtorch's own bf16 linear, on shapes that exercise the
// 4-row blocks, the leftover rows and the partial 32-wide tail; the
// transposed product and the bf16 decoding attention built on both against
// float64 and against attention computed the general way.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "model/attention.hpp"
#include "model/bf16_gemv.hpp"
#include "model/layers.hpp"

namespace c2s {
namespace {

// Largest allowed |y - exact|: the final rounding to bfloat16 (half an ulp,
// 2^-9 relative) plus float32 summation error over `in` terms.
at::Tensor bound(const at::Tensor& exact, const at::Tensor& abs_terms, std::int64_t in) {
  return exact.abs() * std::ldexp(1.0, -8) + abs_terms * (double(in) * std::ldexp(1.0, -23)) + 1e-30;
}

TEST(Bf16Gemv, SingleRowLinearMatchesFloat64AndLibtorch) {
  if (!bf16_gemv_supported()) GTEST_SKIP() << "this CPU has no AVX-512 BF16";
  c10::InferenceMode inference;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  for (std::int64_t in : {1, 31, 32, 33, 100, 1024}) {
    for (std::int64_t out : {1, 3, 4, 5, 257}) {
      SCOPED_TRACE("in " + std::to_string(in) + " out " + std::to_string(out));
      Linear linear{at::normal(0, 1, {out, in}, gen).to(at::kBFloat16), at::normal(0, 1, {out}, gen).to(at::kBFloat16)};
      auto x = at::normal(0, 1, {1, 1, in}, gen).to(at::kBFloat16);
      auto y = linear(x);
      ASSERT_EQ(y.scalar_type(), at::kBFloat16);
      ASSERT_EQ(y.sizes(), (std::vector<std::int64_t>{1, 1, out}));
      const auto w64 = linear.weight.to(at::kDouble), x64 = x.reshape({in}).to(at::kDouble);
      const auto exact = at::mv(w64, x64) + linear.bias.to(at::kDouble);
      const auto terms = at::mv(w64.abs(), x64.abs()) + linear.bias.to(at::kDouble).abs();
      const auto err = (y.reshape({out}).to(at::kDouble) - exact).abs();
      EXPECT_TRUE((err <= bound(exact, terms, in)).all().item<bool>()) << "largest error " << err.max().item<double>();
      // libtorch's bf16 linear rounds the same float32 sums: within one bf16 ulp of ours.
      const auto theirs = at::linear(x, linear.weight, linear.bias).reshape({out}).to(at::kDouble);
      EXPECT_TRUE(((theirs - y.reshape({out}).to(at::kDouble)).abs() <= 2 * bound(exact, terms, in)).all().item<bool>());
    }
  }
}

TEST(Bf16Gemv, RowRangesWriteOnlyTheirRows) {
  if (!bf16_gemv_supported()) GTEST_SKIP() << "this CPU has no AVX-512 BF16";
  const std::int64_t out = 11, in = 40;
  auto w = at::ones({out, in}, at::kBFloat16), x = at::full({in}, 0.5, at::kBFloat16);
  std::vector<float> y(out, -1.0f);
  bf16_gemv_rows(reinterpret_cast<const std::uint16_t*>(w.data_ptr<at::BFloat16>()),
                 reinterpret_cast<const std::uint16_t*>(x.data_ptr<at::BFloat16>()), y.data(), in, 2, 9);
  for (std::int64_t o = 0; o < out; ++o) EXPECT_EQ(y[std::size_t(o)], o >= 2 && o < 9 ? 20.0f : -1.0f) << o;
}

TEST(Bf16Gemv, TransposedProductMatchesFloat64) {
  if (!bf16_gemv_supported()) GTEST_SKIP() << "this CPU has no AVX-512 BF16";
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  for (std::int64_t rows : {1, 7, 730}) {
    for (std::int64_t cols : {1, 16, 17, 64, 80, 130, 256}) {
      SCOPED_TRACE("rows " + std::to_string(rows) + " cols " + std::to_string(cols));
      auto a = at::normal(0, 1, {rows, cols}, gen).to(at::kBFloat16);
      auto p = at::rand({rows}, gen);
      std::vector<float> y(std::size_t(cols) + 1, -7.0f);  // one guard element past the end
      bf16_gemv_transposed(reinterpret_cast<const std::uint16_t*>(a.data_ptr<at::BFloat16>()), p.data_ptr<float>(),
                           y.data(), rows, cols);
      EXPECT_EQ(y.back(), -7.0f);
      const auto a64 = a.to(at::kDouble), p64 = p.to(at::kDouble);
      const auto exact = at::mv(a64.t(), p64), terms = at::mv(a64.abs().t(), p64);
      for (std::int64_t c = 0; c < cols; ++c)
        EXPECT_NEAR(y[std::size_t(c)], exact[c].item<double>(), terms[c].item<double>() * double(rows) * std::ldexp(1.0, -23) + 1e-30)
            << "column " << c;
    }
  }
}

// One decoding step in bfloat16 over a cache-like strided view (capacity
// larger than the keys in use), grouped heads, masked keys and soft-capping:
// the kernel path equals float64 attention on the same bfloat16 values within
// the final bfloat16 rounding, and the general path (run in float32) agrees.
TEST(Bf16Gemv, DecodingAttentionOverCacheViewsMatchesFloat64) {
  if (!bf16_gemv_supported()) GTEST_SKIP() << "this CPU has no AVX-512 BF16";
  c10::InferenceMode inference;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const std::int64_t B = 2, KVH = 2, G = 2, D = 80, S = 37, capacity = 50;
  for (double softcap : {0.0, 50.0}) {
    for (std::int64_t T : {1, 2}) {
      SCOPED_TRACE("T " + std::to_string(T) + " softcap " + std::to_string(softcap));
      auto cache_k = at::normal(0, 1, {B, KVH, capacity, D}, gen).to(at::kBFloat16);
      auto cache_v = at::normal(0, 1, {B, KVH, capacity, D}, gen).to(at::kBFloat16);
      auto k = cache_k.narrow(2, 0, S), v = cache_v.narrow(2, 0, S);
      auto q = at::normal(0, 1, {B, KVH * G, T, D}, gen).to(at::kBFloat16);
      auto blocked = at::rand({B, 1, 1, T, S}, gen) < 0.3;
      blocked.select(4, 0).fill_(false);  // every query sees at least one key
      const double scale = 1.0 / std::sqrt(double(D));
      auto got = attend(q, k, v, blocked, scale, softcap).to(at::kDouble);  // [B, T, H*D]

      auto q64 = q.to(at::kDouble).reshape({B, KVH, G * T, D});
      auto scores = at::matmul(q64, k.to(at::kDouble).transpose(-2, -1)) * scale;
      if (softcap > 0) scores = at::tanh(scores / softcap) * softcap;
      scores = scores.view({B, KVH, G, T, S}).masked_fill(blocked, -INFINITY);
      auto probs = at::softmax(scores, -1).view({B, KVH, G * T, S});
      auto exact = at::matmul(probs, v.to(at::kDouble)).view({B, KVH * G, T, D}).transpose(1, 2).reshape({B, T, -1});
      const double worst = (got - exact).abs().max().item<double>();
      EXPECT_LT(worst, exact.abs().max().item<double>() * std::ldexp(1.0, -7)) << worst;

      auto general = attend(q.to(at::kFloat), k.to(at::kFloat), v.to(at::kFloat), blocked, scale, softcap).to(at::kDouble);
      EXPECT_LT((general - exact).abs().max().item<double>(), 1e-5);
    }
  }
}

}  // namespace
}  // namespace c2s

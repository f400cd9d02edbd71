// The bf16 GEMV kernel that single-row bfloat16 products take (Linear in
// layers.cpp): against a float64 product of the same bfloat16 values, and
// against libtorch's own bf16 linear, on shapes that exercise the 4-row
// blocks, the leftover rows and the partial 32-wide tail.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

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

}  // namespace
}  // namespace c2s

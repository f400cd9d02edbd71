// Blockwise attention (model/blockwise_attention) against attention written
// out in float64 with libtorch's autograd: outputs and the gradients of q, k
// and v, over several blocks of query rows (T > 64), grouped heads,
// soft-capping, left padding (padded queries see only themselves) and a
// sliding window.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>

#include "model/attention.hpp"
#include "model/blockwise_attention.hpp"

namespace c2s {
namespace {

at::Tensor reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& blocked,
                     double scale, double softcap) {
  const std::int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3), KVH = k.size(1), S = k.size(2);
  auto scores = at::matmul(q.reshape({B, KVH, H / KVH * T, D}), k.transpose(-2, -1)) * scale;
  if (softcap > 0) scores = at::tanh(scores / softcap) * softcap;
  scores = scores.view({B, KVH, H / KVH, T, S}).masked_fill(blocked, -INFINITY);
  auto probs = at::softmax(scores, -1).view({B, KVH, H / KVH * T, S});
  return at::matmul(probs, v).view({B, H, T, D});
}

// Left padding of `pad[b]` slots, causal, and (window > 0) a sliding window;
// a padded query sees only its own slot, as AttentionContext builds it.
at::Tensor causal_mask(std::int64_t B, std::int64_t T, const std::vector<std::int64_t>& pad, std::int64_t window) {
  auto blocked = at::ones({B, 1, 1, T, T}, at::kBool);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t s = 0; s < T; ++s) {
        const bool real = t >= pad[std::size_t(b)] && s >= pad[std::size_t(b)] && s <= t && (window <= 0 || t - s < window);
        if (real || s == t) blocked[b][0][0][t][s] = false;
      }
  return blocked;
}

struct Case {
  std::int64_t B, KVH, G, T, D;
  double softcap;
  std::int64_t window;
};

class BlockwiseAttention : public ::testing::TestWithParam<Case> {};

TEST_P(BlockwiseAttention, OutputAndGradientsMatchFloat64) {
  const Case c = GetParam();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  const std::int64_t H = c.KVH * c.G;
  std::vector<std::int64_t> pad;
  for (std::int64_t b = 0; b < c.B; ++b) pad.push_back((b * 37) % (c.T / 2 + 1));
  const auto blocked = causal_mask(c.B, c.T, pad, c.window);
  const double scale = 1.0 / std::sqrt(double(c.D));
  auto q64 = at::normal(0, 1.5, {c.B, H, c.T, c.D}, gen).to(at::kDouble);
  auto k64 = at::normal(0, 1.5, {c.B, c.KVH, c.T, c.D}, gen).to(at::kDouble);
  auto v64 = at::normal(0, 1, {c.B, c.KVH, c.T, c.D}, gen).to(at::kDouble);
  auto w = at::normal(0, 1, {c.B, H, c.T, c.D}, gen).to(at::kDouble);  // the loss is sum(w * out)

  auto q = q64.to(at::kFloat).requires_grad_(), k = k64.to(at::kFloat).requires_grad_(),
       v = v64.to(at::kFloat).requires_grad_();
  q64.requires_grad_(), k64.requires_grad_(), v64.requires_grad_();
  auto got = attend_blockwise(q, k, v, blocked, scale, c.softcap);
  auto exact = reference(q64, k64, v64, blocked, scale, c.softcap);
  ASSERT_EQ(got.sizes(), exact.sizes());
  EXPECT_LT((got.to(at::kDouble) - exact).abs().max().item<double>(), 2e-5);

  torch::autograd::backward({(got.to(at::kDouble) * w).sum()});
  torch::autograd::backward({(exact * w).sum()});
  for (auto [name, g, e] : {std::tuple{"q", q.grad(), q64.grad()}, std::tuple{"k", k.grad(), k64.grad()},
                            std::tuple{"v", v.grad(), v64.grad()}}) {
    ASSERT_TRUE(g.defined()) << name;
    const double worst = (g.to(at::kDouble) - e).abs().max().item<double>();
    EXPECT_LT(worst, 1e-4 * std::max(1.0, e.abs().max().item<double>())) << name << " " << worst;
  }

  // Through attend(), which takes this path for float32 on the CPU: [B, T, H*D].
  c10::NoGradGuard no_grad;
  auto via_attend = attend(q, k, v, blocked, scale, c.softcap);
  EXPECT_TRUE(at::equal(via_attend, got.transpose(1, 2).reshape({c.B, c.T, H * c.D})));
}

INSTANTIATE_TEST_SUITE_P(Shapes, BlockwiseAttention,
                         ::testing::Values(Case{2, 2, 1, 7, 16, 0.0, 0},       // one short block
                                           Case{3, 2, 2, 150, 32, 0.0, 0},     // three blocks, grouped heads
                                           Case{2, 1, 4, 130, 16, 50.0, 40},   // Gemma-2: soft-capping, window
                                           Case{1, 4, 1, 64, 8, 0.0, 0}));     // exactly one full block

// Keys and values longer than the queries (a cache holding an earlier prompt)
// and a query row whose every key is blocked past its own (padding): the
// first agrees with the general form in float64, the second gives finite values.
TEST(BlockwiseAttentionCache, QueriesAfterCachedKeysMatchFloat64) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const std::int64_t B = 2, H = 2, T = 70, S = 100, D = 16;
  auto q = at::normal(0, 1, {B, H, T, D}, gen), k = at::normal(0, 1, {B, H, S, D}, gen), v = at::normal(0, 1, {B, H, S, D}, gen);
  auto blocked = at::ones({B, 1, 1, T, S}, at::kBool);
  for (std::int64_t t = 0; t < T; ++t) blocked.narrow(3, t, 1).narrow(4, 0, S - T + t + 1).fill_(false);
  blocked[1].narrow(3, 0, 5).fill_(true);  // batch row 1's first 5 queries: padding that sees only itself
  for (std::int64_t t = 0; t < 5; ++t) blocked[1][0][0][t][S - T + t] = false;
  const double scale = 0.25;
  auto got = attend_blockwise(q, k, v, blocked, scale, 0.0).to(at::kDouble);
  auto exact = reference(q.to(at::kDouble), k.to(at::kDouble), v.to(at::kDouble), blocked, scale, 0.0);
  EXPECT_TRUE(got.isfinite().all().item<bool>());
  EXPECT_LT((got - exact).abs().max().item<double>(), 2e-5);
}

}  // namespace
}  // namespace c2s

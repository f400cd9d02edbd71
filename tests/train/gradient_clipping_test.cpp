// Global-norm clipping against Debian's torch 1.13
// torch.nn.utils.clip_grad_norm_, bit for bit: the norm returned and the
// gradients after clipping, when clipping and when not.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <limits>

#include "cli/cli_runner.hpp"
#include "train/gradient_clipping.hpp"
#include "train/raw_float32.hpp"

namespace c2s {
namespace {

using namespace testing_support;
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// A large matrix (its norm is a reduction split over threads), a small one,
// a bias, a 0-dim scalar, and a parameter without a gradient.
NamedTensors with_gradients(double scale) {
  at::manual_seed(7);
  NamedTensors params;
  for (auto [name, sizes] : std::vector<std::pair<std::string, std::vector<std::int64_t>>>{
           {"transformer.wte.weight", {1000, 300}}, {"transformer.h.0.attn.c_attn.weight", {16, 48}},
           {"transformer.h.0.attn.c_attn.bias", {48}}, {"logit_scale", {}}, {"frozen.weight", {4, 4}}}) {
    auto p = at::zeros(sizes).set_requires_grad(true);
    if (name != "frozen.weight") p.mutable_grad() = at::randn(sizes) * at::exp(at::randn(sizes)) * scale;
    params.emplace_back(name, p);
  }
  return params;
}

struct TorchClip {
  double norm;
  std::vector<at::Tensor> grads;  // of the parameters with one, in order
};

TorchClip torch_clip(const NamedTensors& params, double max_norm) {
  ScratchDir dir("clip");
  nlohmann::json spec{{"max_norm", max_norm}, {"threads", at::get_num_threads()}};
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& g = params[i].second.grad();
    if (!g.defined()) continue;
    spec["shapes"].push_back(g.sizes().vec());
    write_float32(dir.path() / ("grad" + std::to_string(spec["shapes"].size() - 1)), g);
  }
  std::ofstream(dir.path() / "spec.json") << spec.dump();
  EXPECT_EQ(run_python(std::string(kPythonRawFloat32) + "d = '" + dir.path().string() + "'\n" + R"PY(
import json
spec = json.load(open(d + '/spec.json'))
torch.set_num_threads(spec['threads'])
params = []
for i, shape in enumerate(spec['shapes']):
    p = torch.nn.Parameter(torch.zeros(shape))
    p.grad = load(f'{d}/grad{i}', shape)
    params.append(p)
params.append(torch.nn.Parameter(torch.zeros(4, 4)))  # no gradient
norm = torch.nn.utils.clip_grad_norm_(params, spec['max_norm'])
assert norm.dtype == torch.float32
json.dump({'norm': norm.item()}, open(d + '/norm.json', 'w'))
for i, p in enumerate(params[:-1]):
    save(f'{d}/clipped{i}', p.grad)
)PY"),
            0);
  TorchClip out;
  out.norm = nlohmann::json::parse(slurp(dir.path() / "norm.json"))["norm"].get<double>();
  for (std::size_t i = 0; i < spec["shapes"].size(); ++i)
    out.grads.push_back(read_float32(dir.path() / ("clipped" + std::to_string(i)),
                                     spec["shapes"][i].get<std::vector<std::int64_t>>()));
  return out;
}

void expect_gradients(const NamedTensors& params, const std::vector<at::Tensor>& want) {
  std::size_t k = 0;
  for (const auto& [name, p] : params)
    if (p.grad().defined()) {
      ASSERT_LT(k, want.size());
      EXPECT_EQ(bit_differences(p.grad(), want[k++]), "") << name;
    }
  EXPECT_EQ(k, want.size());
}

TEST(GradientClipping, ClipsAsTorchBitForBit) {
  auto params = with_gradients(1.0);
  const auto want = torch_clip(params, 1.0);
  const double norm = clip_gradient_norm(params, 1.0);
  EXPECT_EQ(norm, want.norm);
  EXPECT_GT(norm, 100.0);  // far above max_norm: this run really clips
  expect_gradients(params, want.grads);
  // Independently: the clipped gradients have norm max_norm.
  double sq = 0;
  for (const auto& [name, p] : params)
    if (p.grad().defined()) sq += std::pow(p.grad().to(at::kDouble).norm().item<double>(), 2);
  EXPECT_NEAR(std::sqrt(sq), 1.0, 1e-5);
}

TEST(GradientClipping, BelowMaxNormLeavesGradientsAsTorchDoes) {
  auto params = with_gradients(1e-3);
  std::vector<at::Tensor> before;
  for (const auto& [name, p] : params)
    if (p.grad().defined()) before.push_back(p.grad().clone());
  const auto want = torch_clip(params, 5.0);
  const double norm = clip_gradient_norm(params, 5.0);
  EXPECT_EQ(norm, want.norm);
  EXPECT_LT(norm, 5.0);
  expect_gradients(params, want.grads);
  expect_gradients(params, before);
}

TEST(GradientClipping, MaxNormZeroOrBelowOnlyMeasures) {
  for (double max_norm : {0.0, -1.0}) {
    auto params = with_gradients(1.0);
    std::vector<at::Tensor> before;
    for (const auto& [name, p] : params)
      if (p.grad().defined()) before.push_back(p.grad().clone());
    // torch's norm is the same whatever it then does with it.
    const auto want = torch_clip(params, 1.0);
    EXPECT_EQ(clip_gradient_norm(params, max_norm), want.norm) << max_norm;
    expect_gradients(params, before);
  }
}

TEST(GradientClipping, NonFiniteNormIsReturnedAndGradientsLeftAlone) {
  for (float bad : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    auto params = with_gradients(1.0);
    params[2].second.mutable_grad()[5] = bad;
    std::vector<at::Tensor> before;
    for (const auto& [name, p] : params)
      if (p.grad().defined()) before.push_back(p.grad().clone());
    const double norm = clip_gradient_norm(params, 1.0);
    EXPECT_FALSE(std::isfinite(norm));
    EXPECT_EQ(std::isnan(norm), std::isnan(bad));
    expect_gradients(params, before);
  }
}

TEST(GradientClipping, NoGradientsNormZero) {
  NamedTensors params{{"w", at::ones({3}).set_requires_grad(true)}};
  EXPECT_EQ(clip_gradient_norm(params, 1.0), 0.0);
  EXPECT_EQ(clip_gradient_norm({}, 1.0), 0.0);
}

}  // namespace
}  // namespace c2s

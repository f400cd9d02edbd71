// The training check of every golden model (../shared/golden/models/*/
// golden.json "train"): loss, gradient norms, one gradient in full, and the
// loss after one plain SGD step, against the float64 reference.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "model/golden_models.hpp"
#include "train/lm_loss.hpp"
#include "train/trainable_model.hpp"

namespace c2s {
namespace {

using namespace testing_support;

class GoldenTraining : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { set_compute_threads(2); }
};

// Mean next-token loss of one sequence with labels = input ids.
at::Tensor sequence_loss(const CausalLM& model, const std::vector<std::int64_t>& ids) {
  const auto T = std::int64_t(ids.size());
  ForwardInput in{ids_tensor(ids), at::arange(T, at::kLong).view({1, T}), at::ones({1, T}, at::kBool)};
  auto loss = lm_loss_sum(model, model.forward(in, nullptr), ids_tensor(ids));
  EXPECT_EQ(loss.tokens, T - 1);
  return loss.sum / double(loss.tokens);
}

double relative(double got, double want) { return std::abs(got - want) / std::max(std::abs(want), 1e-12); }

TEST_P(GoldenTraining, LossGradientsAndOneSgdStepMatchTheReference) {
  const auto golden = golden_outputs(GetParam());
  const auto& train = golden["train"];
  auto model = load_causal_lm(golden_model_dir(GetParam()), ComputeOptions{at::kFloat, c10::Device(c10::kCPU)});
  auto params = make_fully_trainable(*model);
  const auto ids = golden["sequences"][train["sequence_index"].get<std::size_t>()]["input_ids"].get<std::vector<std::int64_t>>();

  auto loss = sequence_loss(*model, ids);
  EXPECT_LT(relative(loss.item<double>(), train["loss"].get<double>()), 1e-4);
  loss.backward();

  double global_sq = 0;
  std::map<std::string, at::Tensor> by_name;
  for (const auto& [name, p] : params) {
    ASSERT_TRUE(p.grad().defined()) << name;
    global_sq += std::pow(p.grad().norm().item<double>(), 2);
    by_name[name] = p;
  }
  EXPECT_LT(relative(std::sqrt(global_sq), train["grad_global_norm"].get<double>()), 1e-4);
  ASSERT_FALSE(train["grad_norms"].empty());
  for (const auto& [name, norm] : train["grad_norms"].items()) {
    ASSERT_TRUE(by_name.count(name)) << name;
    EXPECT_LT(relative(by_name[name].grad().norm().item<double>(), norm.get<double>()), 1e-4) << name;
  }
  const auto want = train["grad_values"].get<std::vector<double>>();
  auto got = by_name.at(train["grad_of"].get<std::string>()).grad().to(at::kDouble).contiguous();
  ASSERT_EQ(got.numel(), std::int64_t(want.size()));
  double scale = 0;
  for (double v : want) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[std::int64_t(i)].item<double>(), want[i], 1e-4 * scale) << "element " << i;

  {
    c10::NoGradGuard no_grad;
    const double lr = train["sgd_lr"].get<double>();
    for (auto& [name, p] : params) p.sub_(p.grad() * lr);
    EXPECT_LT(relative(sequence_loss(*model, ids).item<double>(), train["loss_after_sgd_step"].get<double>()), 1e-4);
  }
}

INSTANTIATE_TEST_SUITE_P(AllGoldenModels, GoldenTraining, ::testing::ValuesIn(golden_model_names()), golden_test_name);

}  // namespace
}  // namespace c2s

// Activation checkpointing gives the gradients of the plain backward pass on
// every golden architecture: full training in float32 and under bfloat16
// autocast (the rerun restores the autocast state), and LoRA with dropout
// (the rerun draws the same masks); without autograd it is a plain call.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

#include "model/golden_models.hpp"
#include "model/lora.hpp"
#include "train/lm_loss.hpp"
#include "train/trainable_model.hpp"

namespace c2s {
namespace {

using testing_support::golden_model_dir;

// Two rows, the second left-padded, labels on every real token.
struct Batch {
  ForwardInput input;
  at::Tensor labels;
};

Batch batch() {
  const std::vector<std::int64_t> ids = {1, 5, 9, 17, 33, 65, 129, 257, 300, 42, 7, 3,
                                         0, 0, 0, 4, 8, 15, 16, 23, 42, 99, 100, 11};
  const std::int64_t T = 12;
  auto input_ids = at::tensor(ids, at::kLong).view({2, T});
  auto valid = at::ones({2, T}, at::kBool);
  valid[1].slice(0, 0, 3).fill_(false);
  auto positions = (valid.to(at::kLong).cumsum(1) - 1).clamp_min(0);
  auto labels = input_ids.clone();
  labels.masked_fill_(valid.logical_not(), kIgnoredLabel);
  return {{input_ids, positions, valid}, labels};
}

enum class Mode { Full, FullBf16, LoraDropout };

// The trained tensors' gradients after one forward and backward pass.
std::vector<at::Tensor> gradients(const std::string& name, Mode mode, bool checkpointing) {
  auto model = load_causal_lm(golden_model_dir(name), ComputeOptions{at::kFloat, c10::Device(c10::kCPU)});
  NamedTensors params;
  if (mode == Mode::LoraDropout) {
    params = attach_lora(*model, LoraConfig{4, 8, 0.3, {}}, 7);
    {
      at::NoGradGuard no_grad;  // B starts at zero: give the adapters something to pass on
      for (auto& [n, t] : params) t.add_(at::full_like(t, 0.01));
    }
    set_lora_training(*model, true);
  } else {
    params = make_fully_trainable(*model);
  }
  model->set_activation_checkpointing(checkpointing);
  const Batch b = batch();
  at::Tensor loss;
  {
    const bool bf16 = mode == Mode::FullBf16;
    at::autocast::set_cpu_enabled(bf16);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    loss = lm_loss_sum(*model, model->forward(b.input, nullptr), b.labels).sum;
    at::autocast::set_cpu_enabled(false);
    at::autocast::clear_cache();
  }
  loss.backward();  // outside autocast, as the trainer does
  std::vector<at::Tensor> grads;
  for (auto& [n, p] : params) {
    EXPECT_TRUE(p.grad().defined()) << name << " " << n;
    grads.push_back(p.grad().defined() ? p.grad().clone() : at::zeros_like(p));
  }
  return grads;
}

void expect_same_gradients(const std::string& name, Mode mode, double tolerance) {
  const auto plain = gradients(name, mode, false), recomputed = gradients(name, mode, true);
  ASSERT_EQ(plain.size(), recomputed.size());
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < plain.size(); ++i) {
    worst = std::max(worst, (plain[i].to(at::kDouble) - recomputed[i].to(at::kDouble)).abs().max().item<double>());
    scale = std::max(scale, plain[i].abs().max().item<double>());
  }
  EXPECT_GT(scale, 0) << name;
  EXPECT_LE(worst, tolerance * scale) << name << ": largest gradient difference " << worst << " (largest gradient "
                                      << scale << ")";
}

const char* kModels[] = {"neox-tiny", "neox-tiny-seq", "gemma2-tiny", "gpt2-tiny"};

TEST(ActivationCheckpointing, GivesThePlainGradientsOnEveryArchitecture) {
  for (const char* name : kModels) expect_same_gradients(name, Mode::Full, 1e-6);
}

TEST(ActivationCheckpointing, RerunsUnderTheForwardPassBf16Autocast) {
  for (const char* name : kModels) expect_same_gradients(name, Mode::FullBf16, 1e-6);
}

TEST(ActivationCheckpointing, RerunsLoraDropoutWithTheSameMasks) {
  for (const char* name : kModels) expect_same_gradients(name, Mode::LoraDropout, 1e-6);
}

TEST(ActivationCheckpointing, IsAPlainCallWithoutAutograd) {
  auto model = load_causal_lm(golden_model_dir("neox-tiny"), ComputeOptions{at::kFloat, c10::Device(c10::kCPU)});
  const std::vector<std::int64_t> ids = {1, 5, 9, 17};
  auto before = testing_support::run_hidden(*model, ids);
  model->set_activation_checkpointing(true);
  EXPECT_TRUE(at::equal(before, testing_support::run_hidden(*model, ids)));
}

}  // namespace
}  // namespace c2s

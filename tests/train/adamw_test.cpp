// AdamW against Debian's torch 1.13 torch.optim.AdamW, bit for bit: ten
// updates with weight decay on the matrices only, a learning rate changing
// every step and a parameter missing its gradient once; resuming from the
// saved state; refusing state that does not fit.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "cli/cli_runner.hpp"
#include "model/checkpoint.hpp"
#include "train/adamw.hpp"
#include "train/lr_schedule.hpp"
#include "train/raw_float32.hpp"

namespace c2s {
namespace {

using namespace testing_support;
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

constexpr int kSteps = 10;
constexpr double kWeightDecay = 0.1;

// What a small GPT-2 would train: an embedding, a matrix and its bias, a
// norm gain. The bias has no gradient at step 3 (torch skips it: no update,
// no step counted).
struct Problem {
  std::vector<std::string> names{"transformer.wte.weight", "transformer.h.0.mlp.c_fc.weight",
                                 "transformer.h.0.mlp.c_fc.bias", "transformer.ln_f.weight"};
  std::vector<at::Tensor> initial;
  std::vector<std::vector<at::Tensor>> grads;  // [step][parameter]; undefined: none
  std::vector<double> lrs;
};

const Problem& problem() {
  static const Problem p = [] {
    Problem p;
    at::manual_seed(20240601);
    p.initial = {at::randn({13, 8}) * 0.02, at::randn({8, 24}) * 0.02, at::randn({24}) * 0.01,
                 at::ones({8}) + at::randn({8}) * 0.1};
    for (int s = 0; s < kSteps; ++s) {
      std::vector<at::Tensor> step;
      for (std::size_t i = 0; i < p.initial.size(); ++i) {
        // Magnitudes over several decades, so the moments and the
        // denominator leave the easy range.
        auto g = at::randn(p.initial[i].sizes()) * at::exp(at::randn(p.initial[i].sizes()) * 2.0);
        step.push_back(s == 3 && i == 2 ? at::Tensor() : g);
      }
      p.grads.push_back(step);
      // Warmup then linear decay: the first update has learning rate 0.
      p.lrs.push_back(lr_at(LrSchedule::Linear, 3e-3, s, 3, kSteps));
    }
    return p;
  }();
  return p;
}

AdamWOptions options() {
  AdamWOptions o;
  o.weight_decay = kWeightDecay;
  return o;
}

NamedTensors trainable(const std::vector<at::Tensor>& values) {
  NamedTensors params;
  for (std::size_t i = 0; i < values.size(); ++i)
    params.emplace_back(problem().names[i], values[i].clone().set_requires_grad(true));
  return params;
}

void run_steps(AdamW& opt, const NamedTensors& params, int from, int to) {
  for (int s = from; s < to; ++s) {
    opt.zero_grad();
    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto& g = problem().grads[std::size_t(s)][i];
      if (g.defined()) params[i].second.mutable_grad() = g.clone();
    }
    opt.step(problem().lrs[std::size_t(s)]);
  }
}

at::Tensor state_of(const AdamW& opt, const std::string& name) {
  for (const auto& [n, t] : opt.state())
    if (n == name) return t;
  ADD_FAILURE() << "no state " << name;
  return {};
}

TEST(AdamW, TenUpdatesEqualTorchAdamWBitForBit) {
  ScratchDir dir("adamw");
  const auto& p = problem();
  nlohmann::json spec{{"dir", dir.path().string()}, {"lrs", p.lrs}, {"weight_decay", kWeightDecay},
                      {"threads", at::get_num_threads()}};
  for (std::size_t i = 0; i < p.initial.size(); ++i) {
    spec["shapes"].push_back(p.initial[i].sizes().vec());
    write_float32(dir.path() / ("param" + std::to_string(i)), p.initial[i]);
  }
  for (int s = 0; s < kSteps; ++s) {
    nlohmann::json has = nlohmann::json::array();
    for (std::size_t i = 0; i < p.initial.size(); ++i) {
      const auto& g = p.grads[std::size_t(s)][i];
      has.push_back(g.defined());
      if (g.defined()) write_float32(dir.path() / ("grad" + std::to_string(s) + "_" + std::to_string(i)), g);
    }
    spec["has_grad"].push_back(has);
  }
  std::ofstream(dir.path() / "spec.json") << spec.dump();

  ASSERT_EQ(run_python(std::string(kPythonRawFloat32) + "spec_path = '" + (dir.path() / "spec.json").string() + "'\n" +
                       R"PY(
import json
spec = json.load(open(spec_path))
d = spec['dir']
torch.set_num_threads(spec['threads'])
params = [load(f'{d}/param{i}', s).requires_grad_() for i, s in enumerate(spec['shapes'])]
# Hugging Face's Trainer: no decay for biases and LayerNorm weights.
groups = [{'params': [p for p in params if p.dim() >= 2], 'weight_decay': spec['weight_decay']},
          {'params': [p for p in params if p.dim() < 2], 'weight_decay': 0.0}]
opt = torch.optim.AdamW(groups, lr=0.0, betas=(0.9, 0.999), eps=1e-8, foreach=False)
for s, lr in enumerate(spec['lrs']):
    opt.zero_grad(set_to_none=True)
    for i, p in enumerate(params):
        if spec['has_grad'][s][i]:
            p.grad = load(f'{d}/grad{s}_{i}', spec['shapes'][i])
    for g in opt.param_groups:
        g['lr'] = lr
    opt.step()
steps = []
for i, p in enumerate(params):
    save(f'{d}/want_param{i}', p)
    save(f'{d}/want_exp_avg{i}', opt.state[p]['exp_avg'])
    save(f'{d}/want_exp_avg_sq{i}', opt.state[p]['exp_avg_sq'])
    steps.append(opt.state[p]['step'].item())
json.dump(steps, open(f'{d}/want_steps.json', 'w'))
)PY"),
            0);

  auto params = trainable(p.initial);
  AdamW opt(params, options());
  run_steps(opt, params, 0, kSteps);

  const auto want_steps = nlohmann::json::parse(slurp(dir.path() / "want_steps.json"));
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& [name, value] = params[i];
    const auto shape = value.sizes();
    const auto n = std::to_string(i);
    EXPECT_EQ(bit_differences(value, read_float32(dir.path() / ("want_param" + n), shape)), "") << name;
    EXPECT_EQ(bit_differences(state_of(opt, name + ".exp_avg"), read_float32(dir.path() / ("want_exp_avg" + n), shape)), "")
        << name;
    EXPECT_EQ(bit_differences(state_of(opt, name + ".exp_avg_sq"), read_float32(dir.path() / ("want_exp_avg_sq" + n), shape)),
              "")
        << name;
    EXPECT_EQ(state_of(opt, name + ".step").item<std::int64_t>(), want_steps[i].get<double>()) << name;
    // The run moved every parameter (a comparison of unchanged values would
    // prove nothing).
    EXPECT_FALSE(at::equal(value, p.initial[i])) << name;
  }
  EXPECT_EQ(state_of(opt, p.names[2] + ".step").item<std::int64_t>(), kSteps - 1);
}

TEST(AdamW, ResumingFromSavedStateContinuesBitForBit) {
  const auto& p = problem();
  auto straight = trainable(p.initial);
  AdamW straight_opt(straight, options());
  run_steps(straight_opt, straight, 0, kSteps);

  // Stop after 4 updates (the bias has missed one), save parameters and
  // state as a checkpoint does, and go on in a fresh optimiser.
  ScratchDir dir("adamw-resume");
  {
    auto first = trainable(p.initial);
    AdamW opt(first, options());
    run_steps(opt, first, 0, 4);
    auto saved = opt.state();
    for (const auto& [name, value] : first) saved.emplace_back("param." + name, value.detach());
    save_checkpoint(dir.path(), saved);
  }
  const auto checkpoint = Checkpoint::open(dir.path());
  std::vector<at::Tensor> values;
  for (const auto& name : p.names) values.push_back(checkpoint.tensor("param." + name, at::kFloat));
  auto resumed = trainable(values);
  AdamW opt(resumed, options());
  NamedTensors state;
  for (const auto& name : checkpoint.names())
    if (name.rfind("param.", 0) != 0) state.emplace_back(name, checkpoint.tensor(name, checkpoint.stored_dtype(name)));
  ASSERT_EQ(state.size(), 3 * p.names.size());
  opt.load_state(state);
  EXPECT_EQ(state_of(opt, p.names[2] + ".step").item<std::int64_t>(), 3);
  run_steps(opt, resumed, 4, kSteps);

  for (std::size_t i = 0; i < p.names.size(); ++i) {
    const auto& name = p.names[i];
    EXPECT_EQ(bit_differences(resumed[i].second, straight[i].second), "") << name;
    for (const char* part : {".exp_avg", ".exp_avg_sq"})
      EXPECT_EQ(bit_differences(state_of(opt, name + part), state_of(straight_opt, name + part)), "") << name << part;
    EXPECT_EQ(state_of(opt, name + ".step").item<std::int64_t>(), state_of(straight_opt, name + ".step").item<std::int64_t>());
  }
}

TEST(AdamW, StateStepMayBeTorchsFloat) {
  auto params = trainable(problem().initial);
  AdamW opt(params, options());
  auto state = opt.state();
  for (auto& [name, t] : state)
    if (name.ends_with(".step")) t = at::scalar_tensor(7.0, at::kFloat);
  opt.load_state(state);
  EXPECT_EQ(state_of(opt, problem().names[0] + ".step").scalar_type(), at::kLong);
  EXPECT_EQ(state_of(opt, problem().names[0] + ".step").item<std::int64_t>(), 7);
}

TEST(AdamW, RefusedStateNamesTheTensorAndChangesNothing) {
  auto params = trainable(problem().initial);
  AdamW opt(params, options());
  const auto good = [&] {
    auto s = opt.state();
    for (auto& [name, t] : s) t = name.ends_with(".step") ? at::scalar_tensor(5, at::kLong) : at::ones_like(t);
    return s;
  }();
  auto without = [&](const std::string& name) {
    NamedTensors s;
    for (const auto& e : good)
      if (e.first != name) s.push_back(e);
    return s;
  };
  auto replaced = [&](const std::string& name, at::Tensor t) {
    auto s = good;
    for (auto& e : s)
      if (e.first == name) e.second = t;
    return s;
  };
  const std::string bias = "transformer.h.0.mlp.c_fc.bias";
  expect_error([&] { opt.load_state(without(bias + ".exp_avg_sq")); },
               "optimiser state '" + bias + ".exp_avg_sq': missing");
  expect_error([&] { opt.load_state(replaced(bias + ".exp_avg", at::ones({23}))); },
               "optimiser state '" + bias + ".exp_avg': is float32 [23], expected float32 [24]");
  expect_error([&] { opt.load_state(replaced(bias + ".exp_avg", at::ones({24}, at::kBFloat16))); },
               "is bfloat16 [24], expected float32 [24]");
  expect_error([&] { opt.load_state(replaced(bias + ".step", at::scalar_tensor(2.5))); },
               "optimiser state '" + bias + ".step': must be one non-negative whole number");
  expect_error([&] { opt.load_state(replaced(bias + ".step", at::scalar_tensor(-1, at::kLong))); },
               "non-negative whole number");
  auto extra = good;
  extra.emplace_back("lm_head.weight.exp_avg", at::ones({13, 8}));
  expect_error([&] { opt.load_state(extra); },
               "optimiser state 'lm_head.weight.exp_avg': is not the state of any parameter being trained");
  expect_error([&] { opt.load_state({}); }, "optimiser state 'transformer.wte.weight.exp_avg': missing");

  // The parameters before the faulty one were not loaded either.
  for (const auto& [name, t] : opt.state()) {
    if (name.ends_with(".step"))
      EXPECT_EQ(t.item<std::int64_t>(), 0) << name;
    else
      EXPECT_EQ(t.abs().sum().item<double>(), 0.0) << name;
  }
  opt.load_state(good);
  EXPECT_EQ(state_of(opt, bias + ".step").item<std::int64_t>(), 5);
}

TEST(AdamW, RefusesWhatTorchRefusesAndNonFloat32) {
  auto with = [](at::Tensor t) { return NamedTensors{{"w", t}}; };
  expect_error([&] { AdamW{with(at::ones({2, 2}, at::kBFloat16).set_requires_grad(true)), {}}; },
               "AdamW parameter 'w': is bfloat16");
  expect_error([&] { AdamW{with(at::ones({2, 2})), {}}; }, "AdamW parameter 'w': does not require gradients");
  expect_error([&] { AdamW{{{"w", at::ones({2}).set_requires_grad(true)}, {"w", at::ones({2}).set_requires_grad(true)}}, {}}; },
               "AdamW parameter 'w': given twice");
  for (auto bad : {AdamWOptions{1.0, 0.999, 1e-8, 0.0}, AdamWOptions{0.9, -0.1, 1e-8, 0.0},
                   AdamWOptions{0.9, 0.999, -1e-8, 0.0}, AdamWOptions{0.9, 0.999, 1e-8, -0.01}})
    EXPECT_THROW((AdamW{with(at::ones({2}).set_requires_grad(true)), bad}), UsageError);

  auto w = at::ones({2, 3}).set_requires_grad(true);
  auto b = at::ones({3}).set_requires_grad(true);
  AdamW opt({{"w", w}, {"b", b}}, {});
  EXPECT_THROW(opt.step(-1e-3), UsageError);
  w.mutable_grad() = at::ones({2, 3});
  b.mutable_grad() = at::ones({3}, at::kDouble);
  expect_error([&] { opt.step(1e-3); }, "AdamW parameter 'b': gradient is float64 [3], expected float32 [3]");
  // The good gradient before the bad one was not applied either.
  EXPECT_TRUE(at::equal(w, at::ones({2, 3})));
  EXPECT_EQ(state_of(opt, "w.step").item<std::int64_t>(), 0);
  opt.zero_grad();
  EXPECT_FALSE(w.grad().defined());
  EXPECT_FALSE(b.grad().defined());
  opt.step(1e-3);  // nothing has a gradient: nothing moves, no step counted
  EXPECT_TRUE(at::equal(w, at::ones({2, 3})));
  EXPECT_EQ(state_of(opt, "w.step").item<std::int64_t>(), 0);
}

}  // namespace
}  // namespace c2s

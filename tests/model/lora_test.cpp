// LoRA adapters on the golden tiny models: fresh adapters change nothing;
// adapters with B set match a float64 recomputation (the whole model, and one
// layer in python3-torch), the merged model and the single-row fast paths;
// SGD moves the adapters only; PEFT's files round-trip and read in Python;
// bad input is a one-line error.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <type_traits>

#include "model/checkpoint.hpp"
#include "model/golden_models.hpp"
#include "model/layers.hpp"
#include "model/lora.hpp"
#include "model/python_safetensors.hpp"
#include "test_support.hpp"

namespace c2s {
namespace {

namespace fs = std::filesystem;
using testing_support::golden_model_dir;
using testing_support::ScratchDir;
using testing_support::slurp;
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

const std::vector<std::int64_t> kIds = {1, 5, 9, 17, 33, 65, 129, 257, 300, 42, 7, 3};

std::unique_ptr<CausalLM> load(const std::string& name, at::ScalarType dtype = at::kFloat) {
  return load_causal_lm(golden_model_dir(name), ComputeOptions{dtype, c10::Device(c10::kCPU)});
}

at::Tensor logits_of(const CausalLM& model, const std::vector<std::int64_t>& ids = kIds) {
  return model.logits(testing_support::run_hidden(model, ids));
}

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

bool is_b(const std::string& name) { return name.size() > 14 && name.substr(name.size() - 14) == ".lora_B.weight"; }

// B is zero when attached; give it values of the size training would.
void set_b(const NamedTensors& adapters, std::uint64_t seed) {
  c10::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (const auto& [name, t] : adapters)
    if (is_b(name)) t.copy_(at::normal(0.0, 0.2, t.sizes(), gen));
}

NamedTensors clones(const NamedTensors& tensors) {
  NamedTensors out;
  for (const auto& [name, t] : tensors) out.emplace_back(name, t.detach().clone());
  return out;
}

// Expects f() to throw exactly E (UsageError or a plain Error) with a one-line
// message containing every part.
template <class E, class F>
void expect_one_line(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing: " << parts.front();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(dynamic_cast<const UsageError*>(&e) != nullptr, (std::is_same_v<E, UsageError>)) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    for (const auto& part : parts) EXPECT_NE(what.find(part), std::string::npos) << "missing \"" << part << "\" in: " << what;
  }
}

struct Expected {
  std::string model;
  std::size_t modules_per_layer;
  std::string first_module;
  bool fan_in_fan_out;
};

class Lora : public ::testing::TestWithParam<Expected> {};

TEST_P(Lora, FreshAdaptersAreFrozenBaseSafeAndChangeNothing) {
  const auto& p = GetParam();
  auto model = load(p.model);
  const at::Tensor base = logits_of(*model);
  const auto adapters = attach_lora(*model, {}, 7);
  ASSERT_EQ(adapters.size(), 2 * p.modules_per_layer * std::size_t(model->config().num_layers));
  EXPECT_EQ(adapters[0].first, "base_model.model." + p.first_module + ".lora_A.weight");
  EXPECT_EQ(adapters[1].first, "base_model.model." + p.first_module + ".lora_B.weight");
  for (std::size_t i = 0; i < adapters.size(); i += 2) {
    const at::Tensor& a = adapters[i].second;
    const at::Tensor& b = adapters[i + 1].second;
    EXPECT_EQ(a.scalar_type(), at::kFloat);
    EXPECT_TRUE(a.requires_grad() && b.requires_grad());
    EXPECT_EQ(a.size(0), 8);
    EXPECT_EQ(b.size(1), 8);
    // kaiming_uniform(a=sqrt(5)): uniform in +-1/sqrt(in), using most of it.
    const double bound = 1.0 / std::sqrt(double(a.size(1)));
    EXPECT_LE(a.abs().max().item<double>(), bound);
    EXPECT_GT(a.abs().max().item<double>(), 0.9 * bound);
    EXPECT_NEAR(a.mean().item<double>(), 0.0, 0.1 * bound);
    EXPECT_EQ(b.abs().max().item<double>(), 0.0);
  }
  EXPECT_TRUE(at::equal(logits_of(*model), base));
  for (const auto& [name, t] : model->parameters()) EXPECT_FALSE(t.requires_grad()) << name;

  // Seeded: the same seed draws the same A, another seed another.
  auto again = load(p.model), other = load(p.model);
  const auto same = attach_lora(*again, {}, 7), different = attach_lora(*other, {}, 8);
  EXPECT_TRUE(at::equal(same[0].second, adapters[0].second));
  EXPECT_FALSE(at::equal(different[0].second, adapters[0].second));
}

TEST_P(Lora, AdaptersMatchFloat64WeightsAndTheMergedModel) {
  const auto& p = GetParam();
  auto model = load(p.model);
  const at::Tensor base = logits_of(*model);
  const auto adapters = attach_lora(*model, {4, 8.0, 0.1, {}}, 3);
  set_b(adapters, 11);
  const at::Tensor with_lora = logits_of(*model);
  ASSERT_GT(max_diff(with_lora, base), 0.05) << "the adapters must change the logits for this test to mean anything";

  // Two float32 computations of the same function differ by rounding: 1e-5,
  // or twice what the golden reference measured between float32 and float64
  // for the model (gemma2-tiny: 2.7e-5, its logits being soft-capped at 30).
  const double rounding =
      std::max(1e-5, 2 * testing_support::golden_outputs(p.model)["fp32_vs_fp64_max_abs_logit_diff"].get<double>());

  // The test's own merge, in float64: W + (alpha / r) * B @ A, rounded once.
  auto reference = load(p.model);
  std::size_t k = 0;
  for (const auto& [path, linear] : reference->linear_layers()) {
    const at::Tensor& a = adapters[k].second;
    const at::Tensor& b = adapters[k + 1].second;
    ASSERT_EQ(adapters[k].first, "base_model.model." + path + ".lora_A.weight");
    k += 2;
    at::Tensor delta = (8.0 / 4.0) * at::matmul(b.detach().to(at::kDouble), a.detach().to(at::kDouble));
    if (linear->in_out) delta = delta.t();
    linear->weight.set_data((linear->weight.to(at::kDouble) + delta).to(at::kFloat).contiguous());
  }
  ASSERT_EQ(k, adapters.size());
  EXPECT_LT(max_diff(logits_of(*reference), with_lora), rounding);

  // merge_lora folds them into the model's weights, under parameters() too.
  std::vector<at::Tensor> before;
  for (const auto& [name, t] : model->parameters()) before.push_back(t.clone());
  merge_lora(*model);
  EXPECT_TRUE(lora_parameters(*model).empty());
  const at::Tensor merged = logits_of(*model);
  EXPECT_LT(max_diff(merged, with_lora), rounding);
  EXPECT_LT(max_diff(merged, logits_of(*reference)), rounding);
  std::size_t changed = 0;
  for (std::size_t i = 0; i < before.size(); ++i) changed += !at::equal(before[i], model->parameters()[i].second);
  EXPECT_EQ(changed, adapters.size() / 2);

  // Saved as a plain model, it loads back as the same model; the golden
  // file it was loaded from (memory-mapped) is untouched.
  ScratchDir dir;
  save_causal_lm(*model, dir.path() / "merged");
  EXPECT_TRUE(at::equal(logits_of(*load_causal_lm(dir.path() / "merged", model->options())), merged));
  EXPECT_TRUE(at::equal(logits_of(*load(p.model)), base));
}

TEST_P(Lora, OneLayerMatchesPythonTorchInFloat64) {
  const auto& p = GetParam();
  auto model = load(p.model);
  set_b(attach_lora(*model, {}, 5), 6);
  ScratchDir dir;
  const auto& [path, linear] = model->linear_layers()[0];  // Conv1D on GPT-2
  ASSERT_EQ(path, p.first_module);
  ASSERT_EQ(linear->in_out, p.fan_in_fan_out);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  const at::Tensor x = at::normal(0.0, 1.0, {3, 5, linear->in_features()}, gen);
  c10::NoGradGuard no_grad;  // as in generation: single rows take the GEMV
  const at::Tensor rows = (*linear)(x);
  const at::Tensor row = (*linear)(x[1][2].view({1, 1, -1}));
  save_safetensors_file(dir.path() / "layer.safetensors",
                        {{"x", x}, {"w", linear->weight}, {"bias", linear->bias.defined() ? linear->bias : at::zeros({linear->out_features()})}, {"a", linear->lora->a},
                         {"b", linear->lora->b}, {"rows", rows}, {"row", row}});
  const std::string script = R"PY(
import json, struct, sys
import numpy as np, torch
raw = open(path, 'rb').read()
n, = struct.unpack('<Q', raw[:8])
header = json.loads(raw[8:8 + n])
header.pop('__metadata__', None)
t = {}
for name, info in header.items():
    s, e = info['data_offsets']
    assert info['dtype'] == 'F32', name
    t[name] = torch.from_numpy(np.frombuffer(raw[8 + n + s:8 + n + e], '<f4').reshape(info['shape']).astype(np.float64))
x, w = t['x'], t['w']
base = x @ w if conv1d else x @ w.T
expected = base + t['bias'] + scale * (x @ t['a'].T) @ t['b'].T
err = (expected - t['rows']).abs().max().item()
err_row = (expected[1, 2] - t['row'].reshape(-1)).abs().max().item()
delta = (scale * (x @ t['a'].T) @ t['b'].T).abs().max().item()
print('max error', err, err_row, 'adapter term up to', delta)
sys.exit(0 if err < 2e-5 and err_row < 2e-5 and delta > 0.05 else 1)
)PY";
  EXPECT_EQ(testing_support::run_python("path = " + nlohmann::json((dir.path() / "layer.safetensors").string()).dump() +
                                        "\nconv1d = " + (linear->in_out ? "True" : "False") +
                                        "\nscale = 2.0\n" + script),
            0);
}

TEST_P(Lora, SingleRowFastPathsAddTheAdapter) {
  const auto& p = GetParam();
  for (const auto dtype : {at::kFloat, at::kBFloat16}) {
    SCOPED_TRACE(c10::toString(dtype));
    auto model = load(p.model, dtype);
    set_b(attach_lora(*model, {}, 5), 6);
    c10::NoGradGuard no_grad;
    // Each layer: single rows (GEMV: at::mv in float32, the bf16 kernel in
    // bfloat16) against the same rows in one matrix product, and the
    // adapter's share against its float32 recomputation.
    for (const auto& [path, linear] : model->linear_layers()) {
      auto gen = at::make_generator<at::CPUGeneratorImpl>(2);
      const at::Tensor x = at::normal(0.0, 1.0, {4, linear->in_features()}, gen).to(dtype);
      const at::Tensor together = (*linear)(x.view({1, 4, -1}))[0];
      Linear plain = *linear;
      plain.lora.reset();
      const at::Tensor expected_delta =
          2.0 * at::matmul(at::matmul(x.to(at::kFloat), linear->lora->a.t()), linear->lora->b.t());
      for (std::int64_t r = 0; r < 4; ++r) {
        const at::Tensor single = (*linear)(x[r].view({1, 1, -1})).view({-1});
        const double scale = together[r].to(at::kFloat).abs().max().item<double>();
        const double tolerance = dtype == at::kFloat ? 1e-5 * std::max(1.0, scale) : 5e-2 * scale;
        EXPECT_LT(max_diff(single, together[r]), tolerance) << path;
        const at::Tensor delta = single.to(at::kFloat) - plain(x[r].view({1, 1, -1})).view({-1}).to(at::kFloat);
        EXPECT_LT(max_diff(delta, expected_delta[r]), tolerance) << path;
      }
    }
    // And through the model: decoding the last token with a cache gives the
    // logits of the whole sequence.
    const auto T = std::int64_t(kIds.size());
    KvCache cache = model->make_cache(1, T);
    const std::vector<std::int64_t> prefix(kIds.begin(), kIds.end() - 1);
    ForwardInput in{testing_support::ids_tensor(prefix), at::arange(T - 1, at::kLong).view({1, T - 1}),
                    at::ones({1, T - 1}, at::kBool)};
    model->forward(in, &cache);
    ForwardInput step{testing_support::ids_tensor({kIds.back()}), at::full({1, 1}, T - 1, at::kLong),
                      at::ones({1, 1}, at::kBool)};
    const at::Tensor decoded = model->logits(model->forward(step, &cache)[0][-1]);
    const at::Tensor full = logits_of(*model)[-1];
    const double peak = full.abs().max().item<double>();
    EXPECT_LT(max_diff(decoded, full), dtype == at::kFloat ? 1e-4 : 0.05 * peak + 0.05);
  }
}

TEST_P(Lora, SgdMovesTheAdaptersAndNotTheBase) {
  const auto& p = GetParam();
  auto model = load(p.model);
  const NamedTensors base = clones(model->parameters());
  const auto adapters = attach_lora(*model, {}, 9);
  const NamedTensors initial = clones(adapters);
  set_lora_training(*model, true);
  const auto T = std::int64_t(kIds.size());
  const at::Tensor targets = at::tensor(std::vector<std::int64_t>(kIds.begin() + 1, kIds.end()), at::kLong);
  auto loss_of = [&] {
    ForwardInput in{testing_support::ids_tensor(kIds), at::arange(T, at::kLong).view({1, T}), at::ones({1, T}, at::kBool)};
    const at::Tensor logits = model->logits(model->forward(in, nullptr)[0]);
    return at::nll_loss(at::log_softmax(logits.slice(0, 0, T - 1), -1), targets);
  };
  const double first = loss_of().item<double>();
  for (int step = 0; step < 5; ++step) {
    at::Tensor loss = loss_of();
    loss.backward();
    c10::NoGradGuard no_grad;
    for (const auto& [name, t] : adapters) {
      ASSERT_TRUE(t.grad().defined()) << name;
      t.sub_(0.5 * t.grad());
      t.mutable_grad().zero_();
    }
    for (const auto& [name, t] : model->parameters()) EXPECT_FALSE(t.grad().defined()) << name;
  }
  set_lora_training(*model, false);
  EXPECT_LT(loss_of().item<double>(), first - 0.01);
  for (std::size_t i = 0; i < base.size(); ++i)
    EXPECT_TRUE(at::equal(base[i].second, model->parameters()[i].second)) << base[i].first;
  for (std::size_t i = 0; i < adapters.size(); ++i)
    EXPECT_FALSE(at::equal(initial[i].second, adapters[i].second)) << adapters[i].first;
}

TEST_P(Lora, SaveAndLoadAsPeftDoes) {
  const auto& p = GetParam();
  auto model = load(p.model);
  const auto adapters = attach_lora(*model, {16, 32.0, 0.1, {}}, 4);
  set_b(adapters, 12);
  const at::Tensor with_lora = logits_of(*model);
  ScratchDir dir;
  save_lora(*model, dir.path() / "adapter", "golden/" + p.model);
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(dir.path() / "adapter")) files.insert(e.path().filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"adapter_config.json", "adapter_model.safetensors"}));

  const auto config = nlohmann::json::parse(slurp(dir.path() / "adapter" / "adapter_config.json"));
  EXPECT_EQ(config["peft_type"], "LORA");
  EXPECT_EQ(config["task_type"], "CAUSAL_LM");
  EXPECT_EQ(config["r"], 16);
  EXPECT_EQ(config["lora_alpha"], 32.0);
  EXPECT_EQ(config["lora_dropout"], 0.1);
  EXPECT_EQ(config["bias"], "none");
  EXPECT_EQ(config["fan_in_fan_out"], p.fan_in_fan_out);
  EXPECT_EQ(config["base_model_name_or_path"], "golden/" + p.model);
  EXPECT_EQ(config["inference_mode"], true);
  EXPECT_EQ(config["init_lora_weights"], true);
  EXPECT_TRUE(config.contains("modules_to_save") && config["modules_to_save"].is_null());
  const auto defaults = default_lora_targets(model->config().architecture);
  EXPECT_EQ(config["target_modules"].get<std::set<std::string>>(), std::set<std::string>(defaults.begin(), defaults.end()));

  // Python reads the names, shapes and float32 values.
  ASSERT_EQ(testing_support::python_read_safetensors(dir.path() / "adapter" / "adapter_model.safetensors",
                                                     dir.path() / "seen.json"),
            0);
  const auto seen = nlohmann::json::parse(slurp(dir.path() / "seen.json"));
  EXPECT_EQ(seen.size(), adapters.size() + 2);  // and __metadata__, __header_bytes__
  for (const auto& [name, t] : adapters) {
    ASSERT_TRUE(seen.contains(name)) << name;
    EXPECT_EQ(seen[name]["dtype"], "F32");
    EXPECT_EQ(seen[name]["shape"].get<std::vector<std::int64_t>>(), t.sizes().vec());
    EXPECT_NEAR(seen[name]["value_sum"].get<double>(), t.sum().item<double>(), 1e-3) << name;
  }

  auto fresh = load(p.model);
  const auto loaded = load_lora(*fresh, dir.path() / "adapter");
  ASSERT_EQ(loaded.size(), adapters.size());
  for (std::size_t i = 0; i < loaded.size(); ++i) {
    EXPECT_EQ(loaded[i].first, adapters[i].first);
    EXPECT_TRUE(at::equal(loaded[i].second, adapters[i].second)) << loaded[i].first;
    EXPECT_TRUE(loaded[i].second.requires_grad());
  }
  EXPECT_TRUE(at::equal(logits_of(*fresh), with_lora));
}

const std::vector<Expected> kModels = {
    {"neox-tiny", 4, "gpt_neox.layers.0.attention.query_key_value", false},
    {"gemma2-tiny", 7, "model.layers.0.self_attn.q_proj", false},
    {"gpt2-tiny", 4, "transformer.h.0.attn.c_attn", true},
};
INSTANTIATE_TEST_SUITE_P(GoldenModels, Lora, ::testing::ValuesIn(kModels),
                         [](const auto& info) { return testing_support::golden_test_name({info.param.model, info.index}); });

TEST(LoraTargets, ChosenModulesOnlyAndSavedSoThatTheySelectExactlyThose) {
  auto model = load("gpt2-tiny");
  // "attn.c_proj" selects the attention output projections, not mlp.c_proj:
  // the saved target list must not widen to "c_proj".
  const auto adapters = attach_lora(*model, {2, 4.0, 0.0, {"attn.c_proj"}}, 1);
  ASSERT_EQ(adapters.size(), 4u);
  EXPECT_EQ(adapters[0].first, "base_model.model.transformer.h.0.attn.c_proj.lora_A.weight");
  EXPECT_EQ(adapters[2].first, "base_model.model.transformer.h.1.attn.c_proj.lora_A.weight");
  set_b(adapters, 2);
  ScratchDir dir;
  save_lora(*model, dir.path());
  const auto config = nlohmann::json::parse(slurp(dir.path() / "adapter_config.json"));
  EXPECT_EQ(config["target_modules"],
            nlohmann::json({"transformer.h.0.attn.c_proj", "transformer.h.1.attn.c_proj"}));
  EXPECT_TRUE(config["base_model_name_or_path"].is_null());
  auto fresh = load("gpt2-tiny");
  EXPECT_EQ(load_lora(*fresh, dir.path()).size(), 4u);
  EXPECT_TRUE(at::equal(logits_of(*fresh), logits_of(*model)));

  auto neox = load("neox-tiny");
  EXPECT_EQ(attach_lora(*neox, {8, 16.0, 0.0, {"dense"}}, 1).size(), 4u);  // attention.dense only
}

TEST(LoraTraining, DropoutOnlyWhileTraining) {
  auto model = load("neox-tiny");
  set_b(attach_lora(*model, {8, 16.0, 0.5, {}}, 1), 2);
  const at::Tensor eval = logits_of(*model);
  EXPECT_TRUE(at::equal(logits_of(*model), eval));
  set_lora_training(*model, true);
  const at::Tensor a = logits_of(*model), b = logits_of(*model);
  EXPECT_GT(max_diff(a, eval), 1e-3);
  EXPECT_GT(max_diff(a, b), 1e-3);  // a new mask each pass
  set_lora_training(*model, false);
  EXPECT_TRUE(at::equal(logits_of(*model), eval));
}

TEST(LoraErrors, BadConfigurationsAreUsageErrors) {
  auto model = load("neox-tiny");
  expect_one_line<UsageError>([&] { attach_lora(*model, {8, 16, 0.05, {"q_proj"}}, 1); },
                              {"\"q_proj\"", "matches no module", "query_key_value, dense, dense_h_to_4h, dense_4h_to_h"});
  expect_one_line<UsageError>([&] { attach_lora(*model, {0, 16, 0.05, {}}, 1); }, {"rank must be at least 1"});
  expect_one_line<UsageError>([&] { attach_lora(*model, {8, 0, 0.05, {}}, 1); }, {"alpha must be positive"});
  expect_one_line<UsageError>([&] { attach_lora(*model, {8, -2, 0.05, {}}, 1); }, {"alpha must be positive"});
  expect_one_line<UsageError>([&] { attach_lora(*model, {8, 16, 1.0, {}}, 1); }, {"dropout must be in [0, 1)"});
  expect_one_line<UsageError>([&] { attach_lora(*model, {8, 16, -0.1, {}}, 1); }, {"dropout must be in [0, 1)"});
  EXPECT_TRUE(lora_parameters(*model).empty());  // nothing half-attached
  expect_one_line<UsageError>([&] { merge_lora(*model); }, {"no LoRA adapters"});
  ScratchDir dir;
  expect_one_line<UsageError>([&] { save_lora(*model, dir.path()); }, {"no LoRA adapters"});
  attach_lora(*model, {}, 1);
  expect_one_line<UsageError>([&] { attach_lora(*model, {}, 1); }, {"already has LoRA adapters"});
}

TEST(LoraErrors, MismatchedAdapterFoldersAreErrors) {
  ScratchDir dir;
  auto model = load("neox-tiny");
  set_b(attach_lora(*model, {}, 1), 2);
  const fs::path good = dir.path() / "good";
  save_lora(*model, good);
  const NamedTensors tensors = lora_parameters(*model);

  // A copy of the good folder with its config and tensors edited.
  int variant = 0;
  auto edited = [&](const std::function<void(nlohmann::json&)>& edit_config,
                    const std::function<void(NamedTensors&)>& edit_tensors) {
    fs::path folder = dir.path() / "v";
    folder += std::to_string(variant++);
    fs::create_directories(folder);
    auto config = nlohmann::json::parse(slurp(good / "adapter_config.json"));
    edit_config(config);
    std::ofstream(folder / "adapter_config.json") << config.dump(2);
    NamedTensors t = tensors;
    edit_tensors(t);
    save_safetensors_file(folder / "adapter_model.safetensors", t);
    return folder;
  };
  auto same_config = [](nlohmann::json&) {};
  auto same_tensors = [](NamedTensors&) {};
  auto load_onto = [&](const std::string& name, const fs::path& folder) {
    auto base = load(name);
    load_lora(*base, folder);
  };

  // Another architecture: its targets match nothing here.
  expect_one_line<Error>([&] { load_onto("gpt2-tiny", good); }, {"adapter_config.json", "\"query_key_value\"", "c_attn"});
  // Wrong base shapes: A's input width is not the layer's.
  const fs::path wide = edited(same_config, [](NamedTensors& t) { t[0].second = at::zeros({8, 65}); });
  expect_one_line<Error>([&] { load_onto("neox-tiny", wide); },
                         {"query_key_value.lora_A.weight", "[8, 65], expected [8, 64]", "base layer"});
  // Wrong rank: the config says 4, the tensors are rank 8.
  const fs::path rank = edited([](nlohmann::json& c) { c["r"] = 4; }, same_tensors);
  expect_one_line<Error>([&] { load_onto("neox-tiny", rank); }, {"expected [4, 64]", "rank 4"});
  // Unknown module.
  const fs::path unknown = edited(same_config, [](NamedTensors& t) {
    t.emplace_back("base_model.model.gpt_neox.layers.7.attention.dense.lora_A.weight", at::zeros({8, 64}));
  });
  expect_one_line<Error>([&] { load_onto("neox-tiny", unknown); }, {"gpt_neox.layers.7.attention.dense", "names no module"});
  // Not a LoRA weight name at all.
  const fs::path odd = edited(same_config, [](NamedTensors& t) { t.emplace_back("lm_head.weight", at::zeros({2})); });
  expect_one_line<Error>([&] { load_onto("neox-tiny", odd); }, {"\"lm_head.weight\"", "is not a LoRA weight"});
  // A without B.
  const fs::path half = edited(same_config, [](NamedTensors& t) { t.erase(t.begin() + 1); });
  expect_one_line<Error>([&] { load_onto("neox-tiny", half); }, {"gpt_neox.layers.0.attention.query_key_value", "only lora_A"});
  // A targeted module without weights.
  const fs::path missing = edited(same_config, [](NamedTensors& t) { t.erase(t.begin(), t.begin() + 2); });
  expect_one_line<Error>([&] { load_onto("neox-tiny", missing); }, {"no weights for module gpt_neox.layers.0.attention.query_key_value"});
  // Configs c2s cannot honour.
  const fs::path rslora = edited([](nlohmann::json& c) { c["use_rslora"] = true; }, same_tensors);
  expect_one_line<Error>([&] { load_onto("neox-tiny", rslora); }, {"use_rslora", "not supported"});
  const fs::path ia3 = edited([](nlohmann::json& c) { c["peft_type"] = "IA3"; }, same_tensors);
  expect_one_line<Error>([&] { load_onto("neox-tiny", ia3); }, {"peft_type is \"IA3\""});
  const fs::path zero = edited([](nlohmann::json& c) { c["r"] = 0; }, same_tensors);
  expect_one_line<Error>([&] { load_onto("neox-tiny", zero); }, {"adapter_config.json", "rank must be at least 1"});
  // No adapter files.
  expect_one_line<Error>([&] { load_onto("neox-tiny", dir.path() / "nowhere"); }, {"no such LoRA adapter folder"});
  fs::create_directories(dir.path() / "empty");
  expect_one_line<Error>([&] { load_onto("neox-tiny", dir.path() / "empty"); }, {"no adapter_config.json"});
  // A model that has adapters already.
  expect_one_line<UsageError>([&] { load_lora(*model, good); }, {"already has LoRA adapters"});
}

}  // namespace
}  // namespace c2s

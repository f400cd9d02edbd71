#include "model/lora.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/json_file.hpp"
#include "core/random.hpp"
#include "model/checkpoint.hpp"
#include "model/layers.hpp"

namespace c2s {

namespace fs = std::filesystem;

namespace {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

constexpr const char* kConfigFile = "adapter_config.json";
constexpr const char* kWeightsFile = "adapter_model.safetensors";
// PEFT's PeftModel wraps the model (base_model) around a LoraModel that holds
// it (model): saved names carry both prefixes.
const std::string kPrefix = "base_model.model.";
const std::string kSuffixA = ".lora_A.weight", kSuffixB = ".lora_B.weight";

bool ends_with(const std::string& s, const std::string& end) {
  return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

// PEFT's rule for a list of target names.
bool targets(const std::string& path, const std::string& target) {
  return path == target || ends_with(path, "." + target);
}

std::string last_component(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

// The distinct last components of the model's linear layers, in model order.
std::vector<std::string> module_names(const CausalLM& model) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const auto& [path, linear] : model.linear_layers())
    if (seen.insert(last_component(path)).second) names.push_back(last_component(path));
  return names;
}

std::string joined(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& item : items) s += (s.empty() ? "" : ", ") + item;
  return s;
}

template <typename E>
void check_hyperparameters(const LoraConfig& config, const std::string& context) {
  if (config.rank < 1) throw E(context, "LoRA rank must be at least 1, got " + std::to_string(config.rank));
  if (!(config.alpha > 0) || !std::isfinite(config.alpha))
    throw E(context, "LoRA alpha must be positive, got " + nlohmann::json(config.alpha).dump());
  if (!(config.dropout >= 0 && config.dropout < 1))
    throw E(context, "LoRA dropout must be in [0, 1), got " + nlohmann::json(config.dropout).dump());
}

// Indices into the model's linear_layers() of those `target_modules` (or the
// defaults) select, in model order; E for a target that selects nothing.
template <typename E>
std::vector<std::size_t> targeted(CausalLM& model, std::vector<std::string> target_modules, const std::string& context) {
  if (target_modules.empty()) target_modules = default_lora_targets(model.config().architecture);
  const auto& linears = model.linear_layers();
  for (const auto& t : target_modules) {
    bool any = false;
    for (const auto& [path, linear] : linears) any = any || targets(path, t);
    if (!any)
      throw E(context, "LoRA target module \"" + t + "\" matches no module of this " + model.config().model_type +
                           " model (its linear modules: " + joined(module_names(model)) + ")");
  }
  std::vector<std::size_t> selected;
  for (std::size_t i = 0; i < linears.size(); ++i)
    for (const auto& t : target_modules)
      if (targets(linears[i].first, t)) {
        selected.push_back(i);
        break;
      }
  return selected;
}

void refuse_existing_adapters(CausalLM& model) {
  for (const auto& [path, linear] : model.linear_layers())
    if (linear->lora)
      throw UsageError("the model already has LoRA adapters (on " + path + "); merge them before adding others");
}

// One CPU generator per module and purpose, keyed by (seed, module index), so
// a module's draws do not depend on which other modules are targeted.
at::Generator module_generator(std::uint64_t seed, std::size_t module, std::uint64_t purpose) {
  Rng rng(seed, module * 2 + purpose);
  return at::make_generator<at::CPUGeneratorImpl>(rng.next());
}

NamedTensors adapters_of(const std::vector<std::pair<std::string, const Linear*>>& linears) {
  NamedTensors out;
  for (const auto& [path, linear] : linears)
    if (linear->lora) {
      out.emplace_back(kPrefix + path + kSuffixA, linear->lora->a);
      out.emplace_back(kPrefix + path + kSuffixB, linear->lora->b);
    }
  return out;
}

// The smallest target list that selects exactly the adapted modules: their
// last components when these select no other module, else full paths.
std::vector<std::string> saved_targets(const CausalLM& model) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const auto& [path, linear] : model.linear_layers())
    if (linear->lora && seen.insert(last_component(path)).second) names.push_back(last_component(path));
  for (const auto& [path, linear] : model.linear_layers())
    if (!linear->lora && seen.count(last_component(path))) {
      names.clear();
      for (const auto& [p, l] : model.linear_layers())
        if (l->lora) names.push_back(p);
      break;
    }
  return names;
}

}  // namespace

std::vector<std::string> default_lora_targets(Architecture architecture) {
  switch (architecture) {
    case Architecture::GptNeox: return {"query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"};
    case Architecture::Gemma2: return {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
    case Architecture::Gpt2: return {"c_attn", "c_proj", "c_fc"};
  }
  return {};
}

NamedTensors attach_lora(CausalLM& model, const LoraConfig& config, std::uint64_t seed) {
  check_hyperparameters<UsageError>(config, "");
  const auto selected = targeted<UsageError>(model, config.target_modules, "");
  refuse_existing_adapters(model);
  for (const std::size_t index : selected) {
    Linear* linear = model.linear_layers()[index].second;
    const std::int64_t in = linear->in_features(), out = linear->out_features();
    const auto f32 = at::TensorOptions().dtype(at::kFloat);
    // kaiming_uniform_(a=sqrt(5)): bound = sqrt(6 / ((1 + a^2) * fan_in)) = 1 / sqrt(fan_in).
    const double bound = 1.0 / std::sqrt(double(in));
    LoraAdapter adapter;
    adapter.a = at::empty({config.rank, in}, f32).uniform_(-bound, bound, module_generator(seed, index, 0));
    adapter.b = at::zeros({out, config.rank}, f32);
    adapter.a = adapter.a.to(model.options().device).requires_grad_(true);
    adapter.b = adapter.b.to(model.options().device).requires_grad_(true);
    adapter.alpha = config.alpha;
    adapter.dropout = config.dropout;
    adapter.generator = module_generator(seed, index, 1);
    linear->lora = std::move(adapter);
  }
  return lora_parameters(model);
}

NamedTensors lora_parameters(const CausalLM& model) { return adapters_of(model.linear_layers()); }

void set_lora_training(CausalLM& model, bool training) {
  for (const auto& [path, linear] : model.linear_layers())
    if (linear->lora) linear->lora->training = training;
}

void save_lora(const CausalLM& model, const fs::path& folder, const std::string& base_model_name_or_path) {
  const LoraAdapter* first = nullptr;
  bool in_out = false;
  for (const auto& [path, linear] : model.linear_layers()) {
    if (!linear->lora) continue;
    const LoraAdapter& a = *linear->lora;
    if (!first) {
      first = &a;
      in_out = linear->in_out;
    } else if (a.a.size(0) != first->a.size(0) || a.alpha != first->alpha || a.dropout != first->dropout) {
      // One adapter_config.json holds one rank, alpha and dropout.
      throw Error(folder.string(), "the adapters differ in rank, alpha or dropout (" + path + ")");
    }
  }
  if (!first) throw UsageError(folder.string(), "the model has no LoRA adapters to save");

  nlohmann::json config = {
      {"peft_type", "LORA"},
      {"task_type", "CAUSAL_LM"},
      {"r", first->a.size(0)},
      // PEFT's configs hold an integer alpha as an integer.
      {"lora_alpha", first->alpha == std::floor(first->alpha) && std::abs(first->alpha) < 1e15
                         ? nlohmann::json(std::int64_t(first->alpha))
                         : nlohmann::json(first->alpha)},
      {"lora_dropout", first->dropout},
      {"target_modules", saved_targets(model)},
      {"bias", "none"},
      {"fan_in_fan_out", in_out},
      {"base_model_name_or_path", base_model_name_or_path.empty() ? nlohmann::json(nullptr)
                                                                  : nlohmann::json(base_model_name_or_path)},
      {"inference_mode", true},
      {"init_lora_weights", true},
      {"modules_to_save", nullptr},
  };
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (!fs::is_directory(folder, ec)) throw Error(folder.string(), "cannot create the folder");
  save_safetensors_file(folder / kWeightsFile, lora_parameters(model));
  AtomicTextFile out(folder / kConfigFile);
  out.write(config.dump(2) + "\n");
  out.commit();
}

NamedTensors load_lora(CausalLM& model, const fs::path& folder) {
  const fs::path config_path = folder / kConfigFile, weights_path = folder / kWeightsFile;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw Error(folder.string(), "no such LoRA adapter folder");
  if (!fs::exists(config_path, ec)) throw Error(folder.string(), std::string("no ") + kConfigFile + " (not a LoRA adapter folder)");
  if (!fs::exists(weights_path, ec))
    throw Error(folder.string(), std::string("no ") + kWeightsFile + " (adapter_model.bin is not read: save it as safetensors)");
  refuse_existing_adapters(model);

  const nlohmann::json j = read_json_file(config_path);
  const std::string where = config_path.string();
  if (!j.is_object()) throw Error(where, "not a JSON object");
  auto field = [&](const char* name) { return j.contains(name) ? j[name] : nlohmann::json(nullptr); };
  auto unsupported = [&](const std::string& what) { throw Error(where, what + " is not supported by c2s"); };
  if (field("peft_type") != "LORA") throw Error(where, "peft_type is " + field("peft_type").dump() + ", not \"LORA\"");
  LoraConfig config;
  if (!field("r").is_number_integer()) throw Error(where, "\"r\" is not an integer");
  config.rank = field("r").get<std::int64_t>();
  if (!field("lora_alpha").is_number()) throw Error(where, "\"lora_alpha\" is not a number");
  config.alpha = field("lora_alpha").get<double>();
  if (!field("lora_dropout").is_null()) {
    if (!field("lora_dropout").is_number()) throw Error(where, "\"lora_dropout\" is not a number");
    config.dropout = field("lora_dropout").get<double>();
  } else {
    config.dropout = 0;
  }
  check_hyperparameters<Error>(config, where);
  const auto targets_json = field("target_modules");
  if (targets_json.is_string()) unsupported("a regular expression in \"target_modules\"");
  if (!targets_json.is_null()) {
    if (!targets_json.is_array()) throw Error(where, "\"target_modules\" is not a list of names");
    for (const auto& t : targets_json) {
      if (!t.is_string()) throw Error(where, "\"target_modules\" is not a list of names");
      config.target_modules.push_back(t.get<std::string>());
    }
  }
  if (!field("bias").is_null() && field("bias") != "none") unsupported("\"bias\": " + field("bias").dump());
  if (field("use_rslora") == true) unsupported("rank-stabilised LoRA (use_rslora)");
  if (field("use_dora") == true) unsupported("DoRA (use_dora)");
  for (const char* name : {"rank_pattern", "alpha_pattern"})
    if (!field(name).is_null() && !field(name).empty()) unsupported(std::string("\"") + name + "\" (per-module ranks)");
  for (const char* name : {"modules_to_save", "layers_to_transform"})
    if (!field(name).is_null() && !field(name).empty()) unsupported(std::string("\"") + name + "\"");

  const auto selected = targeted<Error>(model, config.target_modules, where);
  const auto& linears = model.linear_layers();
  std::map<std::string, Linear*> by_path, all(linears.begin(), linears.end());
  for (const std::size_t index : selected) by_path.insert(linears[index]);

  const Checkpoint weights = Checkpoint::open_file(weights_path);
  std::map<std::string, std::pair<at::Tensor, at::Tensor>> found;  // path -> (A, B)
  for (const auto& name : weights.names()) {
    const std::string context = weights_path.string() + ": tensor \"" + name + "\"";
    const bool is_a = ends_with(name, kSuffixA), is_b = ends_with(name, kSuffixB);
    if (name.rfind(kPrefix, 0) != 0 || (!is_a && !is_b))
      throw Error(context, "is not a LoRA weight (" + kPrefix + "<module>" + kSuffixA + " or " + kSuffixB + ")");
    const std::string path = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffixA.size());
    if (!all.count(path))
      throw Error(context, "names no module of this " + model.config().model_type + " model (its linear modules: " +
                               joined(module_names(model)) + ")");
    if (!by_path.count(path)) throw Error(context, "is for a module that target_modules does not name");
    const Linear& linear = *by_path[path];
    const auto shape = weights.shape(name);
    const std::vector<std::int64_t> expected =
        is_a ? std::vector<std::int64_t>{config.rank, linear.in_features()}
             : std::vector<std::int64_t>{linear.out_features(), config.rank};
    if (shape != expected) {
      auto dims = [](const std::vector<std::int64_t>& s) {
        std::string t;
        for (auto d : s) t += (t.empty() ? "" : ", ") + std::to_string(d);
        return "[" + t + "]";
      };
      const bool rank_differs = shape.size() == 2 && (is_a ? shape[0] != config.rank : shape[1] != config.rank);
      throw Error(context, "has shape " + dims(shape) + ", expected " + dims(expected) +
                               (rank_differs ? " (rank " + std::to_string(config.rank) + " in " + kConfigFile + ")"
                                             : " (the base layer's shape)"));
    }
    at::Tensor t = weights.tensor(name, at::kFloat).clone().to(model.options().device).requires_grad_(true);
    (is_a ? found[path].first : found[path].second) = t;
  }
  for (const std::size_t index : selected) {
    const std::string& path = linears[index].first;
    const auto it = found.find(path);
    if (it == found.end())
      throw Error(weights_path.string(), "no weights for module " + path + ", which target_modules names");
    if (!it->second.first.defined() || !it->second.second.defined())
      throw Error(weights_path.string(), "module " + path + " has only " +
                                             (it->second.first.defined() ? "lora_A" : "lora_B") + " weights");
  }
  for (const std::size_t index : selected) {
    const auto& [path, linear] = linears[index];
    LoraAdapter adapter;
    std::tie(adapter.a, adapter.b) = found[path];
    adapter.alpha = config.alpha;
    adapter.dropout = config.dropout;
    // Dropout masks matter only if training goes on: keyed by module index
    // under seed 0.
    adapter.generator = module_generator(0, index, 1);
    linear->lora = std::move(adapter);
  }
  return lora_parameters(model);
}

void merge_lora(CausalLM& model) {
  c10::NoGradGuard no_grad;
  bool any = false;
  for (const auto& [path, linear] : model.linear_layers()) {
    if (!linear->lora) continue;
    any = true;
    const LoraAdapter& a = *linear->lora;
    at::Tensor& w = linear->weight;
    const auto compute = at::promote_types(w.scalar_type(), at::kFloat);
    at::Tensor delta = at::matmul(a.b.detach().to(compute), a.a.detach().to(compute)).mul_(a.scale());  // [out, in]
    if (linear->in_out) delta = delta.t();
    at::Tensor merged = (w.detach().to(compute) + delta.to(w.device())).to(w.scalar_type()).contiguous();
    // set_data swaps the storage under every handle of the weight (the
    // model's parameters() list holds the same tensor): the mapped file is
    // never written.
    w.set_data(merged);
    linear->lora.reset();
  }
  if (!any) throw UsageError("the model has no LoRA adapters to merge");
}

}  // namespace c2s

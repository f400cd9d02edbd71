// Model folders in and out: the architecture chosen by config.json's
// model_type, weights from the checkpoint or a seeded random start, and the
// folder transformers' from_pretrained reads back.
#include <ATen/ATen.h>

#include "core/error.hpp"
#include "core/json_file.hpp"
#include "model/architectures.hpp"
#include "model/layers.hpp"
#include "model/causal_lm.hpp"
#include "model/checkpoint.hpp"

namespace c2s {

namespace {

std::unique_ptr<CausalLM> build(const ModelConfig& config, const ComputeOptions& options, WeightSource& weights) {
  switch (config.architecture) {
    case Architecture::GptNeox: return make_gpt_neox(config, options, weights);
    case Architecture::Gemma2: return make_gemma2(config, options, weights);
    case Architecture::Gpt2: return make_gpt2(config, options, weights);
  }
  throw Error("unknown architecture");
}

}  // namespace

void CausalLM::check_input(std::span<const std::int64_t> ids, std::int64_t more, const std::string& what) const {
  if (ids.empty()) throw Error(what + ": no tokens");
  for (auto id : ids)
    if (id < 0 || id >= config_.vocab_size)
      throw Error(what + ": token id " + std::to_string(id) + " is outside the model's vocabulary of " +
                  std::to_string(config_.vocab_size));
  const auto positions = std::int64_t(ids.size()) + more;
  if (config_.architecture == Architecture::Gpt2 && positions > config_.max_positions)
    throw Error(what + ": needs " + std::to_string(positions) + " positions, the model has " +
                std::to_string(config_.max_positions));
}

at::Tensor CausalLM::run_layer(const LayerFunction& fn, const at::Tensor& x) const {
  if (!checkpoint_layers_) return fn(x);
  std::vector<at::Generator> generators;
  for (const auto& [name, linear] : linears_)
    if (linear->lora && linear->lora->training && linear->lora->dropout > 0) generators.push_back(linear->lora->generator);
  return checkpointed(fn, x, generators);
}

std::uint64_t CausalLM::parameter_bytes() const {
  std::uint64_t b = 0;
  for (const auto& [name, t] : parameters_) b += std::uint64_t(t.numel()) * t.element_size();
  return b;
}

std::unique_ptr<CausalLM> load_causal_lm(const std::filesystem::path& folder, const ComputeOptions& options) {
  if (!std::filesystem::is_directory(folder)) throw Error(folder.string(), "no such model folder");
  ModelConfig config = read_model_config(folder);
  Checkpoint checkpoint = Checkpoint::open(folder);
  WeightSource weights(checkpoint, folder.string(), options);
  return build(config, options, weights);
}

std::unique_ptr<CausalLM> random_causal_lm(const ModelConfig& config, const ComputeOptions& options, std::uint64_t seed) {
  double init_std = 0.02;
  if (config.raw.contains("initializer_range") && config.raw["initializer_range"].is_number())
    init_std = config.raw["initializer_range"].get<double>();
  WeightSource weights(seed, init_std, options);
  return build(config, options, weights);
}

void save_causal_lm(const CausalLM& model, const std::filesystem::path& folder, std::uint64_t max_shard_bytes) {
  std::filesystem::create_directories(folder);
  ModelConfig config = model.config();
  config.torch_dtype = dtype_name(model.options().dtype);
  save_checkpoint(folder, model.parameters(), max_shard_bytes);
  nlohmann::json generation = nlohmann::json::object();
  if (config.bos_token_id) generation["bos_token_id"] = *config.bos_token_id;
  if (config.pad_token_id) generation["pad_token_id"] = *config.pad_token_id;
  if (config.eos_token_ids.size() == 1) generation["eos_token_id"] = config.eos_token_ids[0];
  else if (!config.eos_token_ids.empty()) generation["eos_token_id"] = config.eos_token_ids;
  write_json_file(folder / "generation_config.json", generation);
  write_json_file(folder / "config.json", model_config_json(config));
}

}  // namespace c2s

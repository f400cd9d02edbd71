// LoRA adapters on a loaded model, as PEFT makes, saves and merges them: a
// trainable low-rank update beside each targeted linear layer, the base
// weights frozen. Format of the saved folder: docs/formats/lora-adapter.md.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "model/causal_lm.hpp"

namespace c2s {

struct LoraConfig {
  std::int64_t rank = 8;
  double alpha = 16;     // scale = alpha / rank
  double dropout = 0.05;  // on the adapter's input, while training only
  // PEFT's matching: a module is targeted when its path equals a target or
  // ends with "." + target. Empty: default_lora_targets of the architecture.
  std::vector<std::string> target_modules;
};

// PEFT's defaults: GPT-NeoX query_key_value, dense, dense_h_to_4h,
// dense_4h_to_h; Gemma-2 the seven projections; GPT-2 c_attn, c_proj, c_fc.
std::vector<std::string> default_lora_targets(Architecture architecture);

// Fresh adapters on every targeted linear layer: A [rank, in] uniform in
// +-1/sqrt(in) (PEFT's kaiming_uniform(a=sqrt(5))), B [out, rank] zeros, so
// the model's outputs are unchanged until B trains; drawn from streams keyed
// by (seed, module index). Returns the float32 adapters, requiring gradients,
// under PEFT's names (base_model.model.<module path>.lora_A.weight, then
// lora_B), in model order. UsageError: rank < 1, alpha <= 0, dropout outside
// [0, 1), a target matching no module (the message lists the model's
// modules), a model that already has adapters.
std::vector<std::pair<std::string, at::Tensor>> attach_lora(CausalLM& model, const LoraConfig& config,
                                                            std::uint64_t seed);

// The adapters on `model` (as attach_lora returns them; empty when none).
std::vector<std::pair<std::string, at::Tensor>> lora_parameters(const CausalLM& model);

// Dropout on the adapters' inputs is applied only while training (off when
// attached or loaded); the trainer switches it on and off.
void set_lora_training(CausalLM& model, bool training);

// Writes adapter_config.json and adapter_model.safetensors into `folder` as
// PEFT's save_pretrained does (each file written beside its target and
// renamed into place). `base_model_name_or_path` is recorded as given (null
// when empty). Error: the model has no adapters.
void save_lora(const CausalLM& model, const std::filesystem::path& folder,
               const std::string& base_model_name_or_path = "");

// Attaches the adapters of a PEFT LoRA folder (saved by save_lora or PEFT)
// to `model` and returns them as attach_lora does. Error naming the file and
// the tensor: no adapter files, a config c2s cannot honour (not LORA, biases,
// rsLoRA, DoRA, per-module ranks, regex targets), a tensor for no module of
// this model, shapes that do not fit the base layer or the config's rank, a
// module with A but not B (or the reverse), a targeted module left without
// weights; UsageError: the model already has adapters.
std::vector<std::pair<std::string, at::Tensor>> load_lora(CausalLM& model, const std::filesystem::path& folder);

// Folds the adapters into the base weights (W += scale * B @ A, transposed
// for GPT-2's Conv1D [in, out] weights; computed in float32 or wider and
// rounded once to the weight's dtype) and removes them: the model is plain
// again and save_causal_lm writes a folder anyone can load. The merged
// weights are new tensors (the mapped checkpoint is never written), swapped
// in under every handle of the old ones, parameters() included. UsageError:
// the model has no adapters.
void merge_lora(CausalLM& model);

}  // namespace c2s

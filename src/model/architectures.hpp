// The architectures c2s runs, each built from a WeightSource (see
// model_loader.cpp for how a folder picks one).
#pragma once
#include <memory>

#include "model/causal_lm.hpp"
#include "model/model_weights.hpp"

namespace c2s {

std::unique_ptr<CausalLM> make_gpt_neox(const ModelConfig& config, const ComputeOptions& options, WeightSource& weights);
std::unique_ptr<CausalLM> make_gemma2(const ModelConfig& config, const ComputeOptions& options, WeightSource& weights);
std::unique_ptr<CausalLM> make_gpt2(const ModelConfig& config, const ComputeOptions& options, WeightSource& weights);

}  // namespace c2s

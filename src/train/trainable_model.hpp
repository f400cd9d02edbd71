// Turning a loaded model into one that learns: which of its tensors train
// and in what memory.
#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "model/causal_lm.hpp"

namespace c2s {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Every parameter of `model` becomes trainable: a private float copy (the
// loaded weights may be read-only views of the mapped checkpoint; the model's
// layers keep seeing the same tensors) that requires gradients. Returns them
// by Hugging Face name, tied weights once.
NamedTensors make_fully_trainable(CausalLM& model);

}  // namespace c2s

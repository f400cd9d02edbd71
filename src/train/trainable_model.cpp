#include "train/trainable_model.hpp"

#include <ATen/ATen.h>

namespace c2s {

NamedTensors make_fully_trainable(CausalLM& model) {
  NamedTensors params;
  for (const auto& [name, tensor] : model.parameters()) {
    at::Tensor p = tensor;  // the same tensor the layers hold
    // set_data swaps the storage under every handle of this tensor: the
    // layers now compute with the private copy.
    p.set_data(p.detach().clone(at::MemoryFormat::Contiguous));
    p.requires_grad_(true);
    params.emplace_back(name, p);
  }
  return params;
}

}  // namespace c2s

// Activation checkpointing for training on long sequences: a decoder layer
// runs without keeping its intermediate tensors for the backward pass, which
// runs the layer again under autograd and back-propagates through that
// (torch.utils.checkpoint's reentrant form). Memory: one layer's
// activations plus each layer's input, instead of every layer's; cost: one
// more forward pass of the layers. Kept out of causal_lm.hpp so that its
// autograd headers compile only here.
#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace c2s {

using LayerFunction = std::function<at::Tensor(const at::Tensor&)>;

// fn(x), checkpointed when autograd records (otherwise a plain call). `fn`
// must own what it uses besides its parameters (it runs again after the
// caller returns). `generators` (e.g. LoRA dropout's) are put back to their
// present states before the recomputation, so it draws the same masks; the
// bfloat16 autocast state is carried over too.
at::Tensor checkpointed(const LayerFunction& fn, const at::Tensor& x, const std::vector<at::Generator>& generators);

}  // namespace c2s

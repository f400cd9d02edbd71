// Clipping the gradients by their global L2 norm, as
// torch.nn.utils.clip_grad_norm_(params, max_norm) in torch 1.13.
#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace c2s {

// The L2 norm of all gradients of `params` together (those without a
// gradient do not count; 0 when none has one), measured before clipping.
// With max_norm > 0 every gradient is multiplied by
// min(1, max_norm / (norm + 1e-6)) with torch's own operations, so the
// clipped gradients equal torch's bit for bit (a factor of exactly 1 when
// the norm is below max_norm, as torch does). max_norm <= 0 only measures.
// A non-finite norm (an overflowed or NaN gradient) is returned with the
// gradients left untouched: the caller must skip the update (torch would
// scale them to zeros and NaNs).
double clip_gradient_norm(const std::vector<std::pair<std::string, at::Tensor>>& params, double max_norm);

}  // namespace c2s

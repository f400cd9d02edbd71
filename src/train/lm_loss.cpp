#include "train/lm_loss.hpp"

#include <ATen/ATen.h>

#include "model/causal_lm.hpp"

namespace c2s {

LossSum lm_loss_sum(const CausalLM& model, const at::Tensor& hidden, const at::Tensor& labels) {
  const std::int64_t B = labels.size(0), T = labels.size(1), H = hidden.size(-1);
  // Position t's target is label t+1; the last position predicts nothing.
  auto target = at::full({B, T}, kIgnoredLabel, labels.options());
  target.narrow(1, 0, T - 1).copy_(labels.narrow(1, 1, T - 1));
  target = target.reshape({-1});
  auto rows = hidden.reshape({-1, H});
  const auto counted = (target != kIgnoredLabel).nonzero().squeeze(1);
  LossSum out;
  out.tokens = counted.size(0);
  if (out.tokens < target.size(0)) {
    rows = rows.index_select(0, counted);
    target = target.index_select(0, counted);
  }
  out.sum = at::cross_entropy_loss(model.logits(rows).to(at::kFloat), target, {}, at::Reduction::Sum, kIgnoredLabel);
  return out;
}

}  // namespace c2s

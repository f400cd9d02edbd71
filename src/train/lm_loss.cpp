#include "train/lm_loss.hpp"

#include <ATen/ATen.h>

namespace c2s {

LossSum lm_loss_sum(const at::Tensor& logits, const at::Tensor& labels) {
  const std::int64_t V = logits.size(-1);
  auto predicted = logits.narrow(1, 0, logits.size(1) - 1).reshape({-1, V}).to(at::kFloat);
  auto target = labels.narrow(1, 1, labels.size(1) - 1).reshape({-1});
  LossSum out;
  out.tokens = (target != kIgnoredLabel).sum().item<std::int64_t>();
  out.sum = at::cross_entropy_loss(predicted, target, {}, at::Reduction::Sum, kIgnoredLabel);
  return out;
}

}  // namespace c2s
